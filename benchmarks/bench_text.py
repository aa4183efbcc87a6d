# Multilingual text is the data here: typographic and full-width punctuation is intended.
# ruff: noqa: RUF001
"""Speed of the text features: ``text_features`` on 1M prompts, ``template_clusters`` on
200k distinct heads.

    .venv/bin/python benchmarks/bench_text.py [--rows 1000000] [--heads 200000] [--stages]

Prompts come from the real corpora in /work/shared/data/corpora (OASST, self-instruct,
T0 templated tasks), joined until 300-600 characters; one in five is wrapped in an
extraction-style wrapper in one of eight languages (some with intent phrases), so the
non-ASCII, intent and language paths are exercised. Runs single-threaded in-process,
batch by batch (65,536 rows, as the scan does). Prints wall and CPU seconds (CPU time is
the fairer number on a shared machine); asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.features import domains, intent, templates, text

CORPORA = Path("/work/shared/data/corpora")
BATCH = 65_536

WRAPPERS = [
    "Answer the following question. Think step by step and show your work.\n\n{task}",
    "{task}\n\nRate the response above on a scale of 1 to 10 and explain your score.",
    "Generate 5 new diverse instructions similar to this one:\n{task}",
    "Responde en español y piensa paso a paso: {task}",
    "Réponds en français, en expliquant chaque étape : {task}",
    "Beantworte die folgende Frage Schritt für Schritt: {task}",
    "Responda em português: {task}",
    "Ответь на вопрос подробно: {task}",
    "次の質問に日本語で答えてください。{task}",
    "请用中文回答下面的问题，一步一步地思考：{task}",
    "You are a helpful assistant. Please help with this task: {task}",
]


def load_pool() -> list[str]:
    pool: list[str] = []
    with gzip.open(CORPORA / "t0_templated_tasks.jsonl.gz", "rt", encoding="utf-8") as fh:
        pool += [json.loads(line)["prompt"] for line in fh]
    lottery = (CORPORA / "oasst_prompt_lottery_en_250.jsonl").read_text("utf-8").splitlines()
    pool += [json.loads(line) for line in lottery] * 10
    for name in ("self_instruct_seed_tasks.jsonl", "self_instruct_user_oriented.jsonl"):
        for line in (CORPORA / name).read_text("utf-8").splitlines():
            task = json.loads(line)
            pool += [task["instruction"] + "\n" + task["instances"][0]["input"]] * 5
    return pool


def make_prompts(n: int, seed: int) -> pa.Array:
    rng = random.Random(seed)
    pool = load_pool()
    out = []
    for _ in range(n):
        prompt = rng.choice(pool)
        while len(prompt) < 300:
            prompt += "\n\n" + rng.choice(pool)
        prompt = prompt[: rng.randint(300, 600)]
        if rng.random() < 0.2:
            prompt = rng.choice(WRAPPERS).format(task=prompt)
        out.append(prompt)
    return pa.array(out, pa.string())


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clock()
    return wall - start[0], cpu - start[1]


def stage_breakdown(prompts: pa.Array) -> None:
    """CPU seconds per step (same steps as text_features, timed one by one)."""
    acc: collections.Counter[str] = collections.Counter()

    def timed(name: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        t0 = time.process_time()
        result = fn(*args, **kw)
        acc[name] += time.process_time() - t0
        return result

    for start in range(0, len(prompts), BATCH):
        p = prompts.slice(start, BATCH)
        low, norm, flags = timed("normalise", text.normalise_with_flags, p)
        cjk = (flags & templates.HAS_CJK) > 0
        sk = timed("skeleton", templates.skeletons, low, norm, flags)
        toks = timed("head/tail tokens", templates.word_tokens, sk, cjk)
        timed("head/tail join", templates.heads_and_tails, sk, toks)
        flat = timed("token lookup prep", templates.flat_tokens, *toks)
        votes = timed("lang", text.stopword_votes, flat)
        codes = timed("lang", text.lang_codes, norm, flat, votes)
        scope = timed("intents", text._intent_scope, norm, codes, votes, cjk)
        timed("intents", intent.intent_flags, norm, scope=scope)
        timed("hashes", text.content_and_skeleton_hashes, norm, sk)
        timed("n_words", text.word_counts, norm, cjk)
        timed("domain", domains.guess_domain, flat, cjk=cjk)
    scale = 1e6 / len(prompts)
    for name, secs in acc.most_common():
        print(f"  {name:18s} {secs:6.2f} s CPU  ({secs * scale:5.2f} s per 1M)")


def bench_text(prompts: pa.Array) -> pa.Table:
    batch = pa.RecordBatch.from_arrays(
        [pa.array([f"r{i}" for i in range(len(prompts))]), prompts],
        names=["request_id", "prompt"],
    )
    text.text_features(batch.slice(0, 1000))  # load and validate the config files
    start = clock()
    out = [text.text_features(batch.slice(i, BATCH)) for i in range(0, len(prompts), BATCH)]
    wall, cpu = since(start)
    n = len(prompts)
    print(
        f"text_features: {n:,} prompts (mean {np.mean(pc.utf8_length(prompts)):.0f} chars) "
        f"in {wall:.1f} s wall, {cpu:.1f} s CPU = {n / cpu:,.0f} prompts/s CPU"
    )
    table = pa.Table.from_batches(out)
    for c in intent.CATEGORIES:
        share = pc.mean(table[f"intent_{c}"].cast(pa.int8())).as_py()
        print(f"  intent_{c}: {share:.1%} of prompts")
    langs = pc.value_counts(table["lang"]).to_pylist()
    top = sorted(langs, key=lambda d: -d["counts"])[:8]
    print("  lang:", ", ".join(f"{d['values']} {d['counts'] / n:.1%}" for d in top))
    print(f"  distinct domains: {len(pc.unique(table['domain']))}")
    return table


def bench_clusters(table: pa.Table, n_heads: int) -> None:
    heads = pc.unique(
        pa.concat_arrays([table["head"].combine_chunks(), table["tail"].combine_chunks()])
    )
    heads = heads.slice(0, n_heads)
    start = clock()
    ids = templates.template_clusters(heads)
    wall, cpu = since(start)
    sizes = np.bincount(np.unique(ids, return_inverse=True)[1])
    print(
        f"template_clusters: {len(heads):,} distinct heads/tails in {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU; {len(sizes):,} clusters, {int((sizes > 1).sum()):,} with 2+ "
        f"members, largest {int(sizes.max()):,}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--heads", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stages", action="store_true", help="also time each step")
    args = ap.parse_args()
    start = clock()
    prompts = make_prompts(args.rows, args.seed)
    print(f"built {len(prompts):,} prompts in {since(start)[0]:.1f} s")
    table = bench_text(prompts)
    bench_clusters(table, args.heads)
    if args.stages:
        print("steps (CPU):")
        stage_breakdown(prompts)


if __name__ == "__main__":
    main()

"""Calibration of `provenance test` with many unrelated keys on one suspect's texts.

    .venv/bin/python benchmarks/provenance_calibration.py SUSPECT.jsonl --seed 3 --keys 3000

SUSPECT is a student's generations kept by `provenance_quality.py --keep DIR` (e.g.
``DIR/suspect-f0.0-p0.0-r0.jsonl``, the student trained on unmarked text). Each key is a
fresh random key that never marked anything; its ledger is the positions it would have
marked in the texts the benchmark served (the first 5% of the seed's shuffled teacher
words). Prints, every 500 keys, how many p-values fell below 0.01 blind and with the
ledger. For an exact test the expected share is at most 1%. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from distillwatch.provenance.detect import observe, test_key
from distillwatch.provenance.keys import ProvenanceKey
from distillwatch.provenance.lexicon import load_lexicon
from distillwatch.provenance.text import occurrences
from distillwatch.sim.teacher import teacher_texts

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "corpora"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("suspect", type=Path)
    ap.add_argument("--seed", type=int, required=True, help="the benchmark seed of SUSPECT")
    ap.add_argument("--keys", type=int, default=3000)
    ap.add_argument("--key-seed", type=int, default=99)
    ap.add_argument("--served", type=float, default=0.05, help="share of words served marked")
    ap.add_argument("--context-words", type=int, default=2)
    ap.add_argument("--corpora", type=Path, default=CORPORA)
    args = ap.parse_args()

    lex = load_lexicon()
    cw = args.context_words
    teacher = teacher_texts(args.corpora)
    random.Random(args.seed).shuffle(teacher)
    texts = [t.text for t in teacher]
    total, acc, n = sum(len(t.split()) for t in texts), 0, 0
    while n < len(texts) and acc < args.served * total:
        acc += len(texts[n].split())
        n += 1
    served = {
        (o.group, o.context) for t in texts[:n] for o in occurrences(t, lex, cw) if o.eligible
    }
    suspect = [json.loads(line)["text"] for line in args.suspect.read_text("utf-8").splitlines()]
    observed = observe(suspect, lex, cw)
    rng = random.Random(args.key_seed)
    blind = ledger = 0
    started = time.perf_counter()
    for i in range(args.keys):
        key = ProvenanceKey(f"null-{i}", rng.randbytes(32), context_words=cw)
        digests = {key.position(g, c, len(lex.groups[g].variants))[2] for g, c in served}
        blind += test_key(observed, key, lex).p_value < 0.01
        ledger += test_key(observed, key, lex, ledger=digests).p_value < 0.01
        if (i + 1) % 500 == 0 or i + 1 == args.keys:
            print(
                f"{i + 1} keys: p < 0.01 blind {blind} ({blind / (i + 1):.2%}), "
                f"with ledger {ledger} ({ledger / (i + 1):.2%}); "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()

"""Does the provenance mark survive distillation? Students trained on this machine's CPU.

    .venv/bin/python benchmarks/provenance_quality.py [--seed 2] [--fractions 0 0.01 0.05 0.1 0.5]

For each fraction f of the student's training text that carries the mark, as an attacker
would get it from a provider that marks what suspect accounts receive:

1. the teacher texts of the shipped corpora (assistant answers, task completions) are
   shuffled with the seed; the first f of their words are marked with a fresh key by the
   real command (`distillwatch provenance mark --ledger`), the rest stay unmarked;
2. a word n-gram student (distillwatch.sim.student) is trained on all of it and generates
   texts from the corpora's prompts;
3. the real command `distillwatch provenance test --json` tests the generations, once
   blind and once with the ledger of what was served marked.

Then calibration (unrelated keys on the student trained at the target fraction, and on
the student trained on no marked text), robustness (the training text paraphrased by
random synonym replacement of that share of the words that have a synonym, the strongest
form of this attack on a lexicon mark, before training) and the share of words the mark changes.
Seed 1 is where the defaults were chosen (two context words, rarity weights, a 4-gram
student - a 3-gram one memorises less and tests weaker - and 40,000 generated texts);
report other seeds.
Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillwatch.provenance.detect import observe, test_key
from distillwatch.provenance.keys import ProvenanceKey, load_key
from distillwatch.provenance.ledger import append_ledger
from distillwatch.provenance.lexicon import load_lexicon
from distillwatch.provenance.mark import mark_text
from distillwatch.provenance.text import occurrences
from distillwatch.sim.paraphrase import paraphrase
from distillwatch.sim.student import NGramStudent
from distillwatch.sim.teacher import teacher_texts

BIN = Path(sys.executable).parent / "distillwatch"
CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "corpora"


def cli(*args: str) -> str:
    done = subprocess.run([str(BIN), *args], check=True, capture_output=True, text=True)
    return done.stdout


def write_jsonl(path: Path, texts: list[str]) -> None:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), "utf-8")


def read_jsonl(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]


def split_marked(texts: list[str], fraction: float) -> int:
    """How many of the (shuffled) texts make up ``fraction`` of all words."""
    total = sum(len(t.split()) for t in texts)
    acc = 0
    for i, t in enumerate(texts):
        if acc >= fraction * total:
            return i
        acc += len(t.split())
    return len(texts)


class Run:
    """The shuffled teacher texts of one seed and the work directory."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        teacher = teacher_texts(args.corpora)
        random.Random(args.seed).shuffle(teacher)
        self.texts = [t.text for t in teacher]
        self.prompts = [t.prompt for t in teacher]
        self.lexicon = load_lexicon()
        self.groups = [[" ".join(v) for v in g.variants] for g in self.lexicon.groups]

    def new_key(self, tag: str) -> Path:
        path = self.work / f"key-{tag}.json"
        path.unlink(missing_ok=True)
        cli(
            "provenance",
            "keygen",
            "--out",
            str(path),
            "--context-words",
            str(self.args.context_words),
        )
        return path

    def training(
        self, key_file: Path, fraction: float, tag: str, paraphrase_rate: float = 0.0
    ) -> tuple[list[str], Path]:
        """The student's training texts (the first ``fraction`` of words marked by the real
        command, then paraphrased at ``paraphrase_rate``) and the ledger."""
        n = split_marked(self.texts, fraction)
        served, marked = self.work / f"served-{tag}.jsonl", self.work / f"marked-{tag}.jsonl"
        ledger = self.work / f"ledger-{tag}.ledger"
        ledger.unlink(missing_ok=True)
        write_jsonl(served, self.texts[:n])
        cli(
            "provenance",
            "mark",
            "--key-file",
            str(key_file),
            str(served),
            str(marked),
            "--ledger",
            str(ledger),
        )
        train = read_jsonl(marked) + self.texts[n:]
        if paraphrase_rate:
            train = [
                paraphrase(t, self.groups, paraphrase_rate, seed=self.args.seed * 7919 + i)[0]
                for i, t in enumerate(train)
            ]
        if not ledger.exists():  # nothing was marked (0 %): an empty ledger of this key
            append_ledger(ledger, load_key(key_file).key_id, [])
        return train, ledger

    def student_texts(self, train: list[str], tag: str) -> Path:
        t0 = time.perf_counter()
        student = NGramStudent(order=self.args.order).fit(train)
        gen = student.generate_many(
            self.args.gen_texts,
            self.args.gen_words,
            seed=self.args.seed + 1000,
            prompts=self.prompts[: self.args.gen_texts],
        )
        path = self.work / f"suspect-{tag}.jsonl"
        write_jsonl(path, gen)
        if self.args.verbose:
            print(f"  student {tag}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        return path

    def test(self, suspect: Path, key_file: Path, ledger: Path | None) -> dict[str, Any]:
        extra = ["--ledger", str(ledger)] if ledger else []
        out = cli("provenance", "test", str(suspect), "--key-file", str(key_file), "--json", *extra)
        rows: list[dict[str, Any]] = json.loads(out)
        return rows[0]

    def trial(self, fraction: float, rep: int, paraphrase_rate: float = 0.0) -> Trial:
        tag = f"f{fraction}-p{paraphrase_rate}-r{rep}"
        key_file = self.new_key(tag)
        train, ledger = self.training(key_file, fraction, tag, paraphrase_rate)
        suspect = self.student_texts(train, tag)
        return Trial(
            fraction,
            suspect,
            key_file,
            self.test(suspect, key_file, None),
            self.test(suspect, key_file, ledger),
        )


@dataclass
class Trial:
    fraction: float
    suspect: Path
    key_file: Path
    blind: dict[str, Any]
    ledger: dict[str, Any]


def calibration(run: Run, trial: Trial, n_keys: int) -> tuple[float, float, float]:
    """Over ``n_keys`` unrelated keys on a trial's student: the share of p < 0.01 blind, and
    with each key's own ledger of the same served texts (as if they had been marked with
    it), and the smallest p-value seen."""
    lex = run.lexicon
    cw = run.args.context_words
    observed = observe(read_jsonl(trial.suspect), lex, cw)
    served = run.texts[: split_marked(run.texts, trial.fraction or run.args.target)]
    where = {
        (o.group, o.context) for text in served for o in occurrences(text, lex, cw) if o.eligible
    }
    rng = random.Random(run.args.seed * 31 + 7)
    low_blind = low_ledger = 0
    smallest = 1.0
    for i in range(n_keys):
        key = ProvenanceKey(f"null-{i}", rng.randbytes(32), context_words=cw)
        ledger = {
            key.position(g, c, len(lex.groups[g].variants))[2] for g, c in where
        }  # strength 1: every served position
        p_blind = test_key(observed, key, lex).p_value
        p_ledger = test_key(observed, key, lex, ledger=ledger).p_value
        low_blind += p_blind < 0.01
        low_ledger += p_ledger < 0.01
        smallest = min(smallest, p_blind, p_ledger)
    return low_blind / n_keys, low_ledger / n_keys, smallest


def ps(rows: list[dict[str, Any]]) -> str:
    return " ".join(f"{r['p_value']:.1e}" for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--corpora", type=Path, default=CORPORA)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.0, 0.01, 0.05, 0.1, 0.5])
    ap.add_argument("--repeats", type=int, default=3, help="fresh keys (students) per row")
    ap.add_argument("--paraphrase", type=float, nargs="*", default=[0.1, 0.3])
    ap.add_argument("--target", type=float, default=0.05, help="for calibration, robustness")
    ap.add_argument("--calibration-keys", type=int, default=200)
    ap.add_argument("--context-words", type=int, default=2)
    ap.add_argument("--order", type=int, default=4)
    ap.add_argument("--gen-texts", type=int, default=40000)
    ap.add_argument("--gen-words", type=int, default=80)
    ap.add_argument("--keep", type=Path, help="keep the work files here")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="dw-prov-"))
    work.mkdir(parents=True, exist_ok=True)
    run = Run(args, work)

    probe = load_key(run.new_key("probe"))
    marked_all = [mark_text(t, probe, run.lexicon) for t in run.texts]
    words = sum(r.words for r in marked_all)
    print(
        f"teacher texts: {len(run.texts)}, {words} words; seed {args.seed}; "
        f"student: word {args.order}-gram; context words {args.context_words}; "
        f"{args.repeats} fresh keys per row"
    )
    print(
        f"mark at default strength on all teacher text: "
        f"{sum(r.words_changed for r in marked_all) / words:.2%} of words changed "
        f"({sum(r.changed for r in marked_all)} of {sum(r.positions for r in marked_all)} "
        "lexicon positions)"
    )
    print(
        f"each student generates {args.gen_texts} texts x {args.gen_words} words "
        "from corpus prompts"
    )
    print()
    print(
        f"{'marked':>7}  {'blind: positions':>16} {'match':>6} {'p (each key)':<32}"
        f"  {'ledger: positions':>17} {'match':>6} p (each key)"
    )
    trials: dict[float, list[Trial]] = {}
    for f in args.fractions:
        trials[f] = [run.trial(f, r) for r in range(args.repeats)]
        b = [t.blind for t in trials[f]]
        led = [t.ledger for t in trials[f]]
        print(
            f"{f:>7.0%}  {statistics.median(x['positions'] for x in b):>16.0f} "
            f"{statistics.median(x['match_rate'] for x in b):>6.3f} "
            f"{ps(b):<32}  "
            f"{statistics.median(x['positions'] for x in led):>17.0f} "
            f"{statistics.median(x['match_rate'] or 0 for x in led):>6.3f} "
            f"{ps(led)}",
            flush=True,
        )

    print()
    for f in sorted({0.0, args.target}) if args.calibration_keys else ():
        trial = (trials.get(f) or [run.trial(f, 0)])[0]
        blind, led, smallest = calibration(run, trial, args.calibration_keys)
        print(
            f"calibration, student trained on {f:.0%} marked text, {args.calibration_keys} "
            f"unrelated keys: share of p < 0.01 blind {blind:.1%}, with ledger {led:.1%} "
            f"(smallest p {smallest:.1e})",
            flush=True,
        )

    print()
    for rate in args.paraphrase:
        rows = [run.trial(args.target, r, rate) for r in range(args.repeats)]
        print(
            f"training text paraphrased at {rate:.0%} of replaceable words, "
            f"{args.target:.0%} marked: p blind "
            f"{ps([t.blind for t in rows])}; p with ledger "
            f"{ps([t.ledger for t in rows])}",
            flush=True,
        )
    print(f"\nwork files: {work}")


if __name__ == "__main__":
    main()

"""Detection quality on held-out simulator seeds, with the default and changed mixes.

    .venv/bin/python benchmarks/detection_quality.py [--seeds 11 12 13] [--keep DIR]

Runs `simulate -> scan -> evaluate` as a user would (real commands) and prints one line
per run: recall and FPR of `flagged`, AUROC, campaign ARI. Seeds 1 and 2 are the training
seeds of tools/fit_model.py; never report them. Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent / "distillwatch"
MIXES = {
    "default": "",
    "no-hydra,2x-batch": "hydra=0,batch_classifier=2",
    "hard-benign-heavy": "aggregator=3,eval_researcher=2,campus_student=2,app_backend=2",
    "evasive-heavy": "raw_tasks=3,reseller_mix=3,hydra=1.5,cot_harvest=0.5",
}


def run(seed: int, mix_name: str, base: Path) -> dict[str, float]:
    out = base / f"s{seed}-{mix_name}"
    sim = [str(BIN), "simulate", "--out", str(out / "traffic"), "--seed", str(seed)]
    if MIXES[mix_name]:
        sim += ["--mix", MIXES[mix_name]]
    subprocess.run(sim, check=True, capture_output=True)
    subprocess.run(
        [
            str(BIN),
            "scan",
            str(out / "traffic" / "events.jsonl.gz"),
            "--out",
            str(out / "scan"),
            "--quiet",
        ],
        check=True,
    )
    metrics = out / "metrics.json"
    subprocess.run(
        [
            str(BIN),
            "evaluate",
            str(out / "scan"),
            str(out / "traffic" / "truth.csv"),
            "--json",
            str(metrics),
        ],
        check=True,
        capture_output=True,
    )
    data: dict[str, float] = json.loads(metrics.read_text())
    return data


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13])
    ap.add_argument("--mixes", nargs="+", default=list(MIXES), choices=list(MIXES))
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="dw-quality-"))
    print(
        f"{'seed':>4} {'mix':<20} {'recall':>7} {'fpr':>8} {'auroc':>7} {'ari':>6} "
        f"{'attack':>6} {'benign':>6}"
    )
    for seed in args.seeds:
        for mix in args.mixes:
            m = run(seed, mix, base)
            print(
                f"{seed:>4} {mix:<20} {m['recall']:>7.4f} {m['fpr']:>8.5f} "
                f"{m['auroc']:>7.4f} {m['ari'] if m['ari'] is not None else float('nan'):>6.3f} "
                f"{m['n_attack']:>6} {m['n_benign']:>6}",
                flush=True,
            )


if __name__ == "__main__":
    main()

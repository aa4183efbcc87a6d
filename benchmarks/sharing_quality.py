"""Sharing demo outcome and its cost in false positives, per demo seed (issue 3).

    .venv/bin/python benchmarks/sharing_quality.py --seeds 1 --keep /tmp/dw/sq
    .venv/bin/python benchmarks/sharing_quality.py --seeds 301 --config my-peer.toml

For each seed (provider 1's; providers 2 and 3 get seed + 1 and seed + 2) this runs
``demo sharing`` (requests the actor was served before being flagged, alone and with
sharing) and then scans the whole week of providers 2 and 3 twice, without and with the
intel they pulled from the hub, and evaluates both against the simulator's truth: sharing
must not add false positives. Training demo seeds are 1-3 (peer settings are chosen
there); report held-out seeds that no setting was chosen on.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "distillwatch"


def scan_and_evaluate(provider: Path, intel: bool, config: Path | None) -> dict[str, float]:
    """Scan the provider's week (with its pulled intel or not); evaluate's metrics."""
    out = provider / ("week-with-intel" if intel else "week-alone")
    traffic = provider / "traffic"
    cmd = [str(BIN), "scan", str(traffic / "events.jsonl.gz"), "--out", str(out), "--quiet"]
    if intel:
        cmd += ["--intel", str(provider / "peers")]
        cmd += ["--key-file", str(provider.parent / "group.key")]
    if config is not None:
        cmd += ["--config", str(config)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    metrics = out / "metrics.json"
    evaluate = [str(BIN), "evaluate", str(out), str(traffic / "truth.csv")]
    subprocess.run([*evaluate, "--json", str(metrics)], check=True, stdout=subprocess.DEVNULL)
    return json.loads(metrics.read_text())  # type: ignore[no-any-return]


def main() -> None:
    from distillwatch.demo.sharing import run_sharing_demo

    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--config", type=Path, default=None, help="scan config ([peer] ...)")
    ap.add_argument("--keep", type=Path, default=None, help="work here and keep it")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="dw-sharing-"))
    print(
        f"{'seed':>5} {'provider':<11} {'alone':>6} {'shared':>6} {'fewer':>6}"
        f" {'fp alone':>8} {'fp intel':>8} {'recall alone':>12} {'recall intel':>12} {'secs':>5}"
    )
    for seed in args.seeds:
        t = time.perf_counter()
        out = base / f"s{seed}"
        report = run_sharing_demo(out, seed=seed, config=args.config, say=lambda m: None)
        for name in ("provider-2", "provider-3"):
            alone = next(r for r in report.runs if r.name == name and r.mode == "alone")
            shared = next(r for r in report.runs if r.name == name and r.mode == "shared")
            ratio = report.ratio(name)
            week = [scan_and_evaluate(out / name, intel, args.config) for intel in (False, True)]
            print(
                f"{seed:>5} {name:<11} {alone.served_before_flag:>6} {shared.served_before_flag:>6}"
                f" {(f'{ratio:.1f}x' if ratio is not None else 'inf'):>6}"
                f" {week[0]['false_positives']:>8} {week[1]['false_positives']:>8}"
                f" {week[0]['recall']:>12.4f} {week[1]['recall']:>12.4f}"
                f" {time.perf_counter() - t:>5.0f}",
                flush=True,
            )
        if report.prompt_leaks:
            print(f"seed {seed}: {report.prompt_leaks} provider prompts found in the hub database")
            sys.exit(1)


if __name__ == "__main__":
    main()

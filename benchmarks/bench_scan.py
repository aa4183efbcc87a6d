"""Speed and memory of `distillwatch scan` on about 1M events.

    .venv/bin/python benchmarks/bench_scan.py [--events 1000000] [--keep DIR]

Simulates traffic (scale chosen to reach the requested event count), then runs the scan
as a separate process and prints events/s, wall time and the peak resident memory of
that process (from wait4 rusage). Prints numbers only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "distillwatch"


def count_lines(path: Path) -> int:
    with gzip.open(path, "rb") as fh:
        return sum(1 for _ in fh)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, default=None, help="reuse/keep traffic in this dir")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="dw-bench-"))
    traffic = base / "traffic"
    events = traffic / "events.jsonl.gz"
    if not events.exists():
        # scale 1 for 7 days is about 300k events; scale linearly to the target.
        probe = base / "probe"
        subprocess.run(
            [
                str(BIN),
                "simulate",
                "--out",
                str(probe),
                "--seed",
                "11",
                "--scale",
                "0.25",
                "--quiet",
            ],
            check=True,
        )
        per_scale = count_lines(probe / "events.jsonl.gz") / 0.25
        scale = args.events / per_scale
        t = time.perf_counter()
        subprocess.run(
            [
                str(BIN),
                "simulate",
                "--out",
                str(traffic),
                "--seed",
                "11",
                "--scale",
                f"{scale:.3f}",
                "--quiet",
            ],
            check=True,
        )
        print(f"simulated at scale {scale:.2f} in {time.perf_counter() - t:.1f}s")
    n = count_lines(events)
    out = base / "scan"
    t = time.perf_counter()
    proc = subprocess.Popen([str(BIN), "scan", str(events), "--out", str(out), "--quiet"])
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    rc = os.waitstatus_to_exitcode(status)
    peak_gb = usage.ru_maxrss * 1024 / 1e9  # ru_maxrss is in KiB on Linux
    print(f"events            {n:,}")
    print(f"exit status       {rc}")
    print(f"wall time         {wall:.1f} s")
    print(f"events/s          {n / wall:,.0f}")
    print(f"peak memory (RSS) {peak_gb:.2f} GB")
    print(f"cpu user+sys      {usage.ru_utime + usage.ru_stime:.1f} s on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

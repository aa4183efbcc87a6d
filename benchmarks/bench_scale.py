"""Speed and memory of `distillwatch scan` at 1M and 10M events, DuckDB and Spark, one run.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 1000000 10000000]
        [--engines duckdb spark] [--spark-master local[2]] [--spark-conf K=V ...] [--keep DIR]

For each size it simulates a week of traffic scaled to that many events (or reuses
``DIR/<size>/events.jsonl.gz``), then runs the scan once per engine as a separate process
and prints events/s, wall time and peak memory: the largest sum of the resident memory of
the scan process and all its descendants (text-step workers, Spark's JVM), sampled every
0.2 s, next to the scan process's own peak (``ru_maxrss``), and the peak disk use of the
scan's output directory (spool, database file, spill; sampled every 2 s). Issue 7's target:
10M events on DuckDB within 6 GB of memory. Prints numbers only; asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent / "distillwatch"
#: a simulated week at scale 1 holds about this many events (seed 11)
EVENTS_PER_SCALE = 370_000


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(root: int) -> int:
    """Resident memory of *root* and every descendant, in KiB."""
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_kib(pid)
        todo.extend(tree.get(pid, []))
    return total


def dir_bytes(root: Path) -> int:
    """Bytes of the files under *root* (files vanishing meanwhile are skipped)."""
    total = 0
    for parent, _, files in os.walk(root):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(parent, name))
            except OSError:
                continue
    return total


def count_lines(path: Path) -> int:
    with gzip.open(path, "rb") as fh:
        return sum(1 for _ in fh)


def traffic(base: Path, size: int) -> Path:
    events = base / str(size) / "events.jsonl.gz"
    if not events.exists():
        scale = size / EVENTS_PER_SCALE
        t = time.perf_counter()
        sim = ["simulate", "--out", str(events.parent), "--seed", "11", "--quiet"]
        subprocess.run([str(BIN), *sim, "--scale", f"{scale:.3f}"], check=True)
        print(f"simulated {size:,} events (scale {scale:.2f}) in {time.perf_counter() - t:.0f} s")
    return events


def run_scan(
    events: Path, out: Path, engine: str, master: str, spark_conf: list[str]
) -> dict[str, Any]:
    cmd = [str(BIN), "scan", str(events), "--out", str(out), "--quiet", "--engine", engine]
    if engine == "spark":
        cmd += ["--spark-master", master]
        for kv in spark_conf:
            cmd += ["--spark-conf", kv]
    peak, disk = [0], [0]
    t = time.perf_counter()
    # the scan's own output (Spark's JVM logs much) goes to a file beside its directory
    log = out.parent / f"{out.name}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    done = threading.Event()

    def sample() -> None:
        tick = 0
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kib(proc.pid))
            if tick % 10 == 0:
                disk[0] = max(disk[0], dir_bytes(out))
            tick += 1
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    return {
        "rc": os.waitstatus_to_exitcode(status),
        "wall": time.perf_counter() - t,
        "tree_gb": peak[0] * 1024 / 1e9,
        "own_gb": usage.ru_maxrss * 1024 / 1e9,
        "disk_gb": disk[0] / 1e9,
        "log": str(log),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    ap.add_argument("--spark-master", default="local[2]")
    ap.add_argument("--spark-conf", nargs="*", default=[], help="KEY=VALUE for Spark scans")
    ap.add_argument("--keep", type=Path, default=None, help="reuse/keep traffic in this dir")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="dw-scale-"))
    rows = []
    for size in args.sizes:
        events = traffic(base, size)
        n = count_lines(events)
        for engine in args.engines:
            out = base / str(size) / f"scan-{engine}"
            r = run_scan(events, out, engine, args.spark_master, args.spark_conf)
            rows.append((n, engine, r))
            print(
                f"{n:>12,} events  {engine:<7} exit {r['rc']:.0f}  {r['wall']:8.1f} s"
                f"  {n / r['wall']:>9,.0f} events/s  peak {r['tree_gb']:5.2f} GB"
                f" (scan process {r['own_gb']:.2f} GB)  disk {r['disk_gb']:5.2f} GB"
                + ("" if r["rc"] == 0 else f"  (see {r['log']})"),
                flush=True,
            )
    print(f"machine: {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

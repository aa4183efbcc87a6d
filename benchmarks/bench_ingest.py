"""Ingest throughput and memory: synthetic canonical events -> load_events.

Generates N canonical events (~400-character prompts, 29 canonical fields plus one unknown field),
writes them as JSONL.gz (the main path), Parquet and CSV, then reads each file with
``load_events`` in a fresh child process pinned to one CPU core and prints events/s and
the child's peak RSS. Generated files are cached under ``bench-out/ingest``.

    .venv/bin/python benchmarks/bench_ingest.py                # 1M jsonl.gz, 200k parquet/csv
    .venv/bin/python benchmarks/bench_ingest.py --jsonl 100000 --table 20000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

OUT = Path("bench-out/ingest")
_MODELS = ["frontier-large", "frontier-mini", "reasoner-2"]
_CHANNELS = ["self_serve", "education", "startup_program", "enterprise", "reseller"]
_FINISH = ["stop", "length", "tool_calls"]


def make_events(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """*n* canonical events with realistic field variety."""
    rng = random.Random(seed)
    vocab = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(3000)
    ]
    start = datetime(2026, 1, 5, tzinfo=UTC)
    events = []
    for i in range(n):
        words = []
        length = 0
        while length < 400:
            word = rng.choice(vocab)
            words.append(word)
            length += len(word) + 1
        account = rng.randrange(20_000)
        ts = start + timedelta(microseconds=rng.randrange(7 * 86_400_000_000))
        events.append(
            {
                "request_id": f"req_{i:09d}",
                "ts": ts.isoformat().replace("+00:00", "Z"),
                "account_id": f"acct_{account:06d}",
                "org_id": f"org_{account // 7:05d}",
                "api_key_id": f"key_{account:06d}_{rng.randrange(3)}",
                "ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
                "asn": rng.randrange(1, 64_000),
                "country": rng.choice(["US", "DE", "SG", "BR", "IN"]),
                "user_agent": f"client-sdk/{rng.randrange(1, 5)}.{rng.randrange(10)}",
                "payment_fingerprint": f"pm_{account % 9000:05d}",
                "signup_channel": rng.choice(_CHANNELS),
                "account_created_at": "2025-11-01T00:00:00Z",
                "conversation_id": f"conv_{rng.randrange(10**8)}",
                "model": rng.choice(_MODELS),
                "system_prompt": "You are a helpful assistant." if rng.random() < 0.5 else None,
                "prompt": " ".join(words),
                "n_messages": rng.randint(1, 6),
                "max_tokens": rng.choice([256, 1024, 4096]),
                "temperature": rng.choice([0.0, 0.7, 1.0]),
                "top_p": 1.0,
                "n": 1,
                "logprobs": rng.random() < 0.1,
                "stream": rng.random() < 0.5,
                "tools": rng.randint(0, 3),
                "prompt_tokens": rng.randint(50, 400),
                "completion_tokens": rng.randint(10, 2000),
                "reasoning_tokens": rng.randint(0, 500),
                "finish_reason": rng.choice(_FINISH),
                "status": 200,
                "region": "us-east",
            }
        )
    return events


def write_jsonl_gz(path: Path, n: int) -> None:
    with gzip.open(path, "wb", compresslevel=6) as out:
        for lo in range(0, n, 100_000):
            batch = make_events(min(100_000, n - lo), seed=lo)
            for i, event in enumerate(batch):
                event["request_id"] = f"req_{lo + i:09d}"
            out.write(b"\n".join(orjson.dumps(e) for e in batch) + b"\n")


def write_tables(parquet: Path, csv: Path, n: int) -> None:
    table = pa.Table.from_pylist(make_events(n, seed=99))
    pq.write_table(table, parquet)
    pacsv.write_csv(table, csv)


def peak_rss_mib() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss survives exec on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: Path) -> None:
    """Runs in the measured process: one core, load, print JSON stats."""
    from distillwatch.ingest import load_events

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    begin = time.perf_counter()
    cpu_begin = time.process_time()
    table, summary = load_events([path], OUT / f"{path.name}.quarantine.jsonl", progress=False)
    seconds = time.perf_counter() - begin
    cpu_seconds = time.process_time() - cpu_begin
    peak_mib = peak_rss_mib()
    print(
        json.dumps(
            {
                "file": path.name,
                "rows": table.num_rows,
                "quarantined": summary.n_quarantined,
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu_seconds, 2),
                "events_per_s": round(table.num_rows / seconds),
                "peak_rss_mib": round(peak_mib),
                "table_mib": round(table.nbytes / 2**20),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jsonl", type=int, default=1_000_000, help="events in the JSONL.gz")
    parser.add_argument("--table", type=int, default=200_000, help="rows in Parquet and CSV")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    jsonl = OUT / f"events-{args.jsonl}.jsonl.gz"
    parquet = OUT / f"events-{args.table}.parquet"
    csv = OUT / f"events-{args.table}.csv"
    if not jsonl.exists():
        print(f"generating {jsonl} ...", file=sys.stderr)
        write_jsonl_gz(jsonl, args.jsonl)
    if not parquet.exists() or not csv.exists():
        print(f"generating {parquet} and {csv} ...", file=sys.stderr)
        write_tables(parquet, csv, args.table)
    for path in (jsonl, parquet, csv):
        mib = path.stat().st_size / 2**20
        result = subprocess.run(
            [sys.executable, __file__, "--child", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        stats = json.loads(result.stdout)
        print(
            f"{stats['file']:<32} {mib:8.1f} MiB  {stats['rows']:>9} rows  "
            f"{stats['seconds']:6.2f} s (CPU {stats['cpu_seconds']:.2f} s)  "
            f"{stats['events_per_s']:>8} events/s  "
            f"peak RSS {stats['peak_rss_mib']} MiB (table {stats['table_mib']} MiB)"
        )


if __name__ == "__main__":
    main()

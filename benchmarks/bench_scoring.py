"""In-process latency of the online scorer, and the size of its per-account state.

    .venv/bin/python benchmarks/bench_scoring.py [--seed 7] [--scale 0.5] [--warm 0.5]

Simulates a week (or reads ``--events`` with text features as parquet), learns the first
``--warm`` share of it in time order, then for each following request times
``score_one`` (what the gateway waits for before serving) and, separately, ``learn_one``
+ the periodic ``flush`` (text features and re-scoring, off the request path in the
gateway's background thread). Prints p50/p90/p99/max in milliseconds, learning
throughput, and the per-account state size (JSON bytes: median, p99, max). Issue 4's
targets: score p50 <= 0.3 ms, p99 <= 2 ms. Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq


def _events(args: argparse.Namespace) -> pa.Table:
    if args.events is not None:
        return pq.read_table(args.events)
    from distillwatch.ingest import load_events
    from distillwatch.sim import SimConfig, simulate

    tmp = Path(tempfile.mkdtemp(prefix="dw-bench-scoring-"))
    simulate(SimConfig(out=tmp, seed=args.seed, days=7, scale=args.scale))
    events, _ = load_events([tmp / "events.jsonl.gz"], tmp / "q.jsonl", progress=False)
    return events


def main() -> None:
    from distillwatch.online.replay import READ_COLUMNS
    from distillwatch.online.scorer import OnlineScorer

    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=Path, default=None, help="parquet with text features")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--warm", type=float, default=0.5)
    ap.add_argument("--max-timed", type=int, default=100_000)
    args = ap.parse_args()
    table = _events(args).sort_by([("ts", "ascending"), ("request_id", "ascending")])
    rows = table.select([c for c in READ_COLUMNS if c in table.column_names]).to_pylist()
    for r in rows:  # the gateway sees raw requests: text features are computed by flush
        for c in ("content_hash", "skeleton_hash", "head", "tail", "lang", "domain"):
            r.pop(c, None)
    warm = int(len(rows) * args.warm)
    sc = OnlineScorer()
    t0 = time.perf_counter()
    for r in rows[:warm]:
        sc.learn_one(r)
    sc.flush()
    learn_s = time.perf_counter() - t0
    timed = rows[warm : warm + args.max_timed]
    score_ms = np.empty(len(timed))
    learn_ms = np.empty(len(timed))
    clock = time.perf_counter
    for i, r in enumerate(timed):
        t = clock()
        sc.score_one(r)
        t1 = clock()
        sc.learn_one(r)
        t2 = clock()
        score_ms[i] = (t1 - t) * 1e3
        learn_ms[i] = (t2 - t1) * 1e3
    sizes = np.array([len(orjson.dumps(s.to_json())) for s in sc.accounts.values()])

    def q(a: np.ndarray) -> str:
        p50, p90, p99 = np.percentile(a, [50, 90, 99])
        return f"p50 {p50:.4f}  p90 {p90:.4f}  p99 {p99:.4f}  max {a.max():.2f} ms"

    print(f"events: {len(rows):,} ({warm:,} learnt first, {len(timed):,} timed)")
    print(f"warm-up learning: {warm / learn_s:,.0f} events/s (text features and re-scoring)")
    print(f"score_one (request path):   {q(score_ms)}")
    print(f"learn_one incl. flushes:    {q(learn_ms)}  (background in the gateway)")
    print(
        f"state per account: median {np.median(sizes) / 1024:.1f} KiB, "
        f"p99 {np.percentile(sizes, 99) / 1024:.1f} KiB, max {sizes.max() / 1024:.1f} KiB "
        f"over {len(sizes):,} accounts"
    )


if __name__ == "__main__":
    main()

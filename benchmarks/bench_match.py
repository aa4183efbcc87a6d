"""Speed of ``intel.match.match_events`` on about 1M events against ~500 peer indicators.

    .venv/bin/python benchmarks/bench_match.py [--events 1000000] [--indicators 500]
        [--parquet PATH] [--simulate DIR] [--repeat 3]

Events: ``--parquet`` (default: the fit work's simulated events with text features,
/tmp/dw/fitwork/s1-default/events-with-text.parquet, ~370k events), repeated with new
request ids until ``--events`` rows (repeats add no new distinct heads, tails or IPs); or
``--simulate DIR``: simulate traffic sized to ``--events`` into DIR (kept and reused),
with its text features computed once.

Indicators (one bundle written to a temporary intel directory and read back with
``load_intel``): 30% template heads and 30% tails (half taken from the traffic's most
common parts, half random text), 10% each payment fingerprints, residential IPs,
residential prefixes (half from the traffic), and hosting ranges (the /24s of addresses
seen). Prints seconds and events/s (best of ``--repeat``); asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from distillwatch.campaigns.attributes import ip_prefix
from distillwatch.intel.fingerprints import part_digest, sketches, value_digest
from distillwatch.intel.keys import GroupKey, Keyring
from distillwatch.intel.match import match_events
from distillwatch.intel.store import load_intel

DEFAULT_PARQUET = Path("/tmp/dw/fitwork/s1-default/events-with-text.parquet")
BIN = Path(sys.executable).parent / "distillwatch"
NOW = datetime.now(UTC)
PUBLISHER = "identity--" + str(uuid.uuid4())


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _indicator(pattern: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": _stamp(NOW),
        "modified": _stamp(NOW),
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": _stamp(NOW - timedelta(days=1)),
        "valid_until": _stamp(NOW + timedelta(days=29)),
        "confidence": 80,
        "created_by_ref": PUBLISHER,
    }


def _top(column: pa.ChunkedArray, k: int) -> list[str]:
    counts = pc.value_counts(column.drop_null()).to_pylist()
    counts.sort(key=lambda r: -r["counts"])
    return [r["values"] for r in counts if r["values"]][:k]


def build_bundle(events: pa.Table, ring: Keyring, n: int, rng: random.Random) -> dict[str, Any]:
    key = ring.current(NOW)
    objects: list[dict[str, Any]] = []
    n_part, n_value = int(n * 0.3), int(n * 0.1)
    for part in ("head", "tail"):
        texts = _top(events.column(part), n_part // 2)
        texts += [
            " ".join(rng.choice(["alpha", "bravo", "delta", "gamma", "omega"]) for _ in range(10))
            + f" {i}"
            for i in range(n_part - len(texts))
        ]
        sk = sketches(key, pa.array(texts))
        for text, row in zip(texts, sk, strict=True):
            digest = part_digest(key, part, text)
            objects.append(
                _indicator(
                    f"[llm-prompt-fingerprint:part = '{part}' AND llm-prompt-fingerprint:digest"
                    f" = '{digest}' AND llm-prompt-fingerprint:key_id = '{key.key_id}']"
                )
            )
            objects.append(
                {
                    "type": "llm-prompt-fingerprint",
                    "id": f"llm-prompt-fingerprint--{uuid.uuid4()}",
                    "part": part,
                    "digest": digest,
                    "key_id": key.key_id,
                    "minhash": [int(v) for v in row],
                }
            )
    cards = _top(events.column("payment_fingerprint"), n_value // 2)
    ips = _top(events.column("ip"), n_value // 2)
    prefixes = sorted({p for p in (ip_prefix(ip) for ip in ips) if p})
    fake = [f"fake-{i}" for i in range(n_value)]
    for kind, values in (
        ("payment-fingerprint", cards + fake[: n_value - len(cards)]),
        ("ip-address", ips + fake[: n_value - len(ips)]),
        ("ip-prefix", prefixes + fake[: n_value - len(prefixes)]),
    ):
        for v in values:
            objects.append(
                _indicator(
                    f"[keyed-digest:kind = '{kind}' AND keyed-digest:digest = "
                    f"'{value_digest(key, kind, v)}' AND keyed-digest:key_id = '{key.key_id}']"
                )
            )
    for p in (prefixes + [f"10.{i}.0.0/16" for i in range(n_value)])[:n_value]:
        kind = "ipv6-addr" if ":" in p else "ipv4-addr"
        objects.append(_indicator(f"[{kind}:value ISSUBSET '{p}']"))
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}


def simulated(directory: Path, n_events: int) -> Path:
    """Simulate ~n_events into ``directory`` once; return its parquet with text features."""
    from distillwatch.ingest import load_events
    from distillwatch.pipeline import add_text_features

    out = directory / "events-with-text.parquet"
    if out.exists():
        return out
    traffic = directory / "traffic"
    scale = n_events / 370_000  # scale 1 for 7 days gives about 370k events
    cmd = [str(BIN), "simulate", "--out", str(traffic), "--seed", "11", "--scale", f"{scale:.2f}"]
    subprocess.run(cmd, check=True)
    events, _ = load_events([traffic / "events.jsonl.gz"], directory / "q.jsonl", progress=False)
    pq.write_table(add_text_features(events), out)
    return out


def repeated(table: pa.Table, n: int) -> pa.Table:
    if table.num_rows >= n:
        return table.slice(0, n)
    parts = [table]
    k = 1
    while sum(p.num_rows for p in parts) < n:
        ids = pc.binary_join_element_wise(table.column("request_id"), pa.scalar(f"#{k}"), "")
        parts.append(table.set_column(0, table.schema.field(0), ids))
        k += 1
    return pa.concat_tables(parts).slice(0, n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--indicators", type=int, default=500)
    ap.add_argument("--parquet", type=Path, default=DEFAULT_PARQUET)
    ap.add_argument("--simulate", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    source = simulated(args.simulate, args.events) if args.simulate else args.parquet
    if not source.exists():
        sys.exit(f"{source} not found: pass --simulate DIR to make events")
    cols = ["request_id", "ts", "account_id", "ip", "payment_fingerprint", "head", "tail"]
    events = repeated(pq.read_table(source, columns=cols), args.events)
    start = NOW - timedelta(days=2)
    ring = Keyring("bench", [GroupKey("bench-k1", b"\x05" * 32, start, start + timedelta(days=90))])
    rng = random.Random(5)
    bundle = build_bundle(events, ring, args.indicators, rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "coll" / "page-1.json"
        path.parent.mkdir()
        path.write_text(json.dumps(bundle), "utf-8")
        t = time.perf_counter()
        intel = load_intel(Path(tmp), at=NOW)
        load_s = time.perf_counter() - t
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        matches = match_events(events, intel, ring)
        times.append(time.perf_counter() - t)
    best = min(times)
    n = events.num_rows
    distinct = {c: len(pc.unique(events.column(c))) for c in ("head", "tail", "ip")}
    print(f"events              {n:,} (from {source})")
    print(f"distinct            {', '.join(f'{c} {v:,}' for c, v in distinct.items())}")
    print(f"indicators          {len(intel)} ({intel.counts()}), loaded in {load_s:.2f} s")
    print(f"match_events        {best:.2f} s best of {args.repeat} ({np.round(times, 2).tolist()})")
    print(f"events/s            {n / best:,.0f}")
    print(
        f"matched             {len(matches.accounts):,} accounts, "
        f"{len(matches.indicators):,} indicators, "
        f"{matches.n_requests_matched:,} template-matched requests"
    )


if __name__ == "__main__":
    main()

"""``scan --spool`` (events streamed to Parquet, read by DuckDB) gives the same results as
the in-memory scan, duplicates and quarantined records included."""

from __future__ import annotations

import gzip
from pathlib import Path

from tests.conftest import run_cli


def test_spooled_scan_equals_the_in_memory_scan(small_scan: Path, tmp_path: Path) -> None:
    traffic = small_scan.parent / "D" / "events.jsonl.gz"
    with gzip.open(traffic, "rt", encoding="utf-8") as fh:
        repeated = [next(fh) for _ in range(40)]
    extra = tmp_path / "more.jsonl"
    extra.write_text("".join(repeated) + "{broken\n", encoding="utf-8")
    outs = {}
    for mode in ("--in-memory", "--spool"):
        out = tmp_path / mode.strip("-")
        done = run_cli("scan", str(traffic), str(extra), "--out", str(out), mode)
        outs[mode] = (out, " ".join(done.stderr.split()))  # unwrapped
    memory, spooled = outs["--in-memory"][0], outs["--spool"][0]
    for name in ("accounts.csv", "campaigns.csv", "campaigns.json", "quarantine.jsonl"):
        assert (memory / name).read_bytes() == (spooled / name).read_bytes(), name
    assert "40 duplicate request ids dropped" in outs["--in-memory"][1]
    assert "spooled" in outs["--spool"][1]
    assert not (spooled / "spool").exists()  # the Parquet copy is removed after the scan

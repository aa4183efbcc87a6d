"""Inputs of a data lake: hive-partitioned Parquet directories, glob patterns, and the
incremental mode that reads only partitions not seen before."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from tests.conftest import BIN, run_cli

from distillwatch.errors import IngestError
from distillwatch.ingest import load_events
from distillwatch.ingest.discover import discover


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulated days as ``date=YYYY-MM-DD/part-0000{0,1}.parquet``."""
    base = tmp_path_factory.mktemp("lake")
    run_cli("simulate", "--out", str(base / "sim"), "--seed", "4", "--days", "2", "--scale", "0.02")
    events, _ = load_events([base / "sim" / "events.jsonl.gz"], base / "q.jsonl", progress=False)
    events = events.drop_columns(["extra"])
    day = pc.strftime(events.column("ts"), format="%Y-%m-%d")
    for d in sorted(set(day.to_pylist())):
        part = events.filter(pc.equal(day, d))
        out = base / "lake" / f"date={d}"
        out.mkdir(parents=True)
        half = part.num_rows // 2
        pq.write_table(part.slice(0, half), out / "part-00000.parquet")
        pq.write_table(part.slice(half), out / "part-00001.parquet")
    return base / "lake"


def _days(lake: Path) -> list[Path]:
    return sorted(lake.glob("date=*"))


def test_partitioned_directory_reads_every_part(lake):
    table, summary = load_events([lake], lake.parent / "q1.jsonl", progress=False)
    parts = sorted(lake.rglob("*.parquet"))
    assert len(parts) == 4
    assert summary.sources == [str(p) for p in parts]
    assert table.num_rows == sum(pq.read_metadata(p).num_rows for p in parts)


def test_glob_patterns_expand_sorted(lake):
    first = _days(lake)[0]
    files, _ = discover([Path(f"{lake}/date=*/part-00001.parquet")])
    assert [f.path for f in files] == sorted(lake.glob("date=*/part-00001.parquet"))
    pattern = f"{lake}/{first.name[:-1]}[{first.name[-1]}]"  # a pattern naming a directory
    files, _ = discover([Path(pattern)])
    assert [f.path for f in files] == sorted(first.glob("*.parquet"))
    with pytest.raises(IngestError, match="matches no file"):
        discover([Path(f"{lake}/date=1999-*/*.parquet")])


def _accounts(scan: Path) -> list[dict[str, str]]:
    with (scan / "accounts.csv").open(newline="", encoding="utf-8") as f:
        return sorted(csv.DictReader(f), key=lambda r: r["account_id"])


def test_incremental_scan_equals_a_full_scan(lake, tmp_path):
    day1 = _days(lake)[0]
    state = tmp_path / "state"
    # day 1 only, then day 2 arrives: the second run reads only day 2's files
    run_cli("scan", str(day1), "--out", str(tmp_path / "s1"), "-q", "--incremental", str(state))
    done = run_cli("scan", str(lake), "--out", str(tmp_path / "s2"), "--incremental", str(state))
    assert "incremental: 2 new file(s), 2 already in" in done.stderr
    run_cli("scan", str(lake), "--out", str(tmp_path / "full"), "-q")
    assert _accounts(tmp_path / "s2") == _accounts(tmp_path / "full")
    assert len(_accounts(tmp_path / "s1")) < len(_accounts(tmp_path / "full"))
    stored = pq.read_table(sorted((state / "events").glob("*.parquet"))[-1])
    assert "head" in stored.column_names  # text features are kept, not recomputed
    # nothing new: the state alone is scanned again, with the same result
    run_cli("scan", str(lake), "--out", str(tmp_path / "s3"), "-q", "--incremental", str(state))
    assert _accounts(tmp_path / "s3") == _accounts(tmp_path / "full")


def test_incremental_refuses_a_file_changed_after_it_was_scanned(lake, tmp_path):
    copy = tmp_path / "lake"
    for src in lake.rglob("*.parquet"):
        dst = copy / src.relative_to(lake)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
    state = tmp_path / "state"
    run_cli("scan", str(copy), "--out", str(tmp_path / "s1"), "-q", "--incremental", str(state))
    changed = sorted(copy.rglob("*.parquet"))[0]
    table = pq.read_table(changed)
    pq.write_table(table.slice(1), changed)
    os.utime(changed, ns=(1, 1))
    done = subprocess.run(
        [str(BIN), "scan", str(copy), "--out", str(tmp_path / "s2"), "--incremental", str(state)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "changed after it was scanned" in done.stderr
    assert isinstance(table, pa.Table)

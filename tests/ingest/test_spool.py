"""Streaming ingest to Parquet: the same events as ``load_events``, in bounded memory."""

from __future__ import annotations

from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillwatch.features.text import with_text_features
from distillwatch.ingest import load_events
from distillwatch.ingest.spool import SEQ, deduplicated, spool_events
from distillwatch.pipeline import add_text_features


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from distillwatch.sim import SimConfig, simulate

    out = tmp_path_factory.mktemp("spool-sim")
    simulate(SimConfig(out=out, seed=4, days=1, scale=0.03))
    events = out / "events.jsonl.gz"
    # a second file repeating some requests and holding bad lines: duplicates and quarantine
    import gzip

    with gzip.open(events, "rt", encoding="utf-8") as fh:
        head = [next(fh) for _ in range(50)]
    (out / "more.jsonl").write_text("".join(head) + "{broken\n" + '{"request_id": 1}\n')
    return out


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("request_id", "ascending")])


def test_spool_then_dedup_equals_load_events(traffic: Path, tmp_path: Path) -> None:
    inputs = [traffic / "events.jsonl.gz", traffic / "more.jsonl"]
    table, summary = load_events(inputs, tmp_path / "q1.jsonl", progress=False)
    spool = spool_events(
        inputs, tmp_path / "q2.jsonl", tmp_path / "spool", progress=False, rows_per_file=2_000
    )
    assert len(spool.files) > 1  # rolled over
    assert spool.n_rows == table.num_rows + summary.n_duplicates
    assert spool.summary.quarantined == summary.quarantined and summary.n_quarantined == 2
    assert (tmp_path / "q1.jsonl").read_bytes() == (tmp_path / "q2.jsonl").read_bytes()
    seq = pq.read_table(spool.files).column(SEQ).to_pylist()
    assert seq == list(range(spool.n_rows))
    con = ibis.duckdb.connect()
    deduped = deduplicated(con.read_parquet(spool.pattern)).to_pyarrow()
    assert deduped.num_rows == table.num_rows
    got = _sorted(deduped).select(table.column_names).cast(table.schema)
    assert got.equals(_sorted(table))


def test_text_features_in_worker_processes_equal_the_in_memory_step(
    traffic: Path, tmp_path: Path
) -> None:
    inputs = [traffic / "events.jsonl.gz"]
    table, _ = load_events(inputs, tmp_path / "q1.jsonl", progress=False)
    expected = add_text_features(table, workers=1)
    spool = spool_events(
        inputs,
        tmp_path / "q2.jsonl",
        tmp_path / "spool",
        transform=with_text_features,
        workers=2,
        progress=False,
        rows_per_file=3_000,
    )
    got = pq.read_table(spool.files)
    assert got.column(SEQ).to_pylist() == list(range(got.num_rows))  # order kept
    assert got.drop_columns([SEQ]).select(expected.column_names).equals(expected)


def test_unwritable_spool_directory_is_one_clear_error(traffic: Path, tmp_path: Path) -> None:
    from distillwatch.errors import OutputError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="spool directory"):
        spool_events([traffic / "more.jsonl"], tmp_path / "q.jsonl", blocker / "spool")

"""The vectorised paths (Arrow-parsed JSON blocks, Parquet/CSV batches as columns) must
give exactly what reading record by record gives."""

import json
import random

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from distillwatch.ingest import readers


def varied_records(h, n=300, seed=11):
    rng = random.Random(seed)
    choices = {
        "ts": [
            "2026-01-05T00:00:01Z",
            "2026-01-05T03:00:01+02:00",
            "2026-01-05 00:00:01",
            "2026-01-05",
            "2026-01-05T00:00:01.123456789Z",
            "soon",
            "",
            None,
            "1969-01-01T00:00:00Z",
        ],
        "account_created_at": [None, "2025-01-01T00:00:00Z", "2025-01-01", "never", ""],
        "asn": [None, 64500, 0, -1],
        "temperature": [None, 0.0, 0.7, 1, 2.5],
        "stream": [None, True, False],
        "ip": [None, "10.0.0.1", "", "::1"],
        "prompt": ["hello", "", None, "ünïcødé ✓", "long " * 60, 'line\nbreak "quoted"'],
        "system_prompt": [None, "sys", "", "s" * 400],
        # unknown fields: one JSON type each (Arrow refuses a block that mixes them)
        "region": [None, "eu", "us"],
        "score": [None, 1, 2.5],
        "seen_at": [None, "2026-01-01T00:00:00Z"],
        "nested": [None, {"a": [1, 2]}],
        "extra": [None, {"from": "input"}],
    }
    records = []
    for i in range(n):
        record = h.event(i)
        for key, values in choices.items():
            value = rng.choice(values)
            if value is not None or rng.random() < 0.3:
                record[key] = value
        if rng.random() < 0.3:  # another key order
            record = dict(sorted(record.items(), reverse=True))
        records.append(record)
    records += [h.event(1000), h.event(1000, model="other")]  # a duplicate id
    return records


def run_both(load, monkeypatch, inputs, disable):
    """Load normally, then with the fast path disabled; return both results."""
    fast = load(inputs, max_prompt_chars=100)
    with monkeypatch.context() as patch:
        disable(patch)
        slow = load(inputs, max_prompt_chars=100)
    return fast, slow


def assert_same(fast, slow):
    fast_table, fast_summary, fast_quarantine = fast
    slow_table, slow_summary, slow_quarantine = slow
    assert fast_table.to_pylist() == slow_table.to_pylist()
    assert fast_table.equals(slow_table)
    assert fast_summary == slow_summary
    key = lambda q: (q["source"], q["reason"])  # noqa: E731
    assert sorted(fast_quarantine, key=key) == sorted(slow_quarantine, key=key)


def test_json_blocks_read_by_arrow_match_record_by_record(tmp_path, load, h, monkeypatch):
    path = h.write_jsonl(tmp_path / "e.jsonl", varied_records(h))
    used = []
    original = readers.parse_block

    def counting(lines):
        parsed = original(lines)
        used.append(parsed is not None)
        return parsed

    monkeypatch.setattr(readers, "parse_block", counting)
    fast, slow = run_both(
        load, monkeypatch, path, lambda p: p.setattr(readers, "parse_block", lambda lines: None)
    )
    assert used == [True]  # the whole file was one block, read by Arrow
    assert_same(fast, slow)
    table, summary, _ = fast
    assert summary.n_quarantined > 20 and table.num_rows > 100  # both kinds are exercised
    assert summary.warnings["prompt_truncated"] > 0
    assert summary.n_duplicates == 1


@pytest.mark.parametrize(
    "odd_line",
    [
        b'{"request_id": "x", "ts": "2026-01-05", "account_id": "a", "model": "m",'
        b' "prompt": "p", "cohort": 7}',
        b'{"request_id": "x", "ts": "2026-01-05", "account_id": "a", "model": "m",'
        b' "prompt": "p", "extra": "{\\"as\\": \\"text\\"}"}',
        b'{"request_id": "x", "ts": 1767571200, "account_id": "a", "model": "m", "prompt": "p"}',
        b'{"request_id": "x"}{"request_id": "y"}',
        b'{"request_id": "x", "request_id": "y", "ts": 0, "account_id": "a", "model": "m",'
        b' "prompt": "p"}',
        b'{"request_id": "x", "ts": "2026-01-05", "account_id": "a", "model": "m",'
        b' "prompt": "p", "temperature": NaN}',
        b'{"request_id": "x", "ts": "2026-01-05", "account_id": "a", "model": "m",'
        b' "prompt": "p", "n": 3.0}',
        b'{"request_id": "x", "ts": "2026-01-05", "account_id": "a", "model": "m",'
        b' "prompt": "p", "f": 1e400}',
        b"   ",
        b"[]",
        b'{"request": {"messages": [{"role": "user", "content": "hi"}]}, "ts": 0,'
        b' "account_id": "a", "model": "m"}',
    ],
)
def test_blocks_arrow_could_misread_fall_back(tmp_path, load, h, monkeypatch, odd_line):
    lines = [h.event(0, cohort="c"), odd_line, h.event(1, extra={"k": 1})]
    path = h.write_jsonl(tmp_path / "e.jsonl", lines)
    fast, slow = run_both(
        load, monkeypatch, path, lambda p: p.setattr(readers, "parse_block", lambda lines: None)
    )
    assert_same(fast, slow)


def columnar_cases(h, tmp_path):
    records = [r for r in varied_records(h, n=120) if "nested" not in r]
    for r in records:  # Parquet/CSV need one type per column
        r.pop("extra", None)
        if "score" in r:
            r["score"] = None if r["score"] is None else float(r["score"])
    table = pa.Table.from_pylist(records)
    parquet = tmp_path / "e.parquet"
    pq.write_table(table, parquet)
    csv = tmp_path / "e.csv"
    pacsv.write_csv(table, csv)
    return parquet, csv


def test_parquet_and_csv_batches_match_row_by_row(tmp_path, load, h, monkeypatch):
    parquet, csv = columnar_cases(h, tmp_path)
    for path in (parquet, csv):
        fast, slow = run_both(
            load,
            monkeypatch,
            path,
            lambda p: p.setattr(readers, "SHAPE_MARKERS", readers.SHAPE_MARKERS | {"prompt"}),
        )
        assert_same(fast, slow)
        assert fast[1].n_quarantined > 5


def test_extras_are_sorted_and_typed_as_in_the_input(tmp_path, load, h):
    record = h.event(0, zeta=1, alpha=2.5, mid="2026-01-01T00:00:00Z", obj={"k": None})
    table, _, _ = load(h.write_jsonl(tmp_path / "e.jsonl", [record]))
    assert table.column("extra")[0].as_py() == (
        '{"alpha":2.5,"mid":"2026-01-01T00:00:00Z","obj":{"k":null},"zeta":1}'
    )
    assert json.loads(table.column("extra")[0].as_py())["zeta"] == 1

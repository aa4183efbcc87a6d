"""Bad records are quarantined with their source; the good ones around them are kept."""

import gzip
import json
import tracemalloc

import pyarrow as pa
import pytest

from distillwatch.errors import IngestError
from distillwatch.ingest import load_events


def ids(table):
    return table.column("request_id").to_pylist()


def test_good_records_around_bad_ones_are_all_kept(tmp_path, load, h):
    lines = [
        h.event(0),
        b"{not json",
        h.event(1),
        b"[1, 2, 3]",
        h.event(2, prompt=None),
        b'{"request_id": "r-utf8", "prompt": "caf\xe9"}',
        h.event(3, ts="yesterday"),
        h.event(4, asn="sixty-four"),
        h.event(5, n=2.5),
        h.event(6, temperature="hot"),
        h.event(7, stream="maybe"),
        h.event(8, prompt={"text": "nested"}),
        h.event(9, account_created_at="later"),
        b"",
        h.event(10),
    ]
    path = h.write_jsonl(tmp_path / "mixed.jsonl", lines)
    table, summary, quarantine = load(path)
    assert ids(table) == ["req-0", "req-1", "req-10"]
    got = {q["source"]: q["reason"] for q in quarantine}
    assert got == {
        f"{path}:2": "invalid_json",
        f"{path}:4": "not_an_object",
        f"{path}:5": "missing_field:prompt",
        f"{path}:6": "invalid_utf8",
        f"{path}:7": "bad_timestamp:ts",
        f"{path}:8": "bad_type:asn",
        f"{path}:9": "bad_type:n",
        f"{path}:10": "bad_type:temperature",
        f"{path}:11": "bad_type:stream",
        f"{path}:12": "bad_type:prompt",
        f"{path}:13": "bad_timestamp:account_created_at",
    }
    assert summary.n_read == 14  # the blank line is not a record
    assert summary.n_read == summary.n_ok + summary.n_duplicates + summary.n_quarantined
    assert summary.quarantined["bad_type:asn"] == 1
    for entry in quarantine:
        assert set(entry) == {"source", "reason", "detail", "raw"}
        assert entry["detail"] and "\n" not in entry["detail"]
    raw_of = {q["source"]: q["raw"] for q in quarantine}
    assert raw_of[f"{path}:2"] == "{not json"
    assert raw_of[f"{path}:6"] == '{"request_id": "r-utf8", "prompt": "caf\\xe9"}'
    assert json.loads(raw_of[f"{path}:8"])["asn"] == "sixty-four"


@pytest.mark.parametrize("field", ["request_id", "ts", "account_id", "model", "prompt"])
@pytest.mark.parametrize("how", ["absent", "null", "empty"])
def test_each_required_field(tmp_path, load, h, field, how):
    value = {"absent": None, "null": "NULL", "empty": ""}[how]
    bad = h.event(1, **{field: value})
    if how == "null":
        bad[field] = None
    path = h.write_jsonl(tmp_path / "e.jsonl", [h.event(0), bad])
    table, _, quarantine = load(path)
    assert ids(table) == ["req-0"]
    assert [(q["source"], q["reason"]) for q in quarantine] == [
        (f"{path}:2", f"missing_field:{field}")
    ]


def test_lossless_coercions_are_accepted(tmp_path, load, h):
    record = h.event(
        0,
        account_id=12345,
        asn="64500",
        n=3.0,
        stream="true",
        top_p="0.5",
        logprobs=0,
        ts=str(1767571200),
    )
    table, _, quarantine = load(h.write_jsonl(tmp_path / "e.jsonl", [record]))
    assert quarantine == []
    row = table.to_pylist()[0]
    assert (row["account_id"], row["asn"], row["n"]) == ("12345", 64500, 3)
    assert (row["stream"], row["top_p"], row["logprobs"]) == (True, 0.5, False)


def test_epoch_seconds_milliseconds_and_text_agree(tmp_path, load, h):
    records = [
        h.event(0, ts=1767571200),
        h.event(1, ts=1767571200000),
        h.event(2, ts=1767571200.0),
        h.event(3, ts="2026-01-05T01:00:00+01:00"),
        h.event(4, ts="2026-01-05 00:00:00"),
        h.event(5, ts=1767571200123456),
        h.event(6, ts=1767571200123),
    ]
    table, _, _ = load(h.write_jsonl(tmp_path / "e.jsonl", records))
    micros = table.column("ts").cast(pa.int64()).to_pylist()
    base = 1767571200 * 10**6
    assert micros == [base] * 5 + [base + 123456, base + 123000]


def test_duplicates_keep_the_first_occurrence(tmp_path, load, h):
    first = h.write_jsonl(tmp_path / "a.jsonl", [h.event(0, model="first"), h.event(1)])
    second = h.write_jsonl(tmp_path / "b.jsonl", [h.event(0, model="second"), h.event(1)])
    table, summary, quarantine = load([first, second])
    assert ids(table) == ["req-0", "req-1"]
    assert table.column("model").to_pylist()[0] == "first"
    assert summary.n_duplicates == 2 and quarantine == []
    assert summary.n_read == 4 and summary.n_ok == 2


def test_truncated_gzip_keeps_the_records_before_the_cut(tmp_path, load, h):
    records = [h.event(i, prompt="word " * 40) for i in range(2000)]
    blob = gzip.compress(h.jsonl_bytes(records))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(blob[: len(blob) * 2 // 3])
    table, _, quarantine = load(path)
    n = table.num_rows
    assert 1000 < n < 2000
    assert ids(table) == [f"req-{i}" for i in range(n)]
    assert len(quarantine) == 1
    assert quarantine[0]["reason"] == "truncated_file"
    assert quarantine[0]["source"] == f"{path}:{n + 1}"
    assert quarantine[0]["raw"] and h.jsonl_bytes(records).decode().find(quarantine[0]["raw"]) >= 0


def test_a_ten_megabyte_prompt_is_kept_truncated(tmp_path, load, h):
    huge = "x" * 10_000_000
    path = h.write_jsonl(tmp_path / "big.jsonl", [h.event(0), h.event(1, prompt=huge), h.event(2)])
    tracemalloc.start()
    try:
        table, summary, quarantine = load(path, max_prompt_chars=1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 150_000_000  # a handful of copies of the line at most
    assert quarantine == [] and ids(table) == ["req-0", "req-1", "req-2"]
    row = table.to_pylist()[1]
    assert row["prompt"] == "x" * 1000
    assert json.loads(row["extra"]) == {"prompt_original_chars": 10_000_000}
    assert summary.warnings["prompt_truncated"] == 1


def test_a_bad_line_of_any_length_is_quarantined_cut_to_64k(tmp_path, load, h):
    long_bad = b'{"request_id": "r", "prompt": "' + b"y" * 200_000  # unterminated
    path = h.write_jsonl(tmp_path / "e.jsonl", [h.event(0), long_bad])
    _, _, quarantine = load(path)
    assert quarantine[0]["reason"] == "invalid_json"
    assert quarantine[0]["raw_truncated"] is True
    assert len(quarantine[0]["raw"].encode()) == 64 * 1024


def test_empty_files(tmp_path, load, h):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    good = h.write_jsonl(tmp_path / "good.jsonl", [h.event(0)])
    table, summary, _ = load([empty, good])
    assert table.num_rows == 1 and summary.warnings["empty_file"] == 1
    quarantine = tmp_path / "q" / "quarantine.jsonl"
    with pytest.raises(IngestError, match="no usable events"):
        load_events([empty], quarantine, progress=False)
    assert quarantine.exists() and quarantine.read_bytes() == b""


def test_no_usable_event_raises_after_writing_the_quarantine(tmp_path, h):
    path = h.write_jsonl(tmp_path / "bad.jsonl", [b"nope", h.event(0, model=None)])
    quarantine = tmp_path / "quarantine.jsonl"
    with pytest.raises(IngestError) as info:
        load_events([path], quarantine, progress=False)
    message = str(info.value)
    assert "\n" not in message and "invalid_json" in message and str(quarantine) in message
    assert len(h.read_quarantine(quarantine)) == 2


def test_missing_path_raises(tmp_path):
    quarantine = tmp_path / "q.jsonl"
    with pytest.raises(IngestError, match="does not exist"):
        load_events([tmp_path / "nope.jsonl"], quarantine, progress=False)
    assert quarantine.read_bytes() == b""  # always written


def test_unreadable_parquet_is_quarantined_and_others_are_read(tmp_path, load, h):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet at all")
    good = h.write_jsonl(tmp_path / "good.jsonl", [h.event(0)])
    table, _, quarantine = load([broken, good])
    assert table.num_rows == 1
    assert [(q["source"], q["reason"]) for q in quarantine] == [(str(broken), "unreadable_file")]


def test_invalid_utf8_in_csv_quarantines_that_row_only(tmp_path, load):
    path = tmp_path / "e.csv"
    path.write_bytes(
        b"request_id,ts,account_id,model,prompt\nr1,0,a,m,ok\nr2,0,a,m,caf\xe9\nr3,0,a,m,fine\n"
    )
    table, _, quarantine = load(path)
    assert ids(table) == ["r1", "r3"]
    assert [(q["source"], q["reason"]) for q in quarantine] == [(f"{path}#row 2", "invalid_utf8")]


def test_bom_at_the_start_of_a_file(tmp_path, load, h):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + h.jsonl_bytes([h.event(0), h.event(1)]))
    table, _, quarantine = load(path)
    assert table.num_rows == 2 and quarantine == []


def test_quarantine_parent_directories_are_created(tmp_path, h):
    path = h.write_jsonl(tmp_path / "e.jsonl", [h.event(0)])
    quarantine = tmp_path / "a" / "b" / "q.jsonl"
    load_events([path], quarantine, progress=False)
    assert quarantine.read_bytes() == b""

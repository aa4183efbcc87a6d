"""Each reader, and a directory of mixed formats."""

import gzip
import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillwatch import schema

JAN5 = datetime(2026, 1, 5, tzinfo=UTC)


def full_event(h, i=0):
    return h.event(
        i,
        org_id="org-1",
        api_key_id="key-1",
        ip="192.0.2.4",
        asn=64500,
        country="DE",
        user_agent="sdk/1.0",
        payment_fingerprint="pm_1",
        signup_channel="self_serve",
        account_created_at="2025-12-01T00:00:00Z",
        conversation_id="conv-1",
        system_prompt="be brief",
        n_messages=3,
        max_tokens=256,
        temperature=0.7,
        top_p=1,
        n=1,
        logprobs=False,
        top_logprobs=0,
        stream=True,
        tools=2,
        prompt_tokens=10,
        completion_tokens=20,
        reasoning_tokens=5,
        finish_reason="stop",
        status=200,
        region="eu-west",
    )


@pytest.mark.parametrize(
    "name", ["events.jsonl", "events.ndjson", "events.jsonl.gz", "events.ndjson.gz"]
)
def test_json_lines(tmp_path, load, h, name):
    path = h.write_jsonl(tmp_path / name, [full_event(h, i) for i in range(3)])
    table, summary, quarantine = load(path)
    assert table.schema.equals(schema.EVENT_SCHEMA)
    assert table.num_rows == 3 and quarantine == []
    row = table.slice(1, 1).to_pylist()[0]
    assert row["ts"] == datetime(2026, 1, 5, 0, 0, 1, tzinfo=UTC)
    assert row["account_created_at"] == datetime(2025, 12, 1, tzinfo=UTC)
    assert row["asn"] == 64500 and row["top_p"] == 1.0 and row["stream"] is True
    assert json.loads(row["extra"]) == {"region": "eu-west"}
    assert summary.sources == [str(path)]
    assert (summary.n_read, summary.n_ok, summary.n_quarantined) == (3, 3, 0)


def test_minimal_events_have_nulls_and_no_extra(tmp_path, load, h):
    table, _, _ = load(h.write_jsonl(tmp_path / "e.jsonl", [h.event(0)]))
    row = table.to_pylist()[0]
    assert row["extra"] is None and row["asn"] is None and row["system_prompt"] is None


def test_json_array_and_single_record(tmp_path, load, h):
    array = tmp_path / "array.json"
    array.write_text(json.dumps([h.event(0), h.event(1, prompt=None), h.event(2)]))
    single = tmp_path / "single.json"
    single.write_text(json.dumps(h.event(3)))
    table, summary, quarantine = load([array, single])
    assert table.column("request_id").to_pylist() == ["req-0", "req-2", "req-3"]
    assert [q["source"] for q in quarantine] == [f"{array}#row 2"]
    assert quarantine[0]["reason"] == "missing_field:prompt"
    assert summary.n_read == 4


def test_json_file_holding_json_lines(tmp_path, load, h):
    path = tmp_path / "export.json"  # OTLP file exporters write one document per line
    path.write_bytes(h.jsonl_bytes([h.event(0), h.event(1)]))
    table, _, _ = load(path)
    assert table.num_rows == 2


def test_parquet_with_native_types(tmp_path, load, h):
    path = tmp_path / "events.parquet"
    pq.write_table(
        pa.table(
            {
                "request_id": ["p1", "p2"],
                "ts": pa.array([JAN5, JAN5], type=pa.timestamp("ns", tz="UTC")),
                "account_id": ["a", "b"],
                "model": pa.array(["m", "m"]).dictionary_encode(),
                "prompt": ["x", "y"],
                "asn": pa.array([1, 2], type=pa.int32()),
                "temperature": pa.array([0.5, None], type=pa.float32()),
                "stream": [True, False],
                "cohort": ["c1", None],
            }
        ),
        path,
    )
    table, _, quarantine = load(path)
    assert quarantine == []
    rows = table.to_pylist()
    assert rows[0]["ts"] == JAN5 and rows[0]["asn"] == 1 and rows[0]["temperature"] == 0.5
    assert rows[0]["model"] == "m"
    assert [r["extra"] for r in rows] == ['{"cohort":"c1"}', None]


def test_parquet_round_trip_of_our_own_output(tmp_path, load, h):
    first, _, _ = load(h.write_jsonl(tmp_path / "a.jsonl", [full_event(h, i) for i in range(4)]))
    path = tmp_path / "again.parquet"
    pq.write_table(first, path)
    second, _, quarantine = load(path)
    assert quarantine == []
    assert second.equals(first)


CSV_TEXT = (
    "request_id,ts,account_id,model,prompt,asn,temperature,stream,logprobs,n,extra,cohort\n"
    'c1,2026-01-05T00:00:00Z,a,m,"multi\nline, with comma",64500,0.5,true,FALSE,3,'
    '"{""k"": 1}",x\n'
    "c2,1767571200,b,m,plain,AS13335,,,,,,\n"
    "c3,2026-01-05,b,m,bad asn,sixty,,,,,,\n"
    "c4,2026-01-05,b,m,too,many,cells,,,,,,,,,\n"
    'c5,2026-01-05,b,m,"quoted ""x""",1,1,1,0,3.0,,\n'
)


@pytest.mark.parametrize("name", ["events.csv", "events.csv.gz"])
def test_csv(tmp_path, load, name):
    path = tmp_path / name
    data = CSV_TEXT.encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    table, summary, quarantine = load(path)
    rows = {r["request_id"]: r for r in table.to_pylist()}
    assert sorted(rows) == ["c1", "c2", "c5"]
    assert rows["c1"]["prompt"] == "multi\nline, with comma"
    assert (rows["c1"]["asn"], rows["c1"]["stream"], rows["c1"]["logprobs"]) == (64500, True, False)
    assert json.loads(rows["c1"]["extra"]) == {"cohort": "x", "k": 1}
    assert rows["c2"]["asn"] == 13335 and rows["c2"]["temperature"] is None
    assert rows["c2"]["ts"] == rows["c1"]["ts"]
    assert rows["c5"]["n"] == 3 and rows["c5"]["prompt"] == 'quoted "x"'
    by_reason = {q["reason"]: q for q in quarantine}
    assert by_reason["bad_type:asn"]["source"] == f"{path}#row 3"
    assert json.loads(by_reason["bad_type:asn"]["raw"])["asn"] == "sixty"
    assert by_reason["invalid_csv_row"]["source"] == f"{path}#row 4"
    assert summary.n_read == 5


def test_directory_of_mixed_formats(tmp_path, load, h):
    logs = tmp_path / "logs"
    (logs / "2026" / "01").mkdir(parents=True)
    h.write_jsonl(logs / "b.jsonl.gz", [h.event(1)])
    h.write_jsonl(logs / "2026" / "01" / "a.jsonl", [h.event(0)])
    (logs / "c.csv").write_text("request_id,ts,account_id,model,prompt\nr2,0,a,m,p\n")
    pq.write_table(pa.Table.from_pylist([h.event(3)]), logs / "d.parquet")
    (logs / "README.md").write_text("not logs")
    (logs / "e.json").write_text(json.dumps([h.event(4)]))
    table, summary, _ = load(logs)
    assert table.column("request_id").to_pylist() == ["req-0", "req-1", "r2", "req-3", "req-4"]
    assert [p.rsplit("/", 1)[-1] for p in summary.sources] == [
        "a.jsonl",
        "b.jsonl.gz",
        "c.csv",
        "d.parquet",
        "e.json",
    ]
    assert summary.warnings["skipped_file:.md"] == 1

"""OpenTelemetry GenAI spans: OTLP/JSON exports and flat spans."""

import json
import shutil
from datetime import UTC, datetime

import pytest

from distillwatch.ingest.coerce import BadRecord
from distillwatch.ingest.otel import any_value, map_span


def test_otlp_json_export(tmp_path, load, h):
    path = shutil.copy(h.fixtures / "otlp_export.json", tmp_path / "traces.json")
    table, summary, quarantine = load(path)
    rows = {r["request_id"]: r for r in table.to_pylist()}
    assert sorted(rows) == ["chatcmpl-otel-1"]
    row = rows["chatcmpl-otel-1"]
    assert row["ts"] == datetime(2026, 1, 5, 0, 0, 0, 123456, tzinfo=UTC)
    assert (row["account_id"], row["org_id"], row["ip"]) == ("acct_otel_1", "org_77", "203.0.113.9")
    assert row["model"] == "gpt-4o" and row["user_agent"] == "python-httpx/0.27"
    assert (row["max_tokens"], row["temperature"], row["top_p"], row["n"]) == (512, 0.2, 0.9, 1)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (31, 120)
    assert row["finish_reason"] == "stop" and row["conversation_id"] == "conv_9"
    assert row["prompt"] == "Explain step by step how TLS works."
    assert row["system_prompt"] == "You are terse." and row["n_messages"] == 2
    extra = json.loads(row["extra"])
    assert extra["service.name"] == "inference-gateway"
    assert extra["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert extra["otel.trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert "gen_ai.output.messages" not in extra  # response content is never kept
    # the second chat span has no prompt: quarantined with its place in the document
    assert [(q["source"], q["reason"]) for q in quarantine] == [
        (f"{path}#span 4", "missing_field:prompt")
    ]
    assert json.loads(quarantine[0]["raw"])["spanId"] == "ccc19b7ec3c1b177"
    assert summary.warnings["skipped_span:execute_tool"] == 1
    assert summary.warnings["skipped_span:non_genai"] == 1
    assert summary.n_read == 2  # the two inference spans; skipped spans are not records


def test_otlp_documents_as_json_lines(tmp_path, load, h):
    document = json.loads((h.fixtures / "otlp_export.json").read_text())
    path = h.write_jsonl(tmp_path / "otlp.jsonl", [h.event(0), document])
    table, _, quarantine = load(path)
    assert table.num_rows == 2
    assert quarantine[0]["source"] == f"{path}:2#span 4"


def test_flat_spans(tmp_path, load, h):
    path = shutil.copy(h.fixtures / "flat_spans.jsonl", tmp_path / "spans.jsonl")
    table, _, quarantine = load(path)
    assert quarantine == []
    first, second = table.to_pylist()
    assert first["request_id"] == "0x51b2"  # span id fallback (console exporter layout)
    assert first["ts"] == datetime(2026, 1, 5, 12, 0, 0, 250000, tzinfo=UTC)
    assert (first["prompt"], first["system_prompt"], first["n_messages"]) == (
        "write a poem",
        "be nice",
        2,
    )
    assert (first["prompt_tokens"], first["completion_tokens"]) == (12, 80)  # older names
    assert first["account_id"] == "acct_span_1" and first["stream"] is True
    assert json.loads(first["extra"])["service.name"] == "app"
    assert second["prompt"] == "indexed prompt" and second["tools"] == 2
    assert second["ts"] == datetime(2026, 1, 5, 12, tzinfo=UTC)
    assert "secret answer" not in second["extra"]


def test_canonical_attribute_names_win():
    mapped = map_span(
        {
            "spanId": "s",
            "startTimeUnixNano": "1",
            "attributes": {
                "gen_ai.request.model": "m",
                "gen_ai.prompt": "p",
                "account_id": "explicit",
                "user.id": "semconv",
                "ts": "2026-01-05T00:00:00Z",
            },
        },
        {},
    )
    assert mapped.fields["account_id"] == "explicit"
    assert mapped.fields["ts"] == "2026-01-05T00:00:00Z"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"stringValue": "a"}, "a"),
        ({"intValue": "12"}, 12),
        ({"intValue": 12}, 12),
        ({"doubleValue": 0.5}, 0.5),
        ({"boolValue": True}, True),
        ({"arrayValue": {"values": [{"stringValue": "stop"}]}}, ["stop"]),
        ({"kvlistValue": {"values": [{"key": "k", "value": {"intValue": "1"}}]}}, {"k": 1}),
        ({}, None),
    ],
)
def test_any_value(value, expected):
    assert any_value(value) == expected


def test_bad_start_time_is_a_bad_timestamp():
    with pytest.raises(BadRecord, match="bad_timestamp:ts"):
        map_span(
            {
                "spanId": "s",
                "startTimeUnixNano": "soon",
                "attributes": {"gen_ai.request.model": "m"},
            },
            {},
        )


def test_malformed_document_is_one_quarantine_entry(tmp_path, load, h):
    path = h.write_jsonl(tmp_path / "e.jsonl", [h.event(0), {"resourceSpans": "nope"}])
    table, summary, quarantine = load(path)
    assert table.num_rows == 1
    assert [(q["source"], q["reason"]) for q in quarantine] == [
        (f"{path}:2", "bad_type:resourceSpans")
    ]
    assert summary.n_read == 2

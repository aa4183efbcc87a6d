"""OpenAI-style request/response logs and Batch API output lines."""

import json
import shutil
from datetime import UTC, datetime

import pytest

from distillwatch.ingest.coerce import BadRecord
from distillwatch.ingest.openai import is_openai, map_openai


def rows_by_id(table):
    return {row["request_id"]: row for row in table.to_pylist()}


def test_request_response_log(tmp_path, load, h):
    path = shutil.copy(h.fixtures / "openai_log.jsonl", tmp_path / "log.jsonl")
    table, _, quarantine = load(path)
    assert quarantine == []
    rows = rows_by_id(table)
    first = rows["chatcmpl-L1"]  # request_id from response.id
    assert first["ts"] == datetime(2026, 1, 5, 10, tzinfo=UTC)  # explicit ts wins over created
    assert first["account_id"] == "acct_1"  # explicit account wins over request.user
    assert first["model"] == "gpt-4o"  # the requested model, not the served one
    assert first["system_prompt"] == "Show your reasoning."  # a developer message
    assert first["prompt"] == "Now think step by step:\nis 91 prime?"  # last user message
    assert first["n_messages"] == 4
    assert (first["max_tokens"], first["temperature"], first["top_p"], first["n"]) == (
        2048,
        1.0,
        0.95,
        2,
    )
    assert (first["logprobs"], first["top_logprobs"], first["stream"], first["tools"]) == (
        True,
        5,
        False,
        1,
    )
    assert (first["prompt_tokens"], first["completion_tokens"], first["reasoning_tokens"]) == (
        120,
        2048,
        512,
    )
    assert first["finish_reason"] == "length"  # the first choice
    assert first["ip"] == "192.0.2.1" and first["user_agent"] == "openai-python/1.50.0"
    assert json.loads(first["extra"]) == {
        "request.seed": 42,
        "request.user": "end-user-7",
        "response.model": "gpt-4o-2024-08-06",
    }
    second = rows["chatcmpl-L2"]
    assert second["account_id"] == "acct_from_user"  # fallback: request.user
    assert second["ts"] == datetime.fromtimestamp(1767607300, UTC)  # fallback: created
    assert second["n_messages"] == 1 and second["system_prompt"] is None


def test_batch_api_output_lines(tmp_path, load, h):
    path = shutil.copy(h.fixtures / "openai_batch_output.jsonl", tmp_path / "batch.jsonl")
    table, summary, quarantine = load(path)
    rows = rows_by_id(table)
    assert sorted(rows) == ["chatcmpl-B1", "chatcmpl-B2"]
    one = rows["chatcmpl-B1"]
    assert (one["status"], one["account_id"], one["ip"]) == (200, "acct_batch", "198.51.100.7")
    assert one["prompt"] == "Capital of France?" and one["system_prompt"] == "Answer in one word."
    assert one["reasoning_tokens"] == 0 and one["finish_reason"] == "stop"
    assert one["model"] == "gpt-4o-mini"
    extra = json.loads(one["extra"])
    assert extra["custom_id"] == "task-1" and extra["id"] == "batch_req_001"
    assert extra["response.request_id"] == "req_8f1"
    assert extra["response.system_fingerprint"] == "fp_1"
    assert rows["chatcmpl-B2"]["prompt"] == "Capital of Germany?"  # request from `body`
    # an output line alone has no prompt: quarantined, with its line
    assert [(q["source"], q["reason"]) for q in quarantine] == [
        (f"{path}:3", "missing_field:prompt")
    ]
    assert summary.n_read == 3


def test_inline_request_body_with_metadata(tmp_path, load, h):
    record = {
        "request_id": "r1",
        "ts": 1767571200,
        "account_id": "a",
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function"}],
        "max_completion_tokens": 99,
        "seed": 1,
    }
    table, _, quarantine = load(h.write_jsonl(tmp_path / "e.jsonl", [record]))
    assert quarantine == []
    row = table.to_pylist()[0]
    assert (row["prompt"], row["tools"], row["max_tokens"]) == ("hi", 1, 99)
    assert json.loads(row["extra"]) == {"seed": 1}


@pytest.mark.parametrize(
    ("body", "prompt", "system"),
    [
        ({"prompt": "legacy completion"}, "legacy completion", None),
        ({"prompt": ["first", "second"]}, "second", None),
        ({"input": "responses api", "instructions": "be kind"}, "responses api", "be kind"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_text", "text": "items"}]}]},
            "items",
            None,
        ),
    ],
)
def test_other_request_kinds(body, prompt, system):
    fields, _ = map_openai({"request": {"model": "m", **body}})
    assert fields.get("prompt") == prompt
    assert fields.get("system_prompt") == system


def test_request_bodies_stored_as_json_text():
    record = {"request": json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}]})}
    assert is_openai(record)
    fields, _ = map_openai(record)
    assert fields["prompt"] == "x"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"request": {"messages": "not a list"}}, "bad_type:messages"),
        ({"request": {"messages": ["not an object"]}}, "bad_type:messages"),
        ({"request": {"messages": [{"role": "user", "content": 5}]}}, "bad_type:messages"),
        ({"request": {"tools": {"a": 1}}}, "bad_type:tools"),
        ({"request": "{broken", "response": {}}, "bad_type:request"),
        ({"response": [1]}, "bad_type:response"),
    ],
)
def test_malformed_bodies_are_bad_records(record, reason):
    with pytest.raises(BadRecord) as info:
        map_openai(record)
    assert info.value.reason == reason


def test_malformed_body_in_a_file_is_quarantined(tmp_path, load, h):
    path = h.write_jsonl(
        tmp_path / "e.jsonl",
        [h.event(0), {"request": {"messages": "x"}, "response": {}}, h.event(1)],
    )
    table, _, quarantine = load(path)
    assert table.num_rows == 2
    assert [(q["source"], q["reason"]) for q in quarantine] == [(f"{path}:2", "bad_type:messages")]


def test_flat_records_are_not_openai():
    assert not is_openai({"request_id": "r", "prompt": "p", "response": "text"})

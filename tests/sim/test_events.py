"""Every simulated event is a valid canonical event (contracts.md section 1)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pyarrow as pa

from distillwatch.schema import FIELD_NAMES, FIELD_TYPES, REQUIRED_FIELDS, TS_TYPE
from distillwatch.sim.models import load_models

PY_TYPES = {
    pa.string(): (str,),
    pa.int64(): (int,),
    pa.float64(): (float, int),
    pa.bool_(): (bool,),
    TS_TYPE: (str,),
}


def _parse_ts(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1] + "+00:00")


def test_every_event_has_all_fields_with_contract_types(dataset):
    assert len(dataset.events) > 10_000
    for event in dataset.events:
        assert set(FIELD_NAMES) <= set(event), set(FIELD_NAMES) - set(event)
        for name in REQUIRED_FIELDS:
            assert event[name] not in (None, ""), (name, event["request_id"])
        for name in FIELD_NAMES:
            value = event[name]
            if value is None:
                continue
            allowed = PY_TYPES[FIELD_TYPES[name]]
            assert isinstance(value, allowed), (name, value)
            if FIELD_TYPES[name] == pa.int64():
                assert not isinstance(value, bool), name


def test_timestamps_are_rfc3339_utc_sorted_and_inside_the_window(dataset):
    stamps = [_parse_ts(e["ts"]) for e in dataset.events]
    assert stamps == sorted(stamps)
    first, last = stamps[0], stamps[-1]
    assert first.date().isoformat() == "2026-11-02"
    assert (last - first).days < 7
    for event, ts in zip(dataset.events, stamps, strict=True):
        assert _parse_ts(event["account_created_at"]) <= ts


def test_request_ids_are_unique(dataset):
    ids = [e["request_id"] for e in dataset.events]
    assert len(set(ids)) == len(ids)


def test_token_accounting_follows_the_models(dataset):
    models = load_models()
    statuses = Counter(e["status"] for e in dataset.events)
    assert statuses[200] / len(dataset.events) > 0.97
    assert statuses[429] > 0
    for e in dataset.events:
        model = models[e["model"]]
        if e["status"] != 200:
            assert e["completion_tokens"] == 0 and e["finish_reason"] is None
            continue
        assert e["prompt_tokens"] >= len(e["prompt"]) // 4
        assert (e["reasoning_tokens"] is not None) == model.reasoning
        limit = min(e["max_tokens"] or model.max_output_tokens, model.max_output_tokens)
        if e["finish_reason"] == "length":
            assert e["completion_tokens"] >= limit
        if e["n"] == 1:
            assert e["completion_tokens"] <= limit
        if e["max_tokens"] is not None:
            assert e["max_tokens"] <= model.max_output_tokens
    reasons = Counter(e["finish_reason"] for e in dataset.events)
    assert reasons["stop"] > reasons["length"] > 0


def test_new_model_is_unused_before_release_and_adopted_after(dataset):
    models = load_models()
    new = next(m for m in models.values() if m.kind == "new")
    release = _parse_ts("2026-11-02T00:00:00Z").timestamp() + new.released_after_days * 86400
    on_new = [e for e in dataset.events if e["model"] == new.name]
    assert on_new
    assert all(_parse_ts(e["ts"]).timestamp() >= release for e in on_new)
    labels = {dataset.label(e) for e in on_new}
    assert labels == {"attack", "benign"}


def test_multi_turn_conversations_grow(dataset):
    by_conv: dict[str, list[int]] = {}
    for e in dataset.events:
        if e["conversation_id"]:
            by_conv.setdefault(e["conversation_id"], []).append(e["n_messages"])
    long = [v for v in by_conv.values() if len(v) > 1]
    assert long
    assert all(v == sorted(v) and len(set(v)) == len(v) for v in long)


def test_both_address_families_appear(dataset):
    ips = {e["ip"] for e in dataset.events}
    assert any(":" in ip for ip in ips) and any("." in ip for ip in ips)

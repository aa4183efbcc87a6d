"""The case store: decisions with who and when, history and current view, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from distillwatch.cases.store import open_case_store
from distillwatch.errors import UsageError

SCAN = "3f2a9c1b0d4e5f60"


@pytest.fixture
def store(tmp_path):
    s = open_case_store(tmp_path / "cases.db")
    yield s
    s.close()


def test_decision_is_stored_with_who_and_when_and_survives_reopening(tmp_path):
    before = datetime.now(UTC)
    with open_case_store(tmp_path / "cases.db") as store:
        d = store.decide(SCAN, "campaign", "cmp-1", "confirm", "ana", "proxy fleet")
    after = datetime.now(UTC)
    assert d.id == 1 and d.label == 1
    assert before - timedelta(microseconds=1) <= d.decided_at <= after
    assert d.decided_at.tzinfo is not None and d.decided_at.utcoffset() == timedelta(0)
    with open_case_store(f"sqlite:///{tmp_path / 'cases.db'}") as again:
        assert again.decisions() == [d]


def test_history_is_oldest_first_and_current_is_the_newest_per_subject(store):
    first = store.decide(SCAN, "account", "acct-1", "confirm", "ana", "")
    store.decide(SCAN, "campaign", "cmp-1", "escalate", "bob", "ask legal")
    last = store.decide(SCAN, "account", "acct-1", "dismiss", "carol", "eval researcher")
    other_scan = store.decide("other-scan", "account", "acct-9", "confirm", "ana", "")
    history = store.decisions(SCAN, "account", "acct-1")
    assert [h.decision for h in history] == ["confirm", "dismiss"]
    assert history[0] == first and history[-1] == last
    assert [d.id for d in store.decisions()] == [1, 2, 3, 4]
    assert [d.subject_id for d in store.decisions(subject_kind="campaign")] == ["cmp-1"]
    current = store.current(SCAN)
    assert set(current) == {("account", "acct-1"), ("campaign", "cmp-1")}
    assert current[("account", "acct-1")] == last and current[("account", "acct-1")].label == 0
    assert current[("campaign", "cmp-1")].label is None
    assert store.current()[("account", "acct-9")] == other_scan
    assert store.current("no-such-scan") == {}


def test_every_decision_and_record_is_in_the_audit_trail(store):
    store.decide(SCAN, "campaign", "cmp-1", "confirm", "ana", "proxy fleet")
    seq = store.record(
        "ana",
        "share.publish",
        "cmp-1",
        {"hub": "https://hub.example/taxii2/", "collection": "c1", "tlp": "amber", "objects": 12},
    )
    store.record("", "login.refused", "x" * 1000, {"remote": "127.0.0.1"})
    entries = store.audit()
    assert seq == 2 and [e.seq for e in entries] == [1, 2, 3]
    decide, publish, refused = entries
    assert (decide.actor, decide.action, decide.subject) == ("ana", "case.decide", "campaign:cmp-1")
    assert decide.detail["note"] == "proxy fleet" and decide.detail["decision_id"] == 1
    assert publish.detail == {
        "hub": "https://hub.example/taxii2/",
        "collection": "c1",
        "tlp": "amber",
        "objects": 12,
    }
    assert refused.actor == "-" and len(refused.subject) == 400
    assert publish.prev_hash == decide.hash and refused.prev_hash == publish.hash
    assert [e.seq for e in store.audit(limit=2)] == [2, 3]  # newest last
    assert store.head() == (3, refused.hash)
    report = store.verify()
    assert report.ok and report.entries == 3 and report.decisions == 1
    assert report.head_hash == refused.hash


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((SCAN, "actor", "a1", "confirm", "ana", ""), "subject kind must be one of campaign"),
        ((SCAN, "account", "a1", "approve", "ana", ""), "decision must be one of confirm"),
        ((SCAN, "account", "a1", "confirm", "  ", ""), "analyst's name is empty"),
        ((SCAN, "account", "", "confirm", "ana", ""), "account id is empty"),
        (("", "account", "a1", "confirm", "ana", ""), "scan id is empty"),
        ((SCAN, "account", "a" * 201, "confirm", "ana", ""), "201 characters long"),
        (("s" * 201, "account", "a1", "confirm", "ana", ""), "scan id is 201 characters"),
        ((SCAN, "account", "a1", "confirm", "n" * 201, ""), "analyst's name is 201"),
        ((SCAN, "account", "a1", "confirm", "ana", "x" * 2001), "note is 2001 characters"),
    ],
)
def test_invalid_decisions_are_refused_and_nothing_is_stored(store, args, message):
    with pytest.raises(UsageError, match=message) as info:
        store.decide(*args)
    assert "\n" not in str(info.value)
    assert store.decisions() == [] and store.audit() == []


def test_limits_are_inclusive(store):
    d = store.decide("s" * 200, "account", "a" * 200, "confirm", "n" * 200, "x" * 2000)
    assert store.decisions() == [d] and len(d.note) == 2000


@pytest.mark.parametrize(
    ("action", "detail", "message"),
    [
        ("", {}, "audit action is empty"),
        ("a" * 65, {}, "65 characters"),
        ("case.decide", {}, "written by decide"),
        ("share.publish", {"when": datetime(2026, 1, 1)}, "JSON-ready"),
        ("share.publish", {1: "x"}, "string keys"),
        ("share.publish", {"big": "x" * 20_001}, "characters as JSON"),
    ],
)
def test_invalid_records_are_refused(store, action, detail, message):
    with pytest.raises(UsageError, match=message):
        store.record("ana", action, "s", detail)
    assert store.audit() == []


def test_unknown_subject_kind_filter_is_refused(store):
    with pytest.raises(UsageError, match="subject kind"):
        store.decisions(subject_kind="campaigns")


def test_unusable_locations_are_one_line_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no case store at"):
        open_case_store(tmp_path / "absent.db", create=False)
    assert not (tmp_path / "absent.db").exists()
    with pytest.raises(UsageError, match="cannot open case store"):
        open_case_store(tmp_path / "no-such-dir" / "cases.db")
    not_db = tmp_path / "result.json.gz"
    not_db.write_bytes(b"\x1f\x8b" + b"not a database" * 100)
    with pytest.raises(UsageError, match="cannot open case store") as info:
        open_case_store(not_db)
    assert "\n" not in str(info.value)
    with pytest.raises(UsageError, match="cannot use case store"):
        open_case_store("nosuchdialect://x")

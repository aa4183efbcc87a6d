"""The audit log: what is recorded, and that tampering is found (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import text

from distillwatch.hub.audit import AuditEvent, AuditLog, head, verify_chain
from distillwatch.hub.storage import open_store


def test_reads_writes_and_refusals_are_recorded(hub, stix):
    coll = hub.colls["shared"]
    hub.post("shared", [stix.indicator(), stix.indicator(n=2)])
    hub.call("GET", hub.objects_url("shared"), "bob")
    hub.call("GET", hub.objects_url("shared"), None)
    hub.call("POST", hub.objects_url("shared"), "carol", json={"objects": [stix.indicator()]})
    hub.call("GET", hub.objects_url("alice"), "bob")
    store = open_store(hub.db_url)
    try:
        entries = AuditLog(store).entries()
        report = verify_chain(store)
    finally:
        store.close()
    got = [(e["member"], e["method"], e["collection"], e["count"], e["status"]) for e in entries]
    assert got == [
        ("alice", "POST", coll, 2, 202),
        ("bob", "GET", coll, 2, 200),
        ("-", "GET", coll, 0, 401),
        ("carol", "POST", coll, 0, 403),
        ("bob", "GET", hub.colls["alice"], 0, 404),
    ]
    assert entries[0]["outcome"] == "2 accepted, 0 refused"
    assert "credentials are missing" in entries[2]["outcome"]
    assert [e["seq"] for e in entries] == list(range(1, 6))
    assert all(e["path"].startswith("/default/collections/") for e in entries)
    assert report.ok and report.entries == 5


def _log_with(db_url, n):
    store = open_store(db_url)
    log = AuditLog(store)
    for i in range(n):
        log.append(AuditEvent(f"m{i % 2}", "GET", f"/default/collections/c/objects/?n={i}", "c", i))
    return store


def test_verify_passes_then_finds_an_altered_entry(db_url):
    store = _log_with(db_url, 6)
    try:
        before = verify_chain(store)
        assert before.ok and before.entries == 6 and before.head_hash == head(store)[1]
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE hub_audit SET count = 999 WHERE seq = 3"))
        after = verify_chain(store)
        assert not after.ok and after.seq == 3 and "altered" in after.problem
    finally:
        store.close()


def test_verify_finds_a_deleted_entry(db_url):
    store = _log_with(db_url, 6)
    try:
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM hub_audit WHERE seq = 4"))
        report = verify_chain(store)
        assert not report.ok and report.seq == 4 and "missing" in report.problem
    finally:
        store.close()


def test_verify_finds_deleted_newest_entries_and_a_rewritten_middle(db_url):
    store = _log_with(db_url, 5)
    try:
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM hub_audit WHERE seq >= 4"))
        report = verify_chain(store)
        assert not report.ok and "newest entries were deleted" in report.problem
    finally:
        store.close()
    store = _log_with(db_url + "", 0)
    try:
        log = AuditLog(store)
        log.append(AuditEvent("x", "GET", "/after"))
        # the appended entry follows the head, not the truncated rows: still flagged
        assert not verify_chain(store).ok
    finally:
        store.close()

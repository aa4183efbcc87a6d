"""The audit trail finds tampering done to the SQLite file directly, and names the entry."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from distillwatch.cases.store import open_case_store

SCAN = "3f2a9c1b0d4e5f60"


def _filled(path: Path):
    """Seven entries: decisions 1-5 are entries 1, 2, 4, 5, 7; records are entries 3 and 6."""
    store = open_case_store(path)
    store.decide(SCAN, "campaign", "cmp-1", "confirm", "ana", "proxy fleet")
    store.decide(SCAN, "account", "acct-1", "dismiss", "bob", "eval job")
    store.record("ana", "share.preview", "cmp-1", {"tlp": "amber", "objects": 12})
    store.decide(SCAN, "account", "acct-2", "confirm", "ana", "same card")
    store.decide(SCAN, "account", "acct-3", "escalate", "carol", "")
    store.record("ana", "share.publish", "cmp-1", {"tlp": "amber", "objects": 12})
    store.decide(SCAN, "account", "acct-1", "confirm", "bob", "changed my mind")
    assert store.verify().ok
    return store


def _sql(path: Path, statement: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(statement)
    conn.close()


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cases.db"
    store = _filled(path)
    yield path, store
    store.close()


def test_intact_trail_verifies(db):
    _, store = db
    report = store.verify()
    assert (report.ok, report.entries, report.decisions, report.problem) == (True, 7, 5, "")
    assert report.head_hash == store.head()[1]


def test_a_decisions_note_edited_in_the_file(db):
    path, store = db
    _sql(path, "UPDATE case_decisions SET note = 'nothing to see' WHERE id = 2")
    report = store.verify()
    assert not report.ok and report.seq == 2
    assert "decision 2 differs from its entry 2 (note)" in report.problem


def test_an_entrys_detail_edited_in_the_file(db):
    path, store = db
    _sql(path, "UPDATE case_audit SET detail = replace(detail, 'amber', 'clear') WHERE seq = 3")
    report = store.verify()
    assert not report.ok and report.seq == 3 and "entry 3 was altered" in report.problem


def test_a_decision_and_its_entry_edited_together(db):
    # Editing the row and its entry alike still breaks the entry's hash.
    path, store = db
    _sql(path, "UPDATE case_decisions SET decision = 'dismiss' WHERE id = 3")
    _sql(path, "UPDATE case_audit SET detail = replace(detail, 'confirm', 'dismiss') WHERE seq = 4")
    report = store.verify()
    assert not report.ok and report.seq == 4 and "altered" in report.problem


def test_a_middle_entry_deleted(db):
    path, store = db
    _sql(path, "DELETE FROM case_audit WHERE seq = 4")
    report = store.verify()
    assert not report.ok and report.seq == 4 and "entry 4 is missing" in report.problem


def test_the_newest_entry_deleted(db):
    path, store = db
    _sql(path, "DELETE FROM case_audit WHERE seq = 7")
    report = store.verify()
    assert not report.ok and report.seq == 7
    assert "newest entries were deleted" in report.problem


def test_the_newest_entries_and_the_head_rewound_together(db):
    # The chain itself is consistent then; the decision left behind gives it away.
    path, store = db
    entry6 = store.audit()[-2]
    _sql(path, "DELETE FROM case_audit WHERE seq = 7")
    _sql(path, f"UPDATE case_audit_head SET seq = 6, hash = '{entry6.hash}'")
    report = store.verify()
    assert not report.ok and "decision 5 has no audit entry" in report.problem


def test_a_decision_row_deleted(db):
    path, store = db
    _sql(path, "DELETE FROM case_decisions WHERE id = 4")
    report = store.verify()
    assert not report.ok and report.seq == 5
    assert "decision 4 recorded by entry 5 is missing" in report.problem


def test_a_decision_row_inserted_behind_the_stores_back(db):
    path, store = db
    _sql(
        path,
        "INSERT INTO case_decisions (scan_id, subject_kind, subject_id, decision, analyst, "
        f"note, decided_us) VALUES ('{SCAN}', 'account', 'acct-9', 'dismiss', 'mallory', '', 1)",
    )
    report = store.verify()
    assert not report.ok and "decision 6 has no audit entry" in report.problem


def test_a_deleted_newest_decision_id_is_not_reused(db):
    # Otherwise a new decision would take the deleted one's id and hide the deletion.
    path, store = db
    _sql(path, "DELETE FROM case_decisions WHERE id = 5")
    assert store.decide(SCAN, "account", "acct-4", "confirm", "ana", "").id == 6
    report = store.verify()
    assert not report.ok and "decision 5 recorded by entry 7 is missing" in report.problem

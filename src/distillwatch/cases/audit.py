"""The case store's audit trail: what an entry is, and how the chain is checked.

Every write to the case store appends one entry: who (``actor``), what (``action``, e.g.
``case.decide``, ``share.publish``), on what (``subject``) and the details (a JSON-ready
dict). Entries are hash-chained like the hub's audit log (:mod:`distillwatch.hashchain`):
an entry's hash is ``sha256(prev_hash + canonical_json(entry))`` over every field except
the two hashes, the first one follows 64 zeros, and a head row keeps the newest seq and
hash so deleting the newest entries is caught too.

A decision is written with its ``case.decide`` entry in the same transaction, and the entry
holds everything the decision row holds, so :func:`verify_chain` also finds a decision row
edited, deleted or inserted behind the store's back. Like the hub's, the chain proves the
trail was not edited *without recomputing the hashes*: copy the head hash elsewhere
(``distillwatch cases verify`` prints it) to anchor it.

This module holds no database code: :mod:`.store` reads the rows and hands them here.

>>> e1 = seal(AuditEntry(1, "2026-11-29T10:00:00.000000Z", "ana", "share.preview", "c1", {}),
...           GENESIS)
>>> e2 = seal(AuditEntry(2, "2026-11-29T10:01:00.000000Z", "-", "login.refused", "", {"n": 1}),
...           e1.hash)
>>> chain = [e1, e2]
>>> verify_chain(chain, (2, chain[-1].hash), {}).ok
True
>>> verify_chain(chain[1:], (2, chain[-1].hash), {}).problem
'entry 1 is missing (next is 2)'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from distillwatch.hashchain import GENESIS, entry_hash, link_problem

__all__ = [
    "DECIDE",
    "GENESIS",
    "AuditEntry",
    "ChainReport",
    "decision_detail",
    "format_ts",
    "seal",
    "verify_chain",
]

#: the action of the entry written with each decision
DECIDE = "case.decide"


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the trail, with its place in the chain."""

    seq: int
    ts: str  # UTC, e.g. 2026-11-29T10:00:00.000000Z
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str = ""
    hash: str = ""

    def fields(self) -> dict[str, Any]:
        """What the hash covers: every field but the two hashes."""
        return {
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ChainReport:
    """The result of :func:`verify_chain`: ``ok``, entries and decisions checked, the head
    hash reached and the first problem (with the seq of the entry it concerns, if any)."""

    ok: bool
    entries: int
    head_hash: str
    problem: str = ""
    seq: int | None = None
    decisions: int = 0


def format_ts(when: datetime) -> str:
    """A datetime as the trail's UTC timestamp text (microseconds, ``Z``).

    >>> format_ts(datetime(2026, 11, 29, 10, 0, 0, 5, tzinfo=UTC))
    '2026-11-29T10:00:00.000005Z'
    """
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seal(entry: AuditEntry, prev_hash: str) -> AuditEntry:
    """*entry* placed after the entry whose hash is *prev_hash*."""
    digest = entry_hash(prev_hash, entry.fields())
    return dataclasses.replace(entry, prev_hash=prev_hash, hash=digest)


def decision_detail(
    decision_id: int,
    scan_id: str,
    subject_kind: str,
    subject_id: str,
    decision: str,
    note: str,
    decided_at: str,
) -> dict[str, Any]:
    """The ``detail`` of a decision's entry: every column of its row but the analyst (the
    entry's actor)."""
    return {
        "decision_id": decision_id,
        "scan_id": scan_id,
        "subject_kind": subject_kind,
        "subject_id": subject_id,
        "decision": decision,
        "note": note,
        "decided_at": decided_at,
    }


def _decision_problem(entry: AuditEntry, row: tuple[str, dict[str, Any]] | None) -> str:
    """Why the decision row does not match its entry ('' when it does)."""
    decision_id = entry.detail.get("decision_id")
    if row is None:
        return f"decision {decision_id} recorded by entry {entry.seq} is missing from the store"
    analyst, detail = row
    changed = sorted(
        k for k in set(detail) | set(entry.detail) if detail.get(k) != entry.detail.get(k)
    )
    if analyst != entry.actor:
        changed.insert(0, "analyst")
    if changed:
        return (
            f"decision {decision_id} differs from its entry {entry.seq} "
            f"({', '.join(changed)}): it was altered after it was written"
        )
    return ""


def verify_chain(
    entries: Iterable[AuditEntry],
    head: tuple[int, str],
    decisions: Mapping[int, tuple[str, dict[str, Any]]],
) -> ChainReport:
    """Check *entries* (in seq order) against each other, the *head* row ``(seq, hash)``
    and the stored *decisions* (``id -> (analyst, decision_detail(...))``).

    Reports the first entry altered, missing or out of place, newest entries deleted, a
    decision row that differs from its entry or is missing, and a decision row no entry
    recorded.
    """
    prev, expected, count = GENESIS, 1, 0
    unseen = dict(decisions)
    for entry in entries:
        count += 1
        broken = link_problem(
            expected, prev, entry.seq, entry.prev_hash, entry.hash, entry.fields()
        )
        if broken is not None:
            return ChainReport(False, count, prev, *broken)
        if entry.action == DECIDE:
            decision_id = entry.detail.get("decision_id")
            row = unseen.pop(decision_id, None) if isinstance(decision_id, int) else None
            problem = _decision_problem(entry, row)
            if problem:
                return ChainReport(False, count, prev, problem, entry.seq)
        prev, expected = entry.hash, expected + 1
    checked = len(decisions) - len(unseen)
    if head != (expected - 1, prev):
        problem = (
            f"the trail ends at entry {expected - 1} but its head says {head[0]}: "
            "newest entries were deleted or the head was altered"
        )
        return ChainReport(False, count, prev, problem, expected, checked)
    if unseen:
        first = min(unseen)
        problem = f"decision {first} has no audit entry: it was added outside the case store"
        return ChainReport(False, count, prev, problem, None, checked)
    return ChainReport(True, count, prev, decisions=checked)

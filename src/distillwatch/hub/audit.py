"""The hub's append-only audit log: one hash-chained entry per request, refused ones too.

Each entry records who (member name, ``-`` when unauthenticated), when, the method and path
(with query), the collection, how many objects, the HTTP status and the outcome. Its hash is
``sha256(prev_hash + canonical_json(entry))``, where the canonical JSON has sorted keys,
no spaces and holds every field except the two hashes; the first entry's ``prev_hash`` is
64 zeros. A head row keeps the newest seq and hash, so deleting the newest entries is
caught as well as altering or deleting any other. :func:`verify_chain` walks the chain.

The chain proves the log was not edited *without recomputing the hashes*; someone with
write access to the database could rewrite it whole. Copy :func:`head` somewhere else
(``distillwatch hub audit verify`` prints it) to anchor it.

>>> from distillwatch.hub.storage import open_store
>>> store = open_store("sqlite://")
>>> log = AuditLog(store)
>>> log.append(AuditEvent("acme", "GET", "/taxii2/", status=200, outcome="ok"))
1
>>> verify_chain(store).ok
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from distillwatch.hashchain import GENESIS as GENESIS
from distillwatch.hashchain import canonical as canonical
from distillwatch.hashchain import entry_hash as entry_hash
from distillwatch.hashchain import link_problem
from distillwatch.hub.storage import AuditHeadRow, AuditRow, HubStore, format_us, now_us

_BATCH = 2000


@dataclass(frozen=True)
class AuditEvent:
    """What one request did, as the TAXII layer reports it."""

    member: str
    method: str
    path: str
    collection: str = ""
    count: int = 0
    status: int = 200
    outcome: str = ""


@dataclass(frozen=True)
class ChainReport:
    """The result of :func:`verify_chain`: ``ok``, entries checked, and the first problem."""

    ok: bool
    entries: int
    head_hash: str
    problem: str = ""
    seq: int | None = None


def _fields(row: AuditRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "ts": row.ts,
        "member": row.member,
        "method": row.method,
        "path": row.path,
        "collection": row.collection,
        "count": row.count,
        "status": row.status,
        "outcome": row.outcome,
    }


class AuditLog:
    """Appends entries to the chain of *store*."""

    def __init__(self, store: HubStore) -> None:
        self.store = store

    def append(self, event: AuditEvent) -> int:
        """Write one entry; return its seq."""
        with self.store.writing() as s:
            head = s.execute(
                select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()
            ).scalar()
            if head is None:
                head = AuditHeadRow(id=1, seq=0, hash=GENESIS)
                s.add(head)
            seq = head.seq + 1
            entry: dict[str, Any] = {
                "seq": seq,
                "ts": format_us(now_us()),
                "member": event.member[:100],
                "method": event.method[:10],
                "path": event.path[:2000],
                "collection": event.collection[:64],
                "count": int(event.count),
                "status": int(event.status),
                "outcome": event.outcome[:2000],
            }
            digest = entry_hash(head.hash, entry)
            s.add(AuditRow(**entry, prev_hash=head.hash, hash=digest))
            head.seq, head.hash = seq, digest
            return seq

    def entries(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest *limit* entries, oldest first, with their hashes."""
        with self.store.reading() as s:
            rows = s.execute(select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit)).scalars()
            out = [{**_fields(r), "prev_hash": r.prev_hash, "hash": r.hash} for r in rows]
        return out[::-1]


def head(store: HubStore) -> tuple[int, str]:
    """(seq, hash) of the newest entry; (0, 64 zeros) for an empty log."""
    with store.reading() as s:
        row = s.get(AuditHeadRow, 1)
        return (0, GENESIS) if row is None else (row.seq, row.hash)


def verify_chain(store: HubStore) -> ChainReport:
    """Recompute every hash in seq order; report the first altered, missing or extra entry."""
    prev, expected, count = GENESIS, 1, 0
    with store.reading() as s:
        head_row = s.get(AuditHeadRow, 1)
        result = s.execute(
            select(AuditRow).order_by(AuditRow.seq).execution_options(yield_per=_BATCH)
        )
        try:
            for row in result.scalars():
                count += 1
                broken = link_problem(
                    expected, prev, row.seq, row.prev_hash, row.hash, _fields(row)
                )
                if broken is not None:
                    return ChainReport(False, count, prev, *broken)
                prev, expected = row.hash, expected + 1
        finally:
            result.close()
    head_seq, head_hash = (0, GENESIS) if head_row is None else (head_row.seq, head_row.hash)
    if (head_seq, head_hash) != (expected - 1, prev):
        return ChainReport(
            False,
            count,
            prev,
            f"the log ends at entry {expected - 1} but its head says {head_seq}: "
            "newest entries were deleted or the head was altered",
            expected,
        )
    return ChainReport(True, count, prev)

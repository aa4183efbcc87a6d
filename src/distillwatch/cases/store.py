"""The case store: analysts' decisions on scan results, with who and when, and the audit trail.

A SQLAlchemy 2 database: a SQLite file by default (a plain path), any SQLAlchemy URL
otherwise (``postgresql+psycopg://...`` is meant to work later; tables are made with
``create_all``). Three tables, prefixed ``case_``: the decisions, the hash-chained audit
trail (:mod:`.audit`) and its head row.

Writes are safe from many threads (the console serves requests from threads) and from
other processes (a CLI next to the console): a lock serializes this process's writers, and
on SQLite every write transaction starts with ``BEGIN IMMEDIATE`` (it takes the write lock
before reading the chain's head), the file is in WAL mode (readers never wait) and a busy
writer is waited for up to 30 s. A decision and its audit entry are one transaction.

>>> store = open_case_store("sqlite://")
>>> d = store.decide("3f2a9c1b0d4e5f60", "campaign", "cmp-0001", "confirm", "ana", "proxy fleet")
>>> d.id, d.label, store.current()[("campaign", "cmp-0001")].analyst
(1, 1, 'ana')
>>> store.record("ana", "share.preview", "cmp-0001", {"tlp": "amber", "objects": 12})
2
>>> report = store.verify()
>>> report.ok, report.entries, report.decisions
(True, 2, 1)
>>> store.close()
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import (
    BigInteger,
    Engine,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

from distillwatch.cases.audit import (
    DECIDE,
    GENESIS,
    AuditEntry,
    ChainReport,
    decision_detail,
    format_ts,
    seal,
    verify_chain,
)
from distillwatch.cases.model import DECISIONS, SUBJECT_KINDS, Decision
from distillwatch.errors import OutputError, UsageError
from distillwatch.hashchain import canonical

__all__ = [
    "MAX_ID",
    "MAX_NOTE",
    "CaseStore",
    "make_case_engine",
    "open_case_store",
    "store_url",
]

#: longest scan id, subject id, analyst or actor name accepted
MAX_ID = 200
#: longest note accepted
MAX_NOTE = 2000
#: longest audit action name, subject text and detail (canonical JSON) accepted
MAX_ACTION = 64
MAX_SUBJECT = 400
MAX_DETAIL = 20_000
#: seconds a writer waits for another process's write transaction (SQLite busy timeout)
BUSY_TIMEOUT = 30
_BATCH = 2000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------- tables


class Base(DeclarativeBase):
    """Declarative base of the case store's tables (all prefixed ``case_``)."""


class DecisionRow(Base):
    __tablename__ = "case_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[str] = mapped_column(String(MAX_ID))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(MAX_ID))
    decision: Mapped[str] = mapped_column(String(16))
    analyst: Mapped[str] = mapped_column(String(MAX_ID))
    note: Mapped[str] = mapped_column(Text)
    decided_us: Mapped[int] = mapped_column(BigInteger)  # microseconds since the epoch, UTC

    __table_args__ = (
        Index("ix_case_decisions_subject", "scan_id", "subject_kind", "subject_id"),
        # never reuse the id of a deleted row: the trail names decisions by id
        {"sqlite_autoincrement": True},
    )


class AuditRow(Base):
    __tablename__ = "case_audit"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(MAX_ID))
    action: Mapped[str] = mapped_column(String(MAX_ACTION))
    subject: Mapped[str] = mapped_column(String(MAX_SUBJECT))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """One row (id 1): the seq and hash of the newest audit entry."""

    __tablename__ = "case_audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


# ---------------------------------------------------------------- engine


def store_url(path_or_url: str | Path) -> str:
    """The SQLAlchemy URL of a case store: a plain path means a SQLite file."""
    text = str(path_or_url)
    return text if "://" in text else f"sqlite:///{Path(text).expanduser()}"


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN (pysqlite's own is deferred and implicit).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    write = conn.get_execution_options().get("case_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_case_engine(url: str) -> Engine:
    """An engine for the case store at *url* (SQLite: WAL, busy timeout, and
    ``BEGIN IMMEDIATE`` for writes marked ``case_write``); UsageError for a bad URL."""
    try:
        if url.startswith("sqlite"):
            memory = url in ("sqlite://", "sqlite:///:memory:")
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT},
                poolclass=StaticPool if memory else None,
            )
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        return create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise UsageError(
            f"cannot use case store {url!r}: {exc}; give a file path (case.db) or a database "
            "URL such as sqlite:///case.db"
        ) from exc


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def open_case_store(path_or_url: str | Path, *, create: bool = True) -> CaseStore:
    """Open the case store at *path_or_url* (a file path means SQLite), creating its tables
    if missing. With ``create=False`` a missing SQLite file is refused instead of created.

    Raises :class:`~distillwatch.errors.UsageError` when it cannot be opened.
    """
    url = store_url(path_or_url)
    if not create and url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        file = Path(url.removeprefix("sqlite:///"))
        if not file.is_file():
            raise UsageError(
                f"no case store at {file}: check --db, or record a decision first "
                "(`distillwatch cases decide ...`)"
            )
    engine = make_case_engine(url)
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as session, session.begin():
            if session.get(AuditHeadRow, 1) is None:
                session.add(AuditHeadRow(id=1, seq=0, hash=GENESIS))
    except IntegrityError:
        pass  # another process created the head row first
    except SQLAlchemyError as exc:
        engine.dispose()
        raise UsageError(
            f"cannot open case store {path_or_url}: {_first_line(exc)}; give a writable "
            "path to a case store file (created if missing) or a database URL"
        ) from exc
    return CaseStore(engine)


# ---------------------------------------------------------------- the store


def _us(when: datetime) -> int:
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _when(us: int) -> datetime:
    seconds, micros = divmod(us, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)


def _decision(row: DecisionRow) -> Decision:
    return Decision(
        scan_id=row.scan_id,
        subject_kind=row.subject_kind,
        subject_id=row.subject_id,
        decision=row.decision,
        analyst=row.analyst,
        note=row.note,
        decided_at=_when(row.decided_us),
        id=row.id,
    )


def _row_detail(row: DecisionRow) -> dict[str, Any]:
    return decision_detail(
        row.id,
        row.scan_id,
        row.subject_kind,
        row.subject_id,
        row.decision,
        row.note,
        format_ts(_when(row.decided_us)),
    )


def _entry(row: AuditRow) -> AuditEntry:
    try:
        detail = json.loads(row.detail)
    except ValueError:
        detail = {"unreadable": row.detail}
    if not isinstance(detail, dict):
        detail = {"unreadable": row.detail}
    return AuditEntry(
        row.seq, row.ts, row.actor, row.action, row.subject, detail, row.prev_hash, row.hash
    )


def _check_text(what: str, value: str, limit: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"the {what} is empty: give one")
    if len(value) > limit:
        raise UsageError(f"the {what} is {len(value)} characters long; keep it to {limit} or fewer")


def _check_choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UsageError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")


class CaseStore:
    """Decisions and the audit trail. Build it with :func:`open_case_store`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: serializes the writers of this process
        self.write_lock = threading.RLock()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        engine = self.engine.execution_options(case_write=True)
        try:
            with self.write_lock, Session(engine) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise OutputError(
                f"cannot write to the case store: {_first_line(exc)}; check that the database "
                "is writable and not held by another program, then retry"
            ) from exc

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        try:
            with Session(self.engine) as session:
                yield session
        except SQLAlchemyError as exc:
            raise UsageError(f"cannot read the case store: {_first_line(exc)}") from exc

    def _append(
        self, s: Session, ts: str, actor: str, action: str, subject: str, detail: dict[str, Any]
    ) -> int:
        """Add one audit entry inside the write transaction *s*; return its seq."""
        head = s.execute(
            select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()
        ).scalar()
        if head is None:  # the head row of a store made before it was created at open
            head = AuditHeadRow(id=1, seq=0, hash=GENESIS)
            s.add(head)
        # stored as canonical JSON: what is read back is what was hashed
        detail = json.loads(canonical(detail))
        entry = seal(AuditEntry(head.seq + 1, ts, actor, action, subject, detail), head.hash)
        s.add(
            AuditRow(
                seq=entry.seq,
                ts=entry.ts,
                actor=entry.actor,
                action=entry.action,
                subject=entry.subject,
                detail=canonical(entry.detail),
                prev_hash=entry.prev_hash,
                hash=entry.hash,
            )
        )
        head.seq, head.hash = entry.seq, entry.hash
        return entry.seq

    # -- decisions -------------------------------------------------------------------------

    def decide(
        self,
        scan_id: str,
        subject_kind: str,
        subject_id: str,
        decision: str,
        analyst: str,
        note: str = "",
    ) -> Decision:
        """Store an analyst's decision on a campaign or account of scan *scan_id*, now, with
        its audit entry; return it (with its id).

        Raises :class:`~distillwatch.errors.UsageError` for an unknown subject kind or
        decision, an empty analyst or id, an id or name over 200 characters or a note over
        2,000 (nothing is stored then).
        """
        _check_text("scan id", scan_id, MAX_ID)
        _check_choice("the subject kind", subject_kind, SUBJECT_KINDS)
        _check_text(f"{subject_kind} id", subject_id, MAX_ID)
        _check_choice("the decision", decision, DECISIONS)
        _check_text("analyst's name", analyst, MAX_ID)
        if len(note) > MAX_NOTE:
            raise UsageError(f"the note is {len(note)} characters; keep it to {MAX_NOTE} or fewer")
        now = datetime.now(UTC)
        with self._writing() as s:
            row = DecisionRow(
                scan_id=scan_id,
                subject_kind=subject_kind,
                subject_id=subject_id,
                decision=decision,
                analyst=analyst,
                note=note,
                decided_us=_us(now),
            )
            s.add(row)
            s.flush()
            detail = _row_detail(row)
            self._append(
                s, detail["decided_at"], analyst, DECIDE, f"{subject_kind}:{subject_id}", detail
            )
            return _decision(row)

    def decisions(
        self,
        scan_id: str | None = None,
        subject_kind: str | None = None,
        subject_id: str | None = None,
    ) -> list[Decision]:
        """Every decision matching the filters (None: any), oldest first: the history."""
        stmt = select(DecisionRow).order_by(DecisionRow.id)
        if scan_id is not None:
            stmt = stmt.where(DecisionRow.scan_id == scan_id)
        if subject_kind is not None:
            _check_choice("the subject kind", subject_kind, SUBJECT_KINDS)
            stmt = stmt.where(DecisionRow.subject_kind == subject_kind)
        if subject_id is not None:
            stmt = stmt.where(DecisionRow.subject_id == subject_id)
        with self._reading() as s:
            return [_decision(r) for r in s.execute(stmt).scalars()]

    def current(self, scan_id: str | None = None) -> dict[tuple[str, str], Decision]:
        """The newest decision per ``(subject_kind, subject_id)`` of scan *scan_id* (None:
        of every scan, the newest across scans winning)."""
        return {(d.subject_kind, d.subject_id): d for d in self.decisions(scan_id)}

    # -- the audit trail -------------------------------------------------------------------

    def record(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
        """Append an audit entry for an action other than a decision (e.g. ``share.publish``
        with the hub URL, collection, TLP and object count); return its seq.

        *actor* and *subject* are cut to 200 and 400 characters (so a refused request with
        an absurd name is still recorded; an empty actor is ``-``). Raises
        :class:`~distillwatch.errors.UsageError` for an empty or over-long *action*, an
        action reserved for decisions, or a *detail* that is not a JSON-ready dict with
        string keys (at most 20,000 characters as JSON).
        """
        _check_text("audit action", action, MAX_ACTION)
        if action == DECIDE:
            raise UsageError(f"{DECIDE} entries are written by decide(); record another action")
        if not isinstance(detail, dict) or not all(isinstance(k, str) for k in detail):
            raise UsageError("an audit entry's detail must be a dict with string keys")
        try:
            text = canonical(detail)
        except (TypeError, ValueError) as exc:
            raise UsageError(
                f"an audit entry's detail must be JSON-ready (str, numbers, bools, None, lists, "
                f"dicts): {exc}"
            ) from exc
        if len(text) > MAX_DETAIL:
            raise UsageError(
                f"an audit entry's detail is {len(text)} characters as JSON; keep it to "
                f"{MAX_DETAIL} or fewer"
            )
        actor = (actor or "-")[:MAX_ID]
        with self._writing() as s:
            return self._append(
                s, format_ts(datetime.now(UTC)), actor, action, subject[:MAX_SUBJECT], detail
            )

    def audit(self, limit: int = 100) -> list[AuditEntry]:
        """The newest *limit* entries with their hashes, oldest first (newest last)."""
        with self._reading() as s:
            rows = s.execute(select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit))
            out = [_entry(r) for r in rows.scalars()]
        return out[::-1]

    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the newest entry; ``(0, 64 zeros)`` for an empty trail."""
        with self._reading() as s:
            row = s.get(AuditHeadRow, 1)
            return (0, GENESIS) if row is None else (row.seq, row.hash)

    def verify(self) -> ChainReport:
        """Recompute the whole chain and compare every decision row with its entry; report
        the first entry altered, missing or deleted from the end, and the first decision
        edited, deleted or added outside the store (see :func:`.audit.verify_chain`)."""
        with self._reading() as s:
            head_row = s.get(AuditHeadRow, 1)
            head = (0, GENESIS) if head_row is None else (head_row.seq, head_row.hash)
            decisions = {
                r.id: (r.analyst, _row_detail(r)) for r in s.execute(select(DecisionRow)).scalars()
            }
            result = s.execute(
                select(AuditRow).order_by(AuditRow.seq).execution_options(yield_per=_BATCH)
            )
            try:
                return verify_chain((_entry(r) for r in result.scalars()), head, decisions)
            finally:
                result.close()

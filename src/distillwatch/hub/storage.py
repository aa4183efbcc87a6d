"""The hub's database: SQLAlchemy 2 tables and :class:`HubStore`, the only code that queries them.

Runs on SQLite (the default, one hub process per file) and on PostgreSQL
(``postgresql+psycopg://...``); tables are made with ``create_all`` by :func:`open_store`.

Timestamps are stored as integer microseconds since the epoch (``*_us`` columns), so they
order and compare the same way on every database. An object row's ``date_added_us`` is
unique and strictly increasing per collection: it is allocated from the collection row's
``last_added_us`` inside the write transaction, with the collection row locked (``SELECT
... FOR UPDATE`` on PostgreSQL, a process-wide lock for SQLite). Each row also carries
whether it is the first and the latest version of its object in the collection, so
``match[version]=last`` is an indexed filter, not a group-by.

>>> store = open_store("sqlite://")
>>> coll = store.add_collection("default", "campaigns", "")
>>> store.add_member("acme", "identity--6b7a9f1c-3b57-4d3e-9a3e-2a3b3f6c9a11", "0" * 64)
1
>>> store.set_grant("acme", coll, can_read=True, can_write=False)
>>> [(c.title, c.can_read, c.can_write) for c in store.collections_for(1, "default")]
[('campaigns', True, False)]
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

from distillwatch.errors import HubError

#: parameters per ``IN (...)`` list; SQLite allows 32766 variables, PostgreSQL 65535
_CHUNK = 500
_TS_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- timestamps ----------------------------------------------------------------------------


def now_us() -> int:
    """The current time in integer microseconds since the epoch."""
    return time.time_ns() // 1000


def format_us(us: int) -> str:
    """Microseconds since the epoch as a STIX/TAXII timestamp with microsecond precision.

    >>> format_us(1_767_225_600_000_001)
    '2026-01-01T00:00:00.000001Z'
    """
    seconds, micros = divmod(us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros:06d}Z"


def parse_timestamp(text: str) -> int:
    """A STIX/TAXII timestamp (``YYYY-MM-DDTHH:MM:SS[.fraction]Z``) in microseconds.

    Digits beyond the microsecond are dropped. Raises ``ValueError`` for anything else.

    >>> parse_timestamp("2026-01-01T00:00:00.5Z")
    1767225600500000
    """
    m = _TS_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"not a UTC timestamp like 2026-01-31T12:00:00.000Z: {text!r}")
    y, mo, d, h, mi, s, frac = m.groups()
    when = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=UTC)
    micros = int((frac or "0")[:6].ljust(6, "0"))
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + micros


def datetime_us(value: datetime) -> int:
    """An aware (or naive UTC) datetime in microseconds since the epoch."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# -- tables --------------------------------------------------------------------------------


class Base(DeclarativeBase):
    """Declarative base of the hub's tables (all prefixed ``hub_``)."""


class ApiRootRow(Base):
    __tablename__ = "hub_api_roots"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")


class MemberRow(Base):
    __tablename__ = "hub_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created: Mapped[str] = mapped_column(String(32))


class IdentityRow(Base):
    __tablename__ = "hub_identities"
    identity_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("hub_members.id"), index=True)


class TokenRow(Base):
    __tablename__ = "hub_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("hub_members.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[str] = mapped_column(String(32))
    revoked: Mapped[str | None] = mapped_column(String(32), default=None)


class CollectionRow(Base):
    __tablename__ = "hub_collections"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    api_root: Mapped[str] = mapped_column(ForeignKey("hub_api_roots.name"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    last_added_us: Mapped[int] = mapped_column(BigInteger, default=0)


class GrantRow(Base):
    __tablename__ = "hub_grants"
    member_id: Mapped[int] = mapped_column(ForeignKey("hub_members.id"), primary_key=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("hub_collections.id"), primary_key=True)
    can_read: Mapped[bool] = mapped_column(Boolean)
    can_write: Mapped[bool] = mapped_column(Boolean)


class ObjectRow(Base):
    __tablename__ = "hub_objects"
    collection_id: Mapped[str] = mapped_column(ForeignKey("hub_collections.id"), primary_key=True)
    date_added_us: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    object_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(120))
    spec_version: Mapped[str] = mapped_column(String(8))
    version_us: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[str] = mapped_column(String(40))
    is_latest: Mapped[bool] = mapped_column(Boolean)
    is_first: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str | None] = mapped_column(String(100))
    added_by: Mapped[int] = mapped_column(ForeignKey("hub_members.id"))
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ux_hub_objects_version", "collection_id", "object_id", "version_us", unique=True),
        Index("ix_hub_objects_object_id", "object_id"),
    )


class StatusRow(Base):
    __tablename__ = "hub_statuses"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("hub_members.id"))
    api_root: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)


class AuditRow(Base):
    __tablename__ = "hub_audit"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(32))
    member: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    collection: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """One row (id 1): the seq and hash of the newest audit entry."""

    __tablename__ = "hub_audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


# -- values the store hands out ------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """An authenticated member: who it is and the identity ids it may publish as."""

    id: int
    name: str
    identity_ids: frozenset[str]


@dataclass(frozen=True)
class MemberInfo:
    """A member as ``member list`` shows it."""

    name: str
    identity_ids: tuple[str, ...]
    active_tokens: int
    #: collection id -> (can_read, can_write)
    grants: dict[str, tuple[bool, bool]]


@dataclass(frozen=True)
class CollectionInfo:
    """A collection, and what the asking member may do with it."""

    id: str
    api_root: str
    title: str
    description: str
    can_read: bool = False
    can_write: bool = False


@dataclass(frozen=True)
class NewObject:
    """An object that passed the guardrails, ready to store.

    ``version`` / ``version_us`` are None for SCOs: their version is their date_added.
    """

    id: str
    type: str
    spec_version: str
    version: str | None
    version_us: int | None
    created_by: str | None
    body: str


@dataclass(frozen=True)
class InsertResult:
    """What happened to one :class:`NewObject`: stored, already there, or refused."""

    id: str
    version: str | None
    ok: bool
    message: str = ""


@dataclass(frozen=True)
class StoredObject:
    """One stored object version as queries return it."""

    id: str
    date_added_us: int
    version: str
    body: str


@dataclass(frozen=True)
class ObjectQuery:
    """Filters of a TAXII object, manifest or versions request.

    ``versions`` holds ``"last"``, ``"first"``, ``"all"`` and/or timestamps in
    microseconds; ``spec_versions`` empty means the default (2.1, the only one stored).
    """

    after_us: int = 0
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: tuple[str | int, ...] = ("last",)
    spec_versions: tuple[str, ...] = ()
    limit: int = 1000


@dataclass(frozen=True)
class Page:
    """Rows of one page, and whether more rows follow."""

    rows: list[StoredObject] = field(default_factory=list)
    more: bool = False


# -- the store -----------------------------------------------------------------------------


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(db_url: str) -> Engine:
    """An engine for *db_url* (SQLite tuned for one writer process, or PostgreSQL)."""
    try:
        if db_url.startswith("sqlite"):
            memory = db_url in ("sqlite://", "sqlite:///:memory:")
            engine = create_engine(
                db_url,
                connect_args={"check_same_thread": False, "timeout": 30},
                poolclass=StaticPool if memory else None,
            )
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(db_url, pool_size=8, max_overflow=8, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise HubError(
            f"cannot use hub database URL {db_url!r}: {exc}; give e.g. sqlite:///hub.db or "
            "postgresql+psycopg://user@host/dbname"
        ) from exc


def open_store(db_url: str) -> HubStore:
    """Connect to *db_url*, create missing tables, return the store."""
    engine = make_engine(db_url)
    try:
        Base.metadata.create_all(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise HubError(
            f"cannot open the hub database {db_url!r}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}; check that it exists and is reachable"
        ) from exc
    return HubStore(engine)


def _stamp() -> str:
    return format_us(now_us())


class HubStore:
    """All reads and writes of the hub's tables. Build it with :func:`open_store`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: serializes writers inside this process (SQLite has one writer anyway)
        self.write_lock = threading.RLock()

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction, serialized with the other writers of this process."""
        with self.write_lock, Session(self.engine) as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session."""
        with Session(self.engine) as session:
            yield session

    # -- api roots, collections, members (admin) -----------------------------------------

    def ensure_api_root(self, name: str, title: str = "", description: str = "") -> None:
        """Create API root *name* unless it exists."""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", name) or name == "taxii2":
            raise HubError(
                f"API root name {name!r} is not usable; use letters, digits, '-' or '_' "
                "(and not 'taxii2')"
            )
        with self.writing() as s:
            if s.get(ApiRootRow, name) is None:
                s.add(
                    ApiRootRow(
                        name=name, title=title or f"{name} API root", description=description
                    )
                )

    def api_roots(self) -> list[tuple[str, str, str]]:
        """(name, title, description) of every API root, by name."""
        with self.reading() as s:
            rows = s.execute(select(ApiRootRow).order_by(ApiRootRow.name)).scalars()
            return [(r.name, r.title, r.description) for r in rows]

    def api_root(self, name: str) -> tuple[str, str] | None:
        """(title, description) of API root *name*, or None."""
        with self.reading() as s:
            row = s.get(ApiRootRow, name)
            return None if row is None else (row.title, row.description)

    def add_collection(self, api_root: str, title: str, description: str) -> str:
        """Create a collection in *api_root* (created if missing); return its id."""
        if not title.strip():
            raise HubError("a collection needs a non-empty title")
        self.ensure_api_root(api_root)
        coll_id = str(uuid.uuid4())
        with self.writing() as s:
            s.add(
                CollectionRow(
                    id=coll_id,
                    api_root=api_root,
                    title=title,
                    description=description,
                    last_added_us=0,
                )
            )
        return coll_id

    def resolve_collection(self, ref: str) -> str:
        """The id of the collection whose id or (unique) title is *ref*."""
        with self.reading() as s:
            if s.get(CollectionRow, ref) is not None:
                return ref
            ids = s.execute(select(CollectionRow.id).where(CollectionRow.title == ref)).scalars()
            found = list(ids)
        if len(found) == 1:
            return found[0]
        if not found:
            raise HubError(
                f"no collection has id or title {ref!r}; see `distillwatch hub collection list`"
            )
        raise HubError(f"several collections are titled {ref!r}; name one by its id")

    def collections(self) -> list[CollectionInfo]:
        """Every collection (admin view, no permissions)."""
        with self.reading() as s:
            rows = s.execute(
                select(CollectionRow).order_by(CollectionRow.api_root, CollectionRow.title)
            ).scalars()
            return [CollectionInfo(r.id, r.api_root, r.title, r.description) for r in rows]

    def add_member(self, name: str, identity_id: str, token_hash: str) -> int:
        """Create member *name* publishing as *identity_id*, with one token; return its id."""
        try:
            with self.writing() as s:
                member = MemberRow(name=name, created=_stamp())
                s.add(member)
                s.flush()
                s.add(IdentityRow(identity_id=identity_id, member_id=member.id))
                s.add(TokenRow(member_id=member.id, token_hash=token_hash, created=_stamp()))
                return member.id
        except IntegrityError as exc:
            raise HubError(
                f"member {name!r} or identity {identity_id!r} already exists; "
                "choose another name or identity (see `distillwatch hub member list`)"
            ) from exc

    def _member_id(self, s: Session, name: str) -> int:
        member_id = s.execute(select(MemberRow.id).where(MemberRow.name == name)).scalar()
        if member_id is None:
            raise HubError(f"no member named {name!r}; see `distillwatch hub member list`")
        return member_id

    def add_token(self, name: str, token_hash: str) -> None:
        """Give member *name* one more token (e.g. before revoking the old one)."""
        with self.writing() as s:
            member_id = self._member_id(s, name)
            s.add(TokenRow(member_id=member_id, token_hash=token_hash, created=_stamp()))

    def revoke_tokens(self, name: str) -> int:
        """Revoke every active token of member *name*; return how many were revoked."""
        with self.writing() as s:
            member_id = self._member_id(s, name)
            result = s.execute(
                update(TokenRow)
                .where(TokenRow.member_id == member_id, TokenRow.revoked.is_(None))
                .values(revoked=_stamp())
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def set_grant(self, name: str, collection_id: str, *, can_read: bool, can_write: bool) -> None:
        """Set what member *name* may do with a collection (both False removes the grant)."""
        with self.writing() as s:
            member_id = self._member_id(s, name)
            if s.get(CollectionRow, collection_id) is None:
                raise HubError(f"no collection with id {collection_id!r}")
            row = s.get(GrantRow, (member_id, collection_id))
            if not (can_read or can_write):
                if row is not None:
                    s.delete(row)
                return
            if row is None:
                s.add(
                    GrantRow(
                        member_id=member_id,
                        collection_id=collection_id,
                        can_read=can_read,
                        can_write=can_write,
                    )
                )
            else:
                row.can_read, row.can_write = can_read, can_write

    def members(self) -> list[MemberInfo]:
        """Every member with its identities, active token count and grants."""
        with self.reading() as s:
            out = []
            for m in s.execute(select(MemberRow).order_by(MemberRow.name)).scalars():
                ids = s.execute(
                    select(IdentityRow.identity_id).where(IdentityRow.member_id == m.id)
                ).scalars()
                tokens = s.execute(
                    select(func.count())
                    .select_from(TokenRow)
                    .where(TokenRow.member_id == m.id, TokenRow.revoked.is_(None))
                ).scalar_one()
                grants = {
                    g.collection_id: (g.can_read, g.can_write)
                    for g in s.execute(select(GrantRow).where(GrantRow.member_id == m.id)).scalars()
                }
                out.append(MemberInfo(m.name, tuple(sorted(ids)), int(tokens), grants))
            return out

    # -- authentication ------------------------------------------------------------------

    def _member(self, s: Session, row: MemberRow) -> Member:
        ids = s.execute(
            select(IdentityRow.identity_id).where(IdentityRow.member_id == row.id)
        ).scalars()
        return Member(row.id, row.name, frozenset(ids))

    def member_by_token_hash(self, token_hash: str) -> tuple[Member, str] | None:
        """The member owning the active token with this hash, and the stored hash."""
        with self.reading() as s:
            found = s.execute(
                select(MemberRow, TokenRow.token_hash)
                .join(TokenRow, TokenRow.member_id == MemberRow.id)
                .where(TokenRow.token_hash == token_hash, TokenRow.revoked.is_(None))
            ).first()
            if found is None:
                return None
            return self._member(s, found[0]), found[1]

    def member_with_hashes(self, name: str) -> tuple[Member, list[str]] | None:
        """Member *name* and the hashes of its active tokens, or None."""
        with self.reading() as s:
            row = s.execute(select(MemberRow).where(MemberRow.name == name)).scalar()
            if row is None:
                return None
            hashes = s.execute(
                select(TokenRow.token_hash).where(
                    TokenRow.member_id == row.id, TokenRow.revoked.is_(None)
                )
            ).scalars()
            return self._member(s, row), list(hashes)

    # -- collections as a member sees them -------------------------------------------------

    def collections_for(self, member_id: int, api_root: str) -> list[CollectionInfo]:
        """Collections of *api_root* the member may read or write, with its rights."""
        with self.reading() as s:
            rows = s.execute(
                select(CollectionRow, GrantRow.can_read, GrantRow.can_write)
                .join(GrantRow, GrantRow.collection_id == CollectionRow.id)
                .where(
                    GrantRow.member_id == member_id,
                    CollectionRow.api_root == api_root,
                    or_(GrantRow.can_read, GrantRow.can_write),
                )
                .order_by(CollectionRow.title, CollectionRow.id)
            ).all()
            return [
                CollectionInfo(c.id, c.api_root, c.title, c.description, bool(r), bool(w))
                for c, r, w in rows
            ]

    def collection_for(
        self, member_id: int, api_root: str, collection_id: str
    ) -> CollectionInfo | None:
        """The collection with the member's rights; None if absent or not granted at all."""
        with self.reading() as s:
            found = s.execute(
                select(CollectionRow, GrantRow.can_read, GrantRow.can_write)
                .join(GrantRow, GrantRow.collection_id == CollectionRow.id)
                .where(
                    GrantRow.member_id == member_id,
                    CollectionRow.id == collection_id,
                    CollectionRow.api_root == api_root,
                    or_(GrantRow.can_read, GrantRow.can_write),
                )
            ).first()
            if found is None:
                return None
            c, r, w = found
            return CollectionInfo(c.id, c.api_root, c.title, c.description, bool(r), bool(w))

    # -- objects --------------------------------------------------------------------------

    def insert_objects(
        self, collection_id: str, member_id: int, objects: Sequence[NewObject]
    ) -> list[InsertResult]:
        """Store *objects* in one transaction; one result per object, in order.

        A version already stored (an SCO: the same content) is reported as a success and not
        stored twice. An id that another identity created (anywhere on the hub) is refused.
        """
        if not objects:
            return []
        with self.writing() as s:
            coll = s.execute(
                select(CollectionRow).where(CollectionRow.id == collection_id).with_for_update()
            ).scalar_one()
            state = self._version_state(s, collection_id, {o.id for o in objects})
            next_us = max(now_us(), coll.last_added_us + 1)
            results: list[InsertResult] = []
            new_rows: list[dict[str, Any]] = []
            unflag_latest: list[int] = []
            unflag_first: list[int] = []
            for obj in objects:
                st = state.setdefault(obj.id, _IdState())
                owner = st.owner
                if obj.created_by is not None and owner is not None and owner != obj.created_by:
                    results.append(
                        InsertResult(
                            obj.id,
                            obj.version,
                            False,
                            f"{obj.id} was created by {owner}; only its creator may publish "
                            "new versions (publish under a new id)",
                        )
                    )
                    continue
                if obj.version_us is not None and obj.version_us in st.versions:
                    results.append(InsertResult(obj.id, obj.version, True, "already stored"))
                    continue
                if obj.version_us is None and obj.body in st.sco_bodies:
                    stored_as = st.sco_bodies[obj.body]
                    results.append(InsertResult(obj.id, stored_as, True, "already stored"))
                    continue
                date_added = next_us
                next_us += 1
                version_us = obj.version_us if obj.version_us is not None else date_added
                version = obj.version if obj.version is not None else format_us(date_added)
                row = {
                    "collection_id": collection_id,
                    "date_added_us": date_added,
                    "object_id": obj.id,
                    "type": obj.type,
                    "spec_version": obj.spec_version,
                    "version_us": version_us,
                    "version": version,
                    "is_latest": False,
                    "is_first": False,
                    "created_by": obj.created_by,
                    "added_by": member_id,
                    "body": obj.body,
                }
                if st.latest is None or version_us > st.latest[0]:
                    if st.latest is not None:
                        _unflag(st.latest, "is_latest", unflag_latest)
                    row["is_latest"] = True
                    st.latest = (version_us, date_added, row)
                if st.first is None or version_us < st.first[0]:
                    if st.first is not None:
                        _unflag(st.first, "is_first", unflag_first)
                    row["is_first"] = True
                    st.first = (version_us, date_added, row)
                st.versions.add(version_us)
                if obj.created_by is not None:
                    st.owner = obj.created_by
                if obj.version_us is None:
                    st.sco_bodies[obj.body] = version
                new_rows.append(row)
                results.append(InsertResult(obj.id, version, True))
            for column, keys in (("is_latest", unflag_latest), ("is_first", unflag_first)):
                for chunk in _chunks(keys):
                    s.execute(
                        update(ObjectRow)
                        .where(
                            ObjectRow.collection_id == collection_id,
                            ObjectRow.date_added_us.in_(chunk),
                        )
                        .values({column: False})
                    )
            if new_rows:
                s.execute(insert(ObjectRow), new_rows)
                coll.last_added_us = next_us - 1
            return results

    def _version_state(self, s: Session, collection_id: str, ids: set[str]) -> dict[str, _IdState]:
        state: dict[str, _IdState] = {}
        for chunk in _chunks(sorted(ids)):
            rows = s.execute(
                select(
                    ObjectRow.collection_id,
                    ObjectRow.object_id,
                    ObjectRow.version_us,
                    ObjectRow.date_added_us,
                    ObjectRow.is_latest,
                    ObjectRow.is_first,
                    ObjectRow.created_by,
                    ObjectRow.version,
                    ObjectRow.body,
                ).where(ObjectRow.object_id.in_(chunk))
            )
            for coll, oid, version_us, added, latest, first, created_by, version, body in rows:
                st = state.setdefault(oid, _IdState())
                if created_by is not None and st.owner is None:
                    st.owner = created_by
                if coll != collection_id:
                    continue
                st.versions.add(version_us)
                if created_by is None:
                    st.sco_bodies[body] = version
                if latest:
                    st.latest = (version_us, added, None)
                if first:
                    st.first = (version_us, added, None)
        return state

    def query_objects(self, collection_id: str, q: ObjectQuery) -> Page:
        """One page of object versions matching *q*, ordered by date_added."""
        if q.spec_versions and "2.1" not in q.spec_versions:
            return Page()
        conds: list[ColumnElement[bool]] = [
            ObjectRow.collection_id == collection_id,
            ObjectRow.date_added_us > q.after_us,
        ]
        if q.ids:
            conds.append(ObjectRow.object_id.in_(q.ids))
        if q.types:
            conds.append(ObjectRow.type.in_(q.types))
        version_cond = _version_condition(q.versions)
        if version_cond is not None:
            conds.append(version_cond)
        stmt = (
            select(ObjectRow.object_id, ObjectRow.date_added_us, ObjectRow.version, ObjectRow.body)
            .where(and_(*conds))
            .order_by(ObjectRow.date_added_us)
            .limit(q.limit + 1)
        )
        with self.reading() as s:
            rows = [StoredObject(*r) for r in s.execute(stmt)]
        more = len(rows) > q.limit
        return Page(rows[: q.limit], more)

    def object_exists(self, collection_id: str, object_id: str) -> bool:
        """Whether any version of *object_id* is in the collection."""
        with self.reading() as s:
            found = s.execute(
                select(ObjectRow.date_added_us)
                .where(ObjectRow.collection_id == collection_id, ObjectRow.object_id == object_id)
                .limit(1)
            ).first()
            return found is not None

    def delete_object(
        self, collection_id: str, object_id: str, member_id: int, q: ObjectQuery
    ) -> tuple[int, int]:
        """Delete the versions of *object_id* matching *q* that *member_id* added.

        Returns (matching versions, deleted versions); first/last flags are recomputed.
        """
        conds: list[ColumnElement[bool]] = [
            ObjectRow.collection_id == collection_id,
            ObjectRow.object_id == object_id,
        ]
        version_cond = _version_condition(q.versions)
        if version_cond is not None:
            conds.append(version_cond)
        if q.spec_versions and "2.1" not in q.spec_versions:
            return 0, 0
        with self.writing() as s:
            matched = list(
                s.execute(select(ObjectRow.date_added_us, ObjectRow.added_by).where(*conds))
            )
            mine = [added for added, by in matched if by == member_id]
            if not matched or len(mine) != len(matched):
                return len(matched), 0
            for chunk in _chunks(mine):
                s.execute(
                    delete(ObjectRow).where(
                        ObjectRow.collection_id == collection_id,
                        ObjectRow.date_added_us.in_(chunk),
                    )
                )
            left = list(
                s.execute(
                    select(ObjectRow.date_added_us, ObjectRow.version_us).where(
                        ObjectRow.collection_id == collection_id,
                        ObjectRow.object_id == object_id,
                    )
                )
            )
            if left:
                newest = max(left, key=lambda r: r[1])[0]
                oldest = min(left, key=lambda r: r[1])[0]
                for added, _ in left:
                    s.execute(
                        update(ObjectRow)
                        .where(
                            ObjectRow.collection_id == collection_id,
                            ObjectRow.date_added_us == added,
                        )
                        .values(is_latest=added == newest, is_first=added == oldest)
                    )
            return len(matched), len(mine)

    # -- statuses -------------------------------------------------------------------------

    def save_status(self, status_id: str, member_id: int, api_root: str, body: str) -> None:
        """Keep the status resource of an add-objects request."""
        with self.writing() as s:
            s.add(StatusRow(id=status_id, member_id=member_id, api_root=api_root, body=body))

    def status(self, status_id: str, member_id: int, api_root: str) -> str | None:
        """The status resource JSON, only for the member that made the request."""
        with self.reading() as s:
            row = s.get(StatusRow, status_id)
            if row is None or row.member_id != member_id or row.api_root != api_root:
                return None
            return row.body


@dataclass
class _IdState:
    """What one object id already has in the target collection (and who created it)."""

    owner: str | None = None
    versions: set[int] = field(default_factory=set)
    #: body -> version of the SCO versions already stored (an identical SCO is not stored again)
    sco_bodies: dict[str, str] = field(default_factory=dict)
    #: (version_us, date_added_us, new row dict or None for a stored row)
    latest: tuple[int, int, dict[str, Any] | None] | None = None
    first: tuple[int, int, dict[str, Any] | None] | None = None


def _unflag(entry: tuple[int, int, dict[str, Any] | None], column: str, stored: list[int]) -> None:
    _, added, row = entry
    if row is None:
        stored.append(added)
    else:
        row[column] = False


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _version_condition(versions: tuple[str | int, ...]) -> ColumnElement[bool] | None:
    if not versions or "all" in versions:
        return None
    parts: list[ColumnElement[bool]] = []
    if "last" in versions:
        parts.append(ObjectRow.is_latest.is_(True))
    if "first" in versions:
        parts.append(ObjectRow.is_first.is_(True))
    stamps = [v for v in versions if isinstance(v, int)]
    if stamps:
        parts.append(ObjectRow.version_us.in_(stamps))
    return or_(*parts)

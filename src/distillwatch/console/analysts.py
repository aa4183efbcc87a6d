"""The console's analysts: a name and a token each, only the token's hash stored.

Tokens are 256-bit random strings prefixed ``dwc_`` and shown once, when the analyst is
added (as the hub's member tokens are; see :mod:`distillwatch.hub.auth` for why a fast
hash suffices for random tokens). They live in the case store's database, in their own
table, so one file holds who may decide and what they decided.

>>> store = open_analysts("sqlite://")
>>> token = store.add("ana")
>>> store.name_for(token), store.name_for("dwc_wrong")
('ana', None)
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from distillwatch.errors import ConsoleError
from distillwatch.hub.auth import hash_token

TOKEN_PREFIX = "dwc_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")

_meta = MetaData()
analysts_table = Table(
    "console_analysts",
    _meta,
    Column("name", String(64), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Analyst:
    name: str
    created: datetime


class AnalystStore:
    """Add, list, remove analysts and find who holds a token. Build with
    :func:`open_analysts`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, name: str) -> str:
        """Add analyst *name*; return their new token (shown once, never stored)."""
        if not _NAME.fullmatch(name):
            raise ConsoleError(
                f"analyst name {name!r} must be 1-64 letters, digits or . _ @ - "
                "(starting with a letter or digit)"
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = {"name": name, "token_hash": hash_token(token), "created": datetime.now(UTC)}
        try:
            with self.engine.begin() as con:
                con.execute(analysts_table.insert().values(**row))
        except IntegrityError as exc:
            raise ConsoleError(
                f"analyst {name!r} exists; remove them first to issue a new token"
            ) from exc
        return token

    def remove(self, name: str) -> bool:
        """Remove analyst *name* (their token stops working); False if there was none."""
        with self.engine.begin() as con:
            gone = con.execute(delete(analysts_table).where(analysts_table.c.name == name))
        return bool(gone.rowcount)

    def list(self) -> list[Analyst]:
        with self.engine.connect() as con:
            rows = con.execute(
                select(analysts_table.c.name, analysts_table.c.created).order_by("name")
            ).all()
        return [Analyst(r.name, r.created) for r in rows]

    def exists(self, name: str) -> bool:
        """Whether analyst *name* may still sign in (removed analysts lose their sessions)."""
        with self.engine.connect() as con:
            found = con.execute(
                select(analysts_table.c.name).where(analysts_table.c.name == name)
            ).first()
        return found is not None

    def name_for(self, token: str) -> str | None:
        """The analyst holding *token*, or None."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = hash_token(token)
        with self.engine.connect() as con:
            name = con.execute(
                select(analysts_table.c.name).where(analysts_table.c.token_hash == digest)
            ).scalar()
        return str(name) if name is not None else None

    def close(self) -> None:
        self.engine.dispose()


def open_analysts(path_or_url: str | Path) -> AnalystStore:
    """The analysts table of the case store at *path_or_url* (created if missing), on an
    engine set up as the case store's own (:func:`~distillwatch.cases.store.make_case_engine`)."""
    from distillwatch.cases.store import make_case_engine, store_url

    engine = make_case_engine(store_url(path_or_url))
    try:
        _meta.create_all(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise ConsoleError(
            f"cannot open the case store {path_or_url}: {str(exc).splitlines()[0]}; "
            "check the path and that its directory exists"
        ) from exc
    return AnalystStore(engine)

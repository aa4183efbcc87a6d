"""The online scorer's state on disk: one SQLite file, written at checkpoints.

Each checkpoint writes the accounts changed since the last one and the population state
(model first-seen times, output limits, sign-up bursts, the linkage index) in a single
transaction, so a crash loses at most what arrived since the last checkpoint and never
leaves a half-written state. A store that cannot be opened or written raises
:class:`~distillwatch.errors.ScoringError` (the gateway then fails open or closed, as
configured).

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as d:
...     s = StateStore(pathlib.Path(d) / "state.db")
...     s.save({"a": {"n": 3}}, {"start_ts": 1.0})
...     s.load()
({'a': {'n': 3}}, {'start_ts': 1.0})
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from distillwatch.errors import ScoringError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS account (account_id TEXT PRIMARY KEY, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
"""


class StateStore:
    """Account states and population state in the SQLite file ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(self.path, timeout=5.0)
            con.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ScoringError(
                f"state store {self.path} cannot be opened: {exc}; check the path and disk"
            ) from exc
        return con

    def save(
        self, accounts: Mapping[str, Mapping[str, Any]], population: Mapping[str, Any]
    ) -> None:
        """Write changed accounts and the population state in one transaction."""
        con = self._connect()
        try:
            with con:
                con.executemany(
                    "INSERT OR REPLACE INTO account VALUES (?, ?)",
                    [(a, orjson.dumps(s)) for a, s in accounts.items()],
                )
                con.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('population', ?)",
                    (orjson.dumps(population),),
                )
        except sqlite3.Error as exc:
            raise ScoringError(
                f"state store {self.path} cannot be written: {exc}; check the disk"
            ) from exc
        finally:
            con.close()

    def load(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(account states, population state); both empty for a new store."""
        con = self._connect()
        try:
            accounts = {a: orjson.loads(s) for a, s in con.execute("SELECT * FROM account")}
            row = con.execute("SELECT value FROM meta WHERE key = 'population'").fetchone()
        except (sqlite3.Error, orjson.JSONDecodeError) as exc:
            raise ScoringError(
                f"state store {self.path} cannot be read: {exc}; restore it or start a new one"
            ) from exc
        finally:
            con.close()
        return accounts, (orjson.loads(row[0]) if row else {})

"""Fixtures for the hub: databases (SQLite and a throwaway PostgreSQL), a running hub with
members and collections, and STIX object factories.

The PostgreSQL server is started once per session with ``initdb``/``pg_ctl`` (as the
``postgres`` user when running as root) on a free 127.0.0.1 port with trust auth, and
stopped at the end. Without the binaries the PostgreSQL cases are skipped, unless
``DISTILLWATCH_REQUIRE_POSTGRES`` is set, in which case they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from distillwatch.hub.admin import add_collection, add_member
from distillwatch.hub.server import running_hub
from distillwatch.hub.settings import HubSettings
from distillwatch.outputs import tlp

PG_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin")
TAXII = "application/taxii+json;version=2.1"
ALICE_ID = "identity--a11ce000-0000-4000-8000-000000000001"
BOB_ID = "identity--b0b00000-0000-4000-8000-000000000002"
CAROL_ID = "identity--ca201000-0000-4000-8000-000000000003"


def _pg_binary(name: str) -> str | None:
    for d in PG_DIRS:
        path = Path(d) / name
        if path.exists():
            return str(path)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    port: int

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    initdb, pg_ctl = _pg_binary("initdb"), _pg_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        msg = "PostgreSQL binaries (initdb, pg_ctl) not found in " + ", ".join(PG_DIRS)
        if os.environ.get("DISTILLWATCH_REQUIRE_POSTGRES"):
            pytest.fail(msg + " and DISTILLWATCH_REQUIRE_POSTGRES is set")
        pytest.skip(msg)
    root = Path(tempfile.mkdtemp(prefix="dw-hub-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "pg.log"
    port = _free_port()
    subprocess.run(
        [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    opts = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        [*as_user, pg_ctl, "-D", str(data), "-o", opts, "-l", str(log), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield PgServer(port)
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty hub database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = "hub_" + uuid.uuid4().hex[:12]
    server.admin(f"CREATE DATABASE {name}")
    try:
        yield server.url(name)
    finally:
        server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Hub:
    """A running hub with members alice, bob, carol and four collections.

    - ``shared``: alice and bob read+write, carol read
    - ``alice``: alice read+write only (bob and carol have no grant)
    - ``readonly``: alice read+write, bob read only
    - ``writeonly``: alice read+write, bob write only
    """

    url: str
    db_url: str
    tokens: dict[str, str]
    colls: dict[str, str]
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def root(self) -> str:
        return self.url + "/default/"

    def objects_url(self, coll: str) -> str:
        return f"{self.root}collections/{self.colls[coll]}/objects/"

    def call(
        self, method: str, url: str, who: str | None = "alice", *, bearer: bool = True, **kw: Any
    ) -> requests.Response:
        headers = {"Accept": TAXII, **kw.pop("headers", {})}
        auth = None
        if who is not None:
            if bearer:
                headers["Authorization"] = f"Bearer {self.tokens[who]}"
            else:
                auth = (who, self.tokens[who])
        if "json" in kw:
            import json

            kw["data"] = json.dumps(kw.pop("json"))
            headers.setdefault("Content-Type", TAXII)
        session = kw.pop("session", None) or self.session
        return session.request(method, url, headers=headers, auth=auth, timeout=30, **kw)

    def post(self, coll: str, objects: list[Any], who: str = "alice") -> dict[str, Any]:
        resp = self.call("POST", self.objects_url(coll), who, json={"objects": objects})
        assert resp.status_code == 202, resp.text
        return dict(resp.json())


def make_hub_db(db_url: str) -> tuple[dict[str, str], dict[str, str]]:
    colls = {
        name: add_collection(db_url, name, f"{name} collection")
        for name in ("shared", "alice", "readonly", "writeonly")
    }
    tokens = {
        "alice": add_member(db_url, "alice", ALICE_ID, read=list(colls), write=list(colls)),
        "bob": add_member(
            db_url,
            "bob",
            BOB_ID,
            read=[colls["shared"], colls["readonly"]],
            write=[colls["shared"], colls["writeonly"]],
        ),
        "carol": add_member(db_url, "carol", CAROL_ID, read=[colls["shared"]]),
    }
    return tokens, colls


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    tokens, colls = make_hub_db(db_url)
    settings = HubSettings(db_url=db_url, page_size_default=50, check_workers=0)
    with running_hub(settings) as url:
        h = Hub(url, db_url, tokens, colls)
        yield h
        h.session.close()


# -- STIX objects --------------------------------------------------------------------------


class StixFactory:
    """Valid objects to publish (pytest's importlib mode forbids importing conftest)."""

    alice, bob, carol = ALICE_ID, BOB_ID, CAROL_ID
    amber = tlp.MARKING_IDS["amber"]
    red = tlp.MARKING_IDS["red"]

    @staticmethod
    def new_id(kind: str) -> str:
        return f"{kind}--{uuid.uuid4()}"

    @staticmethod
    def ts(second: int = 0, micro: int = 0) -> str:
        return f"2026-03-01T00:00:{second:02d}.{micro:06d}Z"

    def indicator(self, creator: str = ALICE_ID, n: int = 0, **extra: Any) -> dict[str, Any]:
        obj = {
            "type": "indicator",
            "spec_version": "2.1",
            "id": self.new_id("indicator"),
            "created": self.ts(),
            "modified": self.ts(),
            "created_by_ref": creator,
            "name": f"proxy range {n}",
            "pattern": f"[ipv4-addr:value = '10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}/32']",
            "pattern_type": "stix",
            "valid_from": self.ts(),
            "object_marking_refs": [self.amber],
        }
        obj.update(extra)
        return obj

    def campaign(self, creator: str = ALICE_ID, **extra: Any) -> dict[str, Any]:
        obj = {
            "type": "campaign",
            "spec_version": "2.1",
            "id": self.new_id("campaign"),
            "created": self.ts(),
            "modified": self.ts(),
            "created_by_ref": creator,
            "name": "Teal Harvest",
            "description": "Suspected adversarial distillation campaign: 24 accounts.",
            "objective": "Replicate a model",
        }
        obj.update(extra)
        return obj

    def identity(self, ident: str = ALICE_ID, **extra: Any) -> dict[str, Any]:
        obj = {
            "type": "identity",
            "spec_version": "2.1",
            "id": ident,
            "created": self.ts(),
            "modified": self.ts(),
            "created_by_ref": ident,
            "name": "Acme AI",
            "identity_class": "organization",
        }
        obj.update(extra)
        return obj


@pytest.fixture
def stix() -> StixFactory:
    return StixFactory()

"""``distillwatch hub ...`` administration commands (the lead wires ``register`` into main)."""

from __future__ import annotations

import typer
from sqlalchemy import text
from typer.testing import CliRunner

from distillwatch.cli.hub_cmd import register
from distillwatch.hub.auth import hash_token
from distillwatch.hub.storage import open_store

IDENT = "identity--6b7a9f1c-3b57-4d3e-9a3e-2a3b3f6c9a11"


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """distillwatch"""

    register(app)
    return app


def test_member_token_is_shown_once_and_only_its_hash_is_stored(tmp_path):
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    app, run = _app(), CliRunner()
    made = run.invoke(app, ["hub", "collection", "add", "campaigns", "--db", db])
    assert made.exit_code == 0, made.output
    coll = made.stdout.strip()
    added = run.invoke(
        app,
        [
            "hub",
            "member",
            "add",
            "acme",
            "--identity",
            IDENT,
            "--read",
            "campaigns",
            "--write",
            coll,
            "--db",
            db,
        ],
    )
    assert added.exit_code == 0, added.output
    token = next(line for line in added.stdout.splitlines() if line.startswith("dwh_"))
    assert "will not be shown again" in added.stdout
    listed = run.invoke(app, ["hub", "member", "list", "--db", db])
    assert "acme" in listed.stdout and token not in listed.stdout
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("hub.db*"))
    assert token.encode() not in raw and hash_token(token).encode() in raw
    collections = run.invoke(app, ["hub", "collection", "list", "--db", db])
    assert coll in collections.stdout


def test_errors_are_one_line_and_audit_verify_exit_codes(tmp_path):
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    app, run = _app(), CliRunner()
    bad = run.invoke(app, ["hub", "member", "add", "x", "--identity", "nope", "--db", db])
    assert bad.exit_code == 1 and "not a STIX identity id" in bad.output
    assert "Traceback" not in bad.output
    missing = run.invoke(app, ["hub", "grant", "ghost", "nowhere", "--db", db])
    assert missing.exit_code == 1 and "no collection has id or title 'nowhere'" in missing.output

    run.invoke(app, ["hub", "collection", "add", "c", "--db", db])
    run.invoke(app, ["hub", "member", "add", "m", "--identity", IDENT, "--db", db])
    granted = run.invoke(app, ["hub", "grant", "m", "c", "--write", "--db", db])
    assert granted.exit_code == 0 and "read=True write=True" in granted.output
    store = open_store(db)
    try:
        from distillwatch.hub.audit import AuditEvent, AuditLog

        for i in range(3):
            AuditLog(store).append(AuditEvent("m", "GET", f"/p{i}"))
        ok = run.invoke(app, ["hub", "audit", "verify", "--db", db])
        assert ok.exit_code == 0 and "intact: 3 entries" in ok.output
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE hub_audit SET member = 'someone else' WHERE seq = 2"))
    finally:
        store.close()
    broken = run.invoke(app, ["hub", "audit", "verify", "--db", db])
    assert broken.exit_code == 1 and "entry 2 was altered" in broken.output
    revoked = run.invoke(app, ["hub", "member", "revoke", "m", "--db", db])
    assert revoked.exit_code == 0 and "revoked 1 token(s)" in revoked.output

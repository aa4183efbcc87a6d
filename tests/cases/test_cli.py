"""``distillwatch cases ...`` through Typer's CliRunner (the lead wires ``register`` into main)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest
import typer
from typer.testing import CliRunner

from distillwatch.cases.store import open_case_store
from distillwatch.cli.cases_cmd import register
from distillwatch.results import AccountVerdict, CampaignVerdict, IngestSummary, ScanResult
from distillwatch.results_io import read_result, write_result

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """distillwatch"""

    register(app)
    return app


@pytest.fixture
def scan(tmp_path):
    accounts = [AccountVerdict(f"acct-{i}", 0.9, True, 10, T0, T0, "cmp-1") for i in range(3)]
    campaign = CampaignVerdict("cmp-1", [a.account_id for a in accounts], 30, 0.95, True, T0, T0)
    result = ScanResult(accounts, [campaign], IngestSummary(), T0, T0, 0.5, 30)
    out = tmp_path / "scan"
    out.mkdir()
    write_result(result, out)
    return out


def _run(*args: str):
    return CliRunner().invoke(_app(), ["cases", *args])


def test_decide_list_and_verify(tmp_path, scan):
    db = str(tmp_path / "cases.db")
    scan_id = read_result(scan)[0]
    made = _run(
        "decide", "--db", db, "--scan", str(scan), "--campaign", "cmp-1",
        "--decision", "confirm", "--analyst", "ana", "--note", "proxy fleet",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert f"decision 1: confirm campaign cmp-1 of scan {scan_id} by ana" in made.stdout
    made = _run(
        "decide", "--db", db, "--scan", str(scan), "--account", "acct-2",
        "--decision", "dismiss", "--analyst", "bob",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    listed = _run("list", "--db", db, "--scan-id", scan_id)
    assert listed.exit_code == 0, listed.output
    for text in ("ana", "campaign cmp-1", "confirm", "proxy fleet", "bob", "acct-2", "dismiss"):
        assert text in listed.stdout
    rows = json.loads(_run("list", "--db", db, "--json").stdout)
    assert [(r["id"], r["subject_kind"], r["subject_id"], r["decision"]) for r in rows] == [
        (1, "campaign", "cmp-1", "confirm"),
        (2, "account", "acct-2", "dismiss"),
    ]
    assert {r["scan_id"] for r in rows} == {scan_id}
    assert datetime.fromisoformat(rows[0]["decided_at"]).tzinfo is not None
    assert json.loads(_run("list", "--db", db, "--json", "--scan-id", "other").stdout) == []
    verified = _run("verify", "--db", db)
    assert verified.exit_code == 0, verified.output
    assert "intact: 2 entries, 2 decisions" in verified.stdout


def test_verify_exits_1_when_the_file_was_edited(tmp_path, scan):
    db = tmp_path / "cases.db"
    args = ["--scan", str(scan), "--decision", "confirm", "--analyst", "ana"]
    assert _run("decide", "--db", str(db), "--account", "acct-0", *args).exit_code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE case_decisions SET decision = 'dismiss' WHERE id = 1")
    conn.close()
    broken = _run("verify", "--db", str(db))
    assert broken.exit_code == 1
    assert "case audit trail broken" in broken.output and "decision 1 differs" in broken.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--account", "acct-9"], "has no account 'acct-9'"),
        (["--campaign", "cmp-2"], "has no campaign 'cmp-2'"),
        (["--campaign", "cmp-1", "--account", "acct-0"], "exactly one of --campaign"),
        ([], "exactly one of --campaign"),
    ],
)
def test_decide_refuses_subjects_the_scan_does_not_have(tmp_path, scan, extra, message):
    db = tmp_path / "cases.db"
    res = _run(
        "decide", "--db", str(db), "--scan", str(scan), "--decision", "confirm",
        "--analyst", "ana", *extra,
    )  # fmt: skip
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output


def test_decide_errors_are_one_line_and_exit_2(tmp_path, scan):
    db = str(tmp_path / "cases.db")
    bad = _run(
        "decide", "--db", db, "--scan", str(scan), "--account", "acct-0",
        "--decision", "approve", "--analyst", "ana",
    )  # fmt: skip
    assert bad.exit_code == 2 and "decision must be one of confirm" in bad.output
    no_scan = _run(
        "decide", "--db", db, "--scan", str(tmp_path), "--account", "acct-0",
        "--decision", "confirm", "--analyst", "ana",
    )  # fmt: skip
    assert no_scan.exit_code == 2 and "no result.json.gz in" in no_scan.output
    assert "distillwatch scan" in no_scan.output


def test_list_and_verify_do_not_create_a_missing_store(tmp_path):
    for command in ("list", "verify"):
        res = _run(command, "--db", str(tmp_path / "typo.db"))
        assert res.exit_code == 2 and "no case store at" in res.output
    assert not (tmp_path / "typo.db").exists()


def test_list_of_an_empty_store(tmp_path):
    db = str(tmp_path / "cases.db")
    open_case_store(db).close()
    res = _run("list", "--db", db)
    assert res.exit_code == 0 and "no decisions yet" in res.stdout

"""The done-when of issue 6 for calibrate: decisions against the current model change the
verdicts on those accounts, held-out metrics are shown before and after, and a real
re-scan with the written config agrees on the decided accounts."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from distillwatch.cases.store import open_case_store
from distillwatch.cli import calibrate_cmd
from distillwatch.results_io import read_result
from distillwatch.sim import SimConfig, simulate

BIN = Path(sys.executable).parent / "distillwatch"
WIDE = {"COLUMNS": "200"}


def scan(events: Path, out: Path, *extra: str) -> None:
    done = subprocess.run(
        [str(BIN), "scan", str(events), "--out", str(out), "-q", *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def app() -> typer.Typer:
    a = typer.Typer()
    calibrate_cmd.register(a)

    @a.command("noop")
    def _noop() -> None:  # a second command, so that "calibrate" is a sub-command
        return None

    return a


def calibrate(*args: str):
    return CliRunner().invoke(app(), ["calibrate", *args], env=WIDE)


@dataclass
class Week:
    base: Path
    scan: Path
    truth: Path
    scan_id: str
    truth_rows: dict[str, dict[str, str]]
    flagged: dict[str, bool]


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Week:
    base = tmp_path_factory.mktemp("calibrate")
    simulate(SimConfig(out=base / "traffic", seed=5, days=7, scale=0.05))
    scan(base / "traffic" / "events.jsonl.gz", base / "scan")
    scan_id, result = read_result(base / "scan")
    with open(base / "traffic" / "truth.csv", newline="") as fh:
        truth = {r["account_id"]: r for r in csv.DictReader(fh)}
    return Week(
        base,
        base / "scan",
        base / "traffic" / "truth.csv",
        scan_id,
        truth,
        {a.account_id: a.flagged for a in result.accounts},
    )


def missed_persona(week: Week) -> list[str]:
    """The unflagged accounts of the attack persona the scan missed most."""
    by_persona: dict[str, list[str]] = {}
    for a, row in week.truth_rows.items():
        if row["label"] == "attack" and not week.flagged[a]:
            by_persona.setdefault(row["persona"], []).append(a)
    persona = max(sorted(by_persona), key=lambda p: len(by_persona[p]))
    return sorted(by_persona[persona])


def test_decisions_against_the_model_change_verdicts_and_a_rescan_agrees(week, tmp_path):
    confirmed = missed_persona(week)
    assert len(confirmed) >= 3
    cases = tmp_path / "cases.db"
    with open_case_store(cases) as store:
        for a in confirmed:
            store.decide(week.scan_id, "account", a, "confirm", "ana", "missed extraction")
    out = tmp_path / "cfg" / "calibrated.toml"
    common = [str(week.scan), "--cases", str(cases), "--truth", str(week.truth)]

    dry = calibrate(*common, "--out", str(out))
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and not out.exists()

    res = calibrate(*common, "--out", str(out), "--apply")
    assert res.exit_code == 0, res.output
    text = res.output
    # held-out metrics, before and after
    assert re.search(r"held-out accounts \(\d+ extraction, \d+ benign\)", text), text
    for metric in ("precision", "recall", "FPR", "F1"):
        assert re.search(rf"{metric}\s+│\s+[\d.]+\s+│\s+[\d.]+\s+│\s+[+-][\d.]+", text), metric
    n = len(confirmed)
    assert f"decided accounts now agreeing: before 0/{n}, after {n}/{n}" in text
    assert out.is_file()
    assert "# held-out accounts" in out.read_text()

    with open_case_store(cases) as store:
        applied = [e for e in store.audit() if e.action == "calibrate.apply"]
    assert len(applied) == 1

    as_json = calibrate(*common, "--json")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    changed = {c["id"] for c in data["changes"] if c["kind"] == "account"}
    assert changed == set(confirmed)
    assert all(not c["flagged_before"] and c["flagged_after"] for c in data["changes"])
    held = {h["kind"]: h for h in data["heldout"]}
    assert {"before", "after"} <= set(held["accounts"])
    assert data["recomputation"][0]["same_flag"] == data["recomputation"][0]["accounts"]

    rescan = tmp_path / "rescan"
    scan(week.base / "traffic" / "events.jsonl.gz", rescan, "--config", str(out))
    _, again = read_result(rescan)
    now = {a.account_id: a.flagged for a in again.accounts}
    assert all(not week.flagged[a] and now[a] for a in confirmed), {a: now[a] for a in confirmed}
    benign = [a for a, r in week.truth_rows.items() if r["label"] == "benign"]
    assert sum(now[a] for a in benign) <= sum(week.flagged[a] for a in benign) + 1


def test_no_labels_is_one_line(week, tmp_path):
    cases = tmp_path / "empty.db"
    open_case_store(cases).close()
    res = calibrate(str(week.scan), "--cases", str(cases))
    assert res.exit_code == 2
    assert "no labels" in res.output and "Traceback" not in res.output


def test_labels_of_one_class_say_what_to_add(week, tmp_path):
    cases = tmp_path / "one.db"
    with open_case_store(cases) as store:
        for a in missed_persona(week):
            store.decide(week.scan_id, "account", a, "confirm", "ana", "")
    res = calibrate(str(week.scan), "--cases", str(cases))
    assert res.exit_code == 2
    assert "are extraction" in res.output and "add benign labels" in res.output


def test_a_scan_without_its_result_file_is_refused(week, tmp_path):
    cases = tmp_path / "c.db"
    open_case_store(cases).close()
    res = calibrate(str(week.base / "traffic"), "--cases", str(cases))
    assert res.exit_code == 2
    assert "no result.json.gz" in res.output


def test_truth_of_other_traffic_is_refused(week, tmp_path):
    cases = tmp_path / "c.db"
    open_case_store(cases).close()
    bad = tmp_path / "truth.csv"
    bad.write_text(
        week.truth.read_text() + "acct_not_in_this_scan,attack,hydra,c,a\n", encoding="utf-8"
    )
    res = calibrate(str(week.scan), "--cases", str(cases), "--truth", str(bad))
    assert res.exit_code == 2
    assert "acct_not_in_this_scan" in res.output


def test_truth_files_must_pair_with_scans_and_the_store_must_exist(week, tmp_path):
    cases = tmp_path / "c.db"
    open_case_store(cases).close()
    t = str(week.truth)
    res = calibrate(str(week.scan), "--cases", str(cases), "--truth", t, "--truth", t)
    assert res.exit_code == 2 and "one --truth per scan" in res.output
    res = calibrate(str(week.scan), "--cases", str(tmp_path / "nope.db"), "--truth", t)
    assert res.exit_code == 2 and "no case store" in res.output
    assert not (tmp_path / "nope.db").exists()

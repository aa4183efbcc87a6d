"""`intel match` and `intel dismiss` through the command line."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import typer
from tests.intel.conftest_match import (
    KEYRING,
    T0,
    TASKS,
    WRAPPER,
    digest_objects,
    identity,
    parts,
    template_objects,
    write_bundle,
)
from typer.testing import CliRunner

from distillwatch.cli.intel_match_cmd import MATCH_COLUMNS, register
from distillwatch.intel.keys import save_keyring
from distillwatch.intel.vocab import EXTENSIONS

IND = "indicator--0b1c2d3e-0000-4000-8000-000000000001"


def _app():
    app = typer.Typer()
    register(app)
    return app


def _setup(tmp_path):
    # indicators valid from now-ish: the CLI evaluates intel at the current time
    start = datetime.now(UTC) - timedelta(days=1)
    head = template_objects("head", parts(WRAPPER + TASKS[0])[0], valid_from=start)
    pay = digest_objects("payment-fingerprint", "card_9", valid_from=start)
    write_bundle(tmp_path / "intel", "coll/1.json", [identity(), *head, *pay])
    (tmp_path / "intel" / "state.json").write_text("{}", "utf-8")
    save_keyring(KEYRING, tmp_path / "keys.json")
    rows = [
        {"account_id": "a1", "prompt": WRAPPER + TASKS[1]},
        {"account_id": "a1", "prompt": WRAPPER + TASKS[2]},
        {"account_id": "a2", "prompt": "plain question", "payment_fingerprint": "card_9"},
        {"account_id": "a3", "prompt": "another plain question"},
        {"account_id": "a3"},  # no prompt, no model: quarantined
    ]
    with (tmp_path / "events.jsonl").open("w") as fh:
        for i, r in enumerate(rows):
            rec = {"request_id": f"r{i}", "ts": (T0 + timedelta(minutes=i)).isoformat()}
            if "prompt" in r:
                rec["model"] = "m-1"
            fh.write(json.dumps(rec | r) + "\n")
    return head[0]["id"], pay[0]["id"]


def test_match_writes_matches_and_sightings(tmp_path):
    head_id, pay_id = _setup(tmp_path)
    out = tmp_path / "out"
    args = ["match", str(tmp_path / "events.jsonl"), "--intel", str(tmp_path / "intel")]
    args += ["--key-file", str(tmp_path / "keys.json"), "--out", str(out), "--org", "Acme", "-q"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    with (out / "matches.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == MATCH_COLUMNS
    assert [r["account_id"] for r in rows] == ["a1", "a2"]
    assert rows[0]["indicator_ids"] == head_id and rows[0]["template_share"] == "1.0000"
    assert rows[1]["infra_matches"] == "payment-fingerprint"
    assert rows[1]["n_requests_matched"] == "0"
    bundle = json.loads((out / "sightings.json").read_text())
    refs = {o["sighting_of_ref"] for o in bundle["objects"] if o["type"] == "sighting"}
    assert refs == {head_id, pay_id}
    assert (out / "quarantine.jsonl").read_text().count("\n") == 1


def test_missing_intel_dir_is_one_line_and_exit_2(tmp_path):
    _setup(tmp_path)
    args = ["match", str(tmp_path / "events.jsonl"), "--intel", str(tmp_path / "nowhere")]
    args += ["--key-file", str(tmp_path / "keys.json"), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 2
    assert "intel pull" in result.output and "Traceback" not in result.output


def test_dismiss_writes_a_false_positive_bundle(tmp_path):
    out = tmp_path / "fp.json"
    args = ["dismiss", IND, "--org", "Acme", "--out", str(out), "--count", "4"]
    args += ["--first-seen", "2026-11-02T00:00:00Z", "--last-seen", "2026-11-03T00:00:00Z"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    objs = json.loads(out.read_text())["objects"]
    fp = next(o for o in objs if o["type"] == "sighting")
    assert fp["sighting_of_ref"] == IND and fp["count"] == 4
    assert fp["extensions"][EXTENSIONS["sighting-feedback"]]["false_positive"] is True
    bad = CliRunner().invoke(_app(), ["dismiss", "x", "--org", "Acme", "--out", str(out)])
    assert bad.exit_code == 2 and "not an indicator id" in bad.output

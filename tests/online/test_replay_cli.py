"""``distillwatch replay`` then ``evaluate``, as a user runs them (real processes)."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "distillwatch"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=600)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def replayed(sim_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("replay")
    # one unreadable record in the middle: quarantined, the rest replayed
    with gzip.open(sim_dir / "events.jsonl.gz", "rt") as fh:
        lines = fh.read().splitlines()
    lines.insert(len(lines) // 2, '{"request_id": "broken", "ts": "yesterday"}')
    (base / "events.jsonl").write_text("\n".join(lines) + "\n")
    done = run("replay", str(base / "events.jsonl"), "--out", str(base / "out"))
    assert done.returncode == 0, done.stderr
    assert "quarantined" in done.stderr and "detections.csv" in done.stderr
    return base


def test_detections_list_every_account_with_what_it_got_served(
    replayed: Path, sim_dir: Path
) -> None:
    det = rows(replayed / "out" / "detections.csv")
    assert list(det[0])[:4] == [
        "account_id",
        "first_flagged_ts",
        "requests_before_flag",
        "tokens_before_flag",
    ]
    truth = {r["account_id"]: r for r in rows(sim_dir / "truth.csv")}
    assert {r["account_id"] for r in det} == set(truth)
    for r in det:
        before, n = int(r["requests_before_flag"]), int(r["n_requests"])
        assert 0 <= before <= n
        assert (r["first_flagged_ts"] == "") == (r["flagged"] == "false")
        if r["flagged"] == "false":
            assert before == n
    flagged_attack = [
        r for r in det if r["flagged"] == "true" and truth[r["account_id"]]["label"] == "attack"
    ]
    assert flagged_attack
    # stopped before the end: some attack account was flagged before its last request
    assert any(int(r["requests_before_flag"]) < int(r["n_requests"]) for r in flagged_attack)


def test_bad_record_is_quarantined(replayed: Path) -> None:
    q = [json.loads(x) for x in (replayed / "out" / "quarantine.jsonl").read_text().splitlines()]
    assert len(q) == 1 and "ts" in json.dumps(q[0])


def test_evaluate_reports_served_share_per_campaign(replayed: Path, sim_dir: Path) -> None:
    out = replayed / "metrics.json"
    done = run("evaluate", str(replayed / "out"), str(sim_dir / "truth.csv"), "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert "served before flagged" in done.stdout
    data = json.loads(out.read_text())
    served = data["served"]
    truth = rows(sim_dir / "truth.csv")
    campaigns = {r["campaign_id"] for r in truth if r["label"] == "attack"}
    assert {c["campaign_id"] for c in served["campaigns"]} == campaigns
    for c in served["campaigns"]:
        assert 0.0 <= c["share_before_flag"] <= 1.0
    assert 0.0 <= served["median_share_before_flag"] <= 1.0
    assert data["recall"] is not None


def test_replay_refuses_a_missing_lists_directory(tmp_path: Path, sim_dir: Path) -> None:
    done = run(
        "replay",
        str(sim_dir / "events.jsonl.gz"),
        "--out",
        str(tmp_path / "o"),
        "--lists",
        str(tmp_path / "nope"),
    )
    assert done.returncode == 2
    assert "--lists" in done.stderr and "Traceback" not in done.stderr

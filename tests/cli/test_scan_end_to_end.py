"""The three commands as a user runs them: simulate -> scan -> evaluate, real processes."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "distillwatch"


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text().splitlines()))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("e2e")
    sim = run("simulate", "--out", str(base / "traffic"), "--seed", "5", "--scale", "0.08")
    assert sim.returncode == 0, sim.stderr
    scan = run("scan", str(base / "traffic" / "events.jsonl.gz"), "--out", str(base / "scan"))
    assert scan.returncode == 0, scan.stderr
    return base


def test_scan_writes_every_contract_file(scanned):
    for name in ("accounts.csv", "campaigns.csv", "report.html", "intel.json", "quarantine.jsonl"):
        assert (scanned / "scan" / name).is_file(), name
    header = (scanned / "scan" / "accounts.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["account_id", "risk", "flagged", "campaign_id", "signals"]
    bundle = json.loads((scanned / "scan" / "intel.json").read_text())
    assert bundle["type"] == "bundle"


def test_attacks_rank_above_benign_and_hydra_is_grouped(scanned):
    truth = {r["account_id"]: r for r in read_csv(scanned / "traffic" / "truth.csv")}
    rows = read_csv(scanned / "scan" / "accounts.csv")
    assert {r["account_id"] for r in rows} == set(truth)
    attack = [float(r["risk"]) for r in rows if truth[r["account_id"]]["label"] == "attack"]
    benign = [float(r["risk"]) for r in rows if truth[r["account_id"]]["label"] == "benign"]
    assert sum(attack) / len(attack) > 0.5 > sum(benign) / len(benign)
    hydra = [
        r["campaign_id"]
        for r in rows
        if truth[r["account_id"]]["persona"] == "hydra" and r["flagged"] == "true"
    ]
    # Flagged hydra accounts are attributed to one campaign, not one each.
    assert hydra and len(set(hydra)) == 1 and hydra[0]


def test_evaluate_reads_the_scan(scanned):
    out = scanned / "metrics.json"
    res = run(
        "evaluate",
        str(scanned / "scan"),
        str(scanned / "traffic" / "truth.csv"),
        "--json",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    metrics = json.loads(out.read_text())
    assert 0.0 <= metrics["auroc"] <= 1.0


def test_missing_input_is_one_line_and_exit_2(tmp_path):
    res = run("scan", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o"))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "nope.jsonl" in res.stderr


def test_bad_records_are_quarantined_and_good_ones_scanned(tmp_path):
    good = {
        "request_id": "r1",
        "ts": "2026-11-02T10:00:00Z",
        "account_id": "a1",
        "model": "m",
        "prompt": "Explain photosynthesis step by step.",
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "request_id": "r2", "account_id": None}),
        json.dumps({**good, "request_id": "r3"}),
    ]
    src = tmp_path / "events.jsonl"
    src.write_text("\n".join(lines) + "\n")
    res = run("scan", str(src), "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    q = [json.loads(x) for x in (tmp_path / "o" / "quarantine.jsonl").read_text().splitlines()]
    assert len(q) == 2 and all(":" in e["source"] for e in q)
    rows = read_csv(tmp_path / "o" / "accounts.csv")
    assert [r["account_id"] for r in rows] == ["a1"]


def test_redact_prompts_keeps_every_prompt_out_of_the_report(scanned, tmp_path):
    import html as html_lib

    plain = (scanned / "scan" / "report.html").read_text()
    assert "Sample prompts" in plain and "[prompt redacted" not in plain
    done = run(
        "scan", str(scanned / "traffic" / "events.jsonl.gz"), "--out", str(tmp_path), "-q",
        "--redact-prompts",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = html_lib.unescape((tmp_path / "report.html").read_text())
    assert "[prompt redacted" in page
    with gzip.open(scanned / "traffic" / "events.jsonl.gz", "rt") as fh:
        prompts = {json.loads(line)["prompt"][:40] for line in fh}
    leaked = [p for p in prompts if len(p) == 40 and p in page]
    assert not leaked, leaked[:3]
    # the CSV contracts are unchanged by the flag
    assert (tmp_path / "accounts.csv").read_text() == (
        scanned / "scan" / "accounts.csv"
    ).read_text()

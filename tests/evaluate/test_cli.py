"""The simulate and evaluate commands end to end (tiny scale)."""

from __future__ import annotations

import csv
import json

import typer
from typer.testing import CliRunner

from distillwatch.cli import evaluate_cmd, simulate_cmd


def _app():
    app = typer.Typer()
    simulate_cmd.register(app)
    evaluate_cmd.register(app)
    return app


def test_simulate_then_evaluate_a_perfect_scan(tmp_path):
    runner = CliRunner()
    traffic = tmp_path / "traffic"
    result = runner.invoke(
        _app(), ["simulate", "--out", str(traffic), "--scale", "0.02", "--days", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "total" in result.output
    scan = tmp_path / "scan"
    scan.mkdir()
    with open(traffic / "truth.csv") as fh:
        truth = list(csv.DictReader(fh))
    with open(scan / "accounts.csv", "w") as fh:
        fh.write("account_id,risk,flagged,campaign_id,signals\n")
        for row in truth:
            attack = row["label"] == "attack"
            fh.write(
                f"{row['account_id']},{1.0 if attack else 0.0},{str(attack).lower()},"
                f"{row['campaign_id']},\n"
            )
    out = tmp_path / "m.json"
    result = runner.invoke(
        _app(), ["evaluate", str(scan), str(traffic / "truth.csv"), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["recall"] == 1.0 and metrics["fpr"] == 0.0
    assert metrics["auroc"] == 1.0 and metrics["ari"] == 1.0
    assert metrics["n_attack"] == sum(r["label"] == "attack" for r in truth)


def test_usage_errors_are_one_line_with_exit_code_two(tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        _app(), ["simulate", "--out", str(tmp_path), "--mix", "nosuch=1", "--scale", "0.01"]
    )
    assert result.exit_code == 2
    assert "unknown persona 'nosuch'" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(_app(), ["simulate", "--out", str(tmp_path), "--corpora", str(tmp_path)])
    assert result.exit_code == 2 and "lacks" in result.output
    result = runner.invoke(_app(), ["evaluate", str(tmp_path), str(tmp_path / "t.csv")])
    assert result.exit_code == 2 and "does not exist" in result.output

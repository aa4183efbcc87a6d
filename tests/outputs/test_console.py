from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from distillwatch.outputs import print_summary
from distillwatch.results import SignalHit


def _run(result, top=5, width=200) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    print_summary(result, console, Path("scan-out/report.html"), top=top)
    return console.file.getvalue()


def test_top_campaigns_in_risk_order_with_evidence(scan_result):
    out = _run(scan_result)
    assert out.index("cmp-0001") < out.index("cmp-0002")
    camp = next(c for c in scan_result.campaigns if c.campaign_id == "cmp-0001")
    assert f"{camp.n_requests:,}" in out and f"{camp.risk:.3f}" in out
    assert "24 accounts share one payment card and a /24" in out  # strongest evidence
    assert "87% of prompts ask for step-by-step reasoning" in out


def test_top_limits_the_table(scan_result):
    out = _run(scan_result, top=1)
    assert "cmp-0001" in out and "cmp-0002" not in out
    assert "1 of 2" in out


def test_counts_and_report_path(scan_result):
    out = _run(scan_result)
    n_flagged = sum(a.flagged for a in scan_result.accounts)
    assert f"{scan_result.n_events:,} events" in out
    assert f"{len(scan_result.accounts):,} accounts" in out
    assert f"{n_flagged} flagged" in out
    assert "2 campaigns (1 flagged)" in out
    assert "20 records quarantined (missing_field:prompt: 15, bad_json: 5)" in out
    assert out.rstrip().endswith("Report: scan-out/report.html")


def test_input_text_is_not_rich_markup(scan_result):
    camp = next(c for c in scan_result.campaigns if c.campaign_id == "cmp-0001")
    camp.campaign_id = "[bold]cmp[/bold]"
    camp.hits.append(SignalHit("volume", 1.0, 9.0, {}, "[red]9000[/red] requests"))
    out = _run(scan_result)
    assert "[bold]cmp[/bold]" in out
    assert "[red]9000[/red] requests" in out


def test_no_campaigns(empty_result):
    out = _run(empty_result)
    assert "No campaigns detected." in out and "0 events" in out

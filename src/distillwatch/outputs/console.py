"""The end-of-scan summary on the terminal (Rich).

Values from the input are passed as :class:`rich.text.Text`, never as markup, so an account
or a summary containing ``[red]`` prints literally.

>>> import io
>>> from pathlib import Path
>>> from rich.console import Console
>>> from distillwatch.results import IngestSummary, ScanResult
>>> con = Console(file=io.StringIO(), width=100, color_system=None)
>>> empty = ScanResult([], [], IngestSummary(), None, None, 0.5, 0)
>>> print_summary(empty, con, Path("out/report.html"))
>>> "No campaigns detected" in con.file.getvalue()
True
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from distillwatch.outputs.fmt import ranked_campaigns
from distillwatch.results import CampaignVerdict, ScanResult

EVIDENCE_LINES = 2


def _evidence(camp: CampaignVerdict) -> Text:
    top = sorted((h for h in camp.hits if h.contribution > 0), key=lambda h: -h.contribution)
    lines = [f"{h.signal_id}: {h.summary or f'score {h.score:.2f}'}" for h in top[:EVIDENCE_LINES]]
    return Text("\n".join(lines) or "—")


def print_summary(result: ScanResult, console: Console, report_path: Path, top: int = 5) -> None:
    """Print the top *top* campaigns, the counts, then where the report is."""
    campaigns = ranked_campaigns(result.campaigns)
    n_flagged_campaigns = sum(1 for c in campaigns if c.flagged)
    if campaigns:
        table = Table(title=f"Top campaigns ({min(top, len(campaigns))} of {len(campaigns)})")
        table.add_column("campaign", overflow="fold")
        table.add_column("flagged")
        table.add_column("accounts", justify="right")
        table.add_column("requests", justify="right")
        table.add_column("risk", justify="right")
        table.add_column("main evidence", overflow="fold")
        for camp in campaigns[:top]:
            table.add_row(
                Text(camp.campaign_id),
                Text("yes", style="bold red") if camp.flagged else Text("no"),
                f"{len(camp.account_ids):,}",
                f"{camp.n_requests:,}",
                f"{camp.risk:.3f}",
                _evidence(camp),
            )
        console.print(table)
    else:
        console.print("No campaigns detected.")
    n_flagged = sum(1 for a in result.accounts if a.flagged)
    counts = Text.assemble(
        f"{result.n_events:,} events, {len(result.accounts):,} accounts, ",
        (f"{n_flagged:,} flagged", "bold red" if n_flagged else ""),
        f", {len(result.campaigns):,} campaigns ({n_flagged_campaigns:,} flagged), ",
        f"{result.ingest.n_quarantined:,} records quarantined",
    )
    if result.ingest.quarantined:
        reasons = ", ".join(f"{r}: {n:,}" for r, n in result.ingest.quarantined.most_common())
        counts.append(f" ({reasons})")
    console.print(counts)
    review = f"distillwatch ui --scan {report_path.parent}"
    console.print(Text.assemble("Review and decide in the console: ", (review, "bold")))
    console.print(Text.assemble("Report: ", (str(report_path), "bold")))

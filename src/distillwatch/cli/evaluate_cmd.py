"""The ``distillwatch evaluate`` command: score a scan against simulator truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _print_served(console: Console, served: Any) -> None:
    """The replay table: how much of each campaign was served before it was stopped."""
    t = Table(title="served before flagged (replay: each request scored before serving)")
    for col in (
        "campaign",
        "persona",
        "accounts",
        "requests",
        "served before flag",
        "share",
        "hours to 1st flag",
    ):
        t.add_column(col, justify="left" if col in ("campaign", "persona") else "right")
    for c in served.campaigns:
        t.add_row(
            c.campaign_id,
            c.persona,
            str(c.n_accounts),
            f"{c.n_requests:,}",
            f"{c.requests_before_flag:,}",
            f"{c.share_before_flag:.2%}",
            _fmt(c.hours_to_detection, 2),
        )
    console.print(t)
    share = served.median_share_before_flag
    console.print(
        "median over campaigns: "
        + ("n/a" if share is None else f"{share:.2%}")
        + " of requests served before flagged; "
        + f"{_fmt(served.median_hours_to_detection, 2)} h to the first flag",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add the evaluate command to *app*."""
    from distillwatch.cli.main import err_console, one_line_errors

    @app.command("evaluate")
    @one_line_errors
    def evaluate(
        scan_dir: Annotated[Path, typer.Argument(help="Output directory of distillwatch scan.")],
        truth_csv: Annotated[Path, typer.Argument(help="truth.csv from distillwatch simulate.")],
        json_out: Annotated[
            Path | None, typer.Option("--json", help="Also write every metric as JSON here.")
        ] = None,
    ) -> None:
        """Recall, false-positive rate, AUROC and campaign agreement of a scan."""
        import orjson

        from distillwatch.errors import OutputError
        from distillwatch.evaluate import evaluate as run

        m = run(scan_dir / "accounts.csv", truth_csv)
        for warning in m.warnings:
            err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
        console = Console()
        summary = Table(title="detection quality")
        summary.add_column("metric")
        summary.add_column("value", justify="right")
        summary.add_column("detail")
        summary.add_row(
            "attack recall (flagged)",
            _fmt(m.recall),
            f"{m.true_positives}/{m.n_attack} attack accounts",
        )
        summary.add_row(
            "benign FPR (flagged)", _fmt(m.fpr), f"{m.false_positives}/{m.n_benign} benign accounts"
        )
        summary.add_row(
            "precision",
            _fmt(m.precision),
            f"{m.true_positives}/{m.true_positives + m.false_positives} flagged",
        )
        summary.add_row("AUROC (risk)", _fmt(m.auroc), "ties by mid-rank")
        summary.add_row(
            f"recall at FPR <= {m.target_fpr:.1%}",
            _fmt(m.recall_at_target_fpr),
            "best risk threshold",
        )
        summary.add_row(
            "campaign ARI", _fmt(m.ari), f"over {m.n_ari_accounts} flagged attack accounts"
        )
        console.print(summary)
        camp = Table(title="recall per true campaign")
        for col in ("campaign", "persona", "actor", "accounts", "flagged", "recall", "pred. ids"):
            camp.add_column(col, justify="right" if col in ("accounts", "flagged") else "left")
        for c in m.campaigns:
            camp.add_row(
                c.campaign_id,
                c.persona,
                c.actor_id,
                str(c.n_accounts),
                str(c.n_flagged),
                _fmt(c.recall, 3),
                str(c.n_predicted_campaigns),
            )
        console.print(camp)
        fps = Table(title="false positives per benign persona")
        for col in ("persona", "accounts", "flagged", "FPR"):
            fps.add_column(col, justify="left" if col == "persona" else "right")
        for p in m.benign_personas:
            fps.add_row(p.persona, str(p.n_accounts), str(p.n_flagged), _fmt(p.fpr))
        console.print(fps)
        data = m.to_dict()
        if (scan_dir / "detections.csv").exists():
            from distillwatch.evaluate.served import served_before_flag

            served = served_before_flag(scan_dir / "detections.csv", truth_csv)
            _print_served(console, served)
            data["served"] = served.to_dict()
        if json_out is not None:
            try:
                json_out.parent.mkdir(parents=True, exist_ok=True)
                json_out.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
            except OSError as exc:
                raise OutputError(f"cannot write {json_out}: {exc.strerror}") from exc
            console.print(f"wrote {json_out}")

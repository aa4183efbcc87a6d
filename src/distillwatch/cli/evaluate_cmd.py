"""The ``distillwatch evaluate`` command: score a scan against simulator truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


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
        if json_out is not None:
            try:
                json_out.parent.mkdir(parents=True, exist_ok=True)
                json_out.write_bytes(orjson.dumps(m.to_dict(), option=orjson.OPT_INDENT_2))
            except OSError as exc:
                raise OutputError(f"cannot write {json_out}: {exc.strerror}") from exc
            console.print(f"wrote {json_out}")

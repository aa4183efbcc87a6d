"""The ``distillwatch simulate`` command: labelled synthetic traffic for evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    """Add the simulate command to *app*."""
    from distillwatch.cli.main import one_line_errors

    @app.command("simulate")
    @one_line_errors
    def simulate(
        out: Annotated[Path, typer.Option("--out", help="Directory to write into.")],
        seed: Annotated[int, typer.Option(help="Random seed; same seed, same files.")] = 7,
        days: Annotated[int, typer.Option(help="Days of traffic.")] = 7,
        scale: Annotated[float, typer.Option(help="Multiplier on every account count.")] = 1.0,
        mix: Annotated[
            str | None,
            typer.Option(help="Per-persona account multipliers, e.g. hydra=0,batch_classifier=2."),
        ] = None,
        corpora: Annotated[
            Path | None,
            typer.Option(
                help="Prompt corpora directory (default: $DISTILLWATCH_CORPORA "
                "or the nearest shared/data/corpora)."
            ),
        ] = None,
        start: Annotated[str, typer.Option(help="First day (UTC), YYYY-MM-DD.")] = "2026-11-02",
    ) -> None:
        """Write DIR/events.jsonl.gz (canonical events) and DIR/truth.csv (labels)."""
        from distillwatch.sim import SimConfig, parse_mix
        from distillwatch.sim import simulate as run
        from distillwatch.sim.spec import load_personas

        names = load_personas()[0].keys()
        config = SimConfig(
            out=out,
            seed=seed,
            days=days,
            scale=scale,
            mix=parse_mix(mix, names),
            corpora=corpora,
            start=start,
        )
        summary = run(config)
        table = Table(title=f"simulated traffic (seed {seed}, {days} days, scale {scale:g})")
        table.add_column("persona")
        table.add_column("label")
        table.add_column("accounts", justify="right")
        table.add_column("events", justify="right")
        for row in sorted(summary.by_persona, key=lambda r: (r.label != "benign", r.persona)):
            style = "red" if row.label == "attack" else None
            table.add_row(
                row.persona, row.label, f"{row.accounts:,}", f"{row.events:,}", style=style
            )
        table.add_row("total", "", f"{summary.n_accounts:,}", f"{summary.n_events:,}", style="bold")
        console = Console()
        console.print(table)
        console.print(
            f"wrote {summary.events_path} and {summary.truth_path} in {summary.seconds:.1f} s"
        )

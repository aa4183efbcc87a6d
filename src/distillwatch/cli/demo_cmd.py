"""``distillwatch demo sharing``: three simulated providers, one actor, with and without sharing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

demo_app = typer.Typer(help="Run whole scenarios end to end.", no_args_is_help=True)


@demo_app.command("sharing")
def sharing(
    out: Annotated[Path, typer.Option("--out", "-o", help="Working directory.")] = Path(
        "demo-sharing"
    ),
    seed: Annotated[int, typer.Option(help="Seed of provider 1 (+1, +2 for the others).")] = 101,
    scale: Annotated[float, typer.Option(help="Simulator scale of each provider.")] = 0.3,
    days: Annotated[int, typer.Option(help="Days simulated per provider.")] = 7,
    stagger: Annotated[int, typer.Option(help="Days between the actor's arrivals.")] = 2,
    cadence: Annotated[float, typer.Option(help="Hours between a provider's scans.")] = 1.0,
    horizon: Annotated[float, typer.Option(help="Hours scanned after arrival.")] = 24.0,
    config: Annotated[
        Path | None, typer.Option(help="Scan config TOML (e.g. a [peer] weight/cap to try).")
    ] = None,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="Providers 2 and 3 judge each request as it arrives (the gateway's scorer) "
            "instead of scanning every CADENCE hours.",
        ),
    ] = False,
) -> None:
    """The first provider detects and publishes to a local hub; the others pull and match.

    Prints, per provider, the campaign's requests served before it was flagged, scanning
    alone and with the peers' intel, and checks that no prompt reached the hub.
    """
    from distillwatch.cli.main import one_line_errors
    from distillwatch.demo.sharing import run_sharing_demo

    console = Console()

    @one_line_errors
    def run() -> None:
        report = run_sharing_demo(
            out,
            seed=seed,
            scale=scale,
            days=days,
            stagger_days=stagger,
            cadence_hours=cadence,
            horizon_hours=horizon,
            config=config,
            online=online,
            say=lambda m: console.print(m, highlight=False),
        )
        table = Table(title="requests the actor got served before being flagged")
        for col in ("provider", "arrives", "accounts", "alone", "with sharing", "fewer"):
            table.add_column(col, justify="right" if col != "provider" else "left")
        for name in dict.fromkeys(r.name for r in report.runs):
            alone = next(r for r in report.runs if r.name == name and r.mode == "alone")
            shared = next(r for r in report.runs if r.name == name and r.mode == "shared")
            ratio = report.ratio(name)
            table.add_row(
                name,
                f"{alone.arrival:%a %d %b}",
                str(alone.n_accounts),
                f"{alone.served_before_flag:,}",
                f"{shared.served_before_flag:,}" if name != "provider-1" else "(first: no peer)",
                f"{ratio:.1f}x" if ratio is not None and name != "provider-1" else "-",
            )
        console.print(table)
        console.print(
            f"hub database {report.hub_db}: {report.prompt_leaks} of "
            f"{report.n_prompts_checked:,} provider prompts found in it",
            highlight=False,
        )
        if report.prompt_leaks:
            raise typer.Exit(1)

    run()


def register(app: typer.Typer) -> None:
    """Add the demo sub-app to *app*."""
    app.add_typer(demo_app, name="demo")

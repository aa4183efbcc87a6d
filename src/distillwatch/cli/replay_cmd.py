"""``distillwatch replay EVENTS... --out DIR``: logged traffic through the online scorer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from distillwatch.cli.main import IntelOption, KeyFileOption, intel_pair
from distillwatch.errors import UsageError


def replay(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="Event files or directories (.jsonl[.gz], .json, .parquet, .csv)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the results.")],
    config: Annotated[Path | None, typer.Option(help="TOML overriding packaged defaults.")] = None,
    lists: Annotated[
        Path | None,
        typer.Option(help="Directory of lists (batch scans' accounts.csv) the scorer reads."),
    ] = None,
    intel: IntelOption = None,
    key_file: KeyFileOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Score each request before serving it, in time order; write when each account was
    flagged and how much it got served before (detections.csv)."""
    from distillwatch.cli.main import run_command

    run_command(
        lambda: _replay(inputs, out, config, lists, intel, key_file, quiet=quiet), debug=debug
    )


def _replay(
    inputs: list[Path],
    out: Path,
    config: Path | None,
    lists: Path | None,
    intel: Path | None,
    key_file: Path | None,
    *,
    quiet: bool,
) -> None:
    from distillwatch.cli.main import make_out_dir
    from distillwatch.config import load_scan_config
    from distillwatch.online.peers import OnlinePeers
    from distillwatch.online.replay import run_replay

    console = Console(stderr=True, quiet=quiet)
    make_out_dir(out)
    if lists is not None and not lists.is_dir():
        raise UsageError(f"--lists {lists} is not a directory; give a directory of scan outputs")
    cfg = load_scan_config(config)
    pair = intel_pair(intel, key_file)
    peers = OnlinePeers(*pair) if pair else None
    started = time.perf_counter()
    with console.status("replaying"):
        result = run_replay(inputs, out, cfg, lists=lists, peers=peers)
    flagged = sum(1 for r in result.accounts.values() if r.flagged_ts is not None)
    console.print(
        f"replayed {result.n_events:,} events of {len(result.accounts):,} accounts in "
        f"{time.perf_counter() - started:.1f}s ({result.n_quarantined:,} quarantined); "
        f"{flagged:,} accounts flagged; wrote {out / 'detections.csv'}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add the replay command to *app*."""
    app.command("replay")(replay)

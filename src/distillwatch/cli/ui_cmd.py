"""``distillwatch ui``: the analyst console over one scan, and its analysts.

    distillwatch ui --scan DIR [--cases FILE] [--host 127.0.0.1] [--port 8710]
                    [--intel DIR] [--key-file KEY] [--hub URL --collection ID]
    distillwatch ui analyst add NAME [--cases FILE]     (prints the token once)
    distillwatch ui analyst list | analyst remove NAME

The case store (decisions, audit trail, analysts) defaults to ``cases.db`` beside the
scan directory, so the decisions on successive scans of one provider stay together.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

CasesOption = Annotated[
    Path | None,
    typer.Option(
        "--cases", help="Case store (SQLite file). Default: cases.db beside the scan directory."
    ),
]


def _cases_path(cases: Path | None, scan: Path | None) -> Path:
    if cases is not None:
        return cases
    if scan is None:
        from distillwatch.errors import UsageError

        raise UsageError("give --cases FILE (the case store of the console)")
    return scan.resolve().parent / "cases.db"


def build_app() -> typer.Typer:
    from distillwatch.cli.main import one_line_errors

    ui = typer.Typer(
        help="The analyst console: review campaigns, decide, share.",
        invoke_without_command=True,
    )
    analyst = typer.Typer(help="Who may sign in to the console.", no_args_is_help=True)
    ui.add_typer(analyst, name="analyst")
    out = Console()

    @ui.callback()
    @one_line_errors
    def serve(
        ctx: typer.Context,
        scan: Annotated[
            Path | None, typer.Option("--scan", help="A scan's output directory (scan --out).")
        ] = None,
        cases: CasesOption = None,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8710,
        org: Annotated[str, typer.Option(help="Your organization's name in shares.")] = (
            "distillwatch-local"
        ),
        intel: Annotated[
            Path | None,
            typer.Option(help="Peers' intel directory (intel pull) for the intel page."),
        ] = None,
        key_file: Annotated[
            Path | None,
            typer.Option(help="The trust group's key file: exact share previews, publishing."),
        ] = None,
        hub: Annotated[str | None, typer.Option(help="Hub URL to publish to.")] = None,
        collection: Annotated[str | None, typer.Option(help="Hub collection id.")] = None,
        token_file: Annotated[
            Path | None,
            typer.Option(help="File holding the hub token (else $DISTILLWATCH_HUB_TOKEN)."),
        ] = None,
    ) -> None:
        """Serve the console at http://HOST:PORT/ (every page needs an analyst token)."""
        if ctx.invoked_subcommand is not None:
            return
        if scan is None:
            out.print(ctx.get_help())
            raise typer.Exit(2)
        from distillwatch.console.analysts import open_analysts
        from distillwatch.console.app import ConsoleSettings, check_settings, create_app
        from distillwatch.errors import ConsoleError
        from distillwatch.results_io import read_result
        from distillwatch.serving import serve_forever

        settings = ConsoleSettings(
            scan_dir=scan,
            cases=_cases_path(cases, scan),
            org_name=org,
            intel_dir=intel,
            key_file=key_file,
            hub_url=hub,
            hub_collection=collection,
            hub_token_file=token_file,
        )
        check_settings(settings)
        scan_id, result = read_result(scan)  # fail here, with one line, not in the server
        store = open_analysts(settings.cases)
        try:
            if not store.list():  # first start: one analyst, its sign-in link printed once
                name = getpass.getuser() or "analyst"
                token = store.add(name)
                out.print(
                    f"No analysts in {settings.cases}: added [bold]{name}[/]. Sign in at "
                    f"http://{host}:{port}/login?token={token} (shown once; add others with "
                    "`distillwatch ui analyst add NAME`)",
                    highlight=False,
                    soft_wrap=True,
                )
        finally:
            store.close()
        flagged = sum(1 for c in result.campaigns if c.flagged)
        out.print(
            f"scan {scan_id}: {len(result.campaigns):,} campaigns ({flagged} flagged), "
            f"{len(result.accounts):,} accounts; decisions in {settings.cases}; "
            f"console at http://{host}:{port}/",
            highlight=False,
        )
        serve_forever(
            create_app(settings), host=host, port=port, log_level="warning", error=ConsoleError
        )

    @analyst.command("add")
    @one_line_errors
    def analyst_add(
        name: Annotated[str, typer.Argument(help="The analyst's name, shown on decisions.")],
        cases: CasesOption = None,
        scan: Annotated[Path | None, typer.Option(help="Locate cases.db beside this scan.")] = None,
    ) -> None:
        """Add an analyst and print their token once."""
        from distillwatch.console.analysts import open_analysts

        store = open_analysts(_cases_path(cases, scan))
        try:
            token = store.add(name)
        finally:
            store.close()
        out.print(f"analyst {name} added; token (shown once):", highlight=False)
        print(token)

    @analyst.command("list")
    @one_line_errors
    def analyst_list(
        cases: CasesOption = None,
        scan: Annotated[Path | None, typer.Option(help="Locate cases.db beside this scan.")] = None,
    ) -> None:
        """Analysts who may sign in."""
        from distillwatch.console.analysts import open_analysts

        store = open_analysts(_cases_path(cases, scan))
        try:
            for a in store.list():
                out.print(f"{a.name}\tadded {a.created:%Y-%m-%d %H:%M}", highlight=False)
        finally:
            store.close()

    @analyst.command("remove")
    @one_line_errors
    def analyst_remove(
        name: Annotated[str, typer.Argument(help="The analyst to remove.")],
        cases: CasesOption = None,
        scan: Annotated[Path | None, typer.Option(help="Locate cases.db beside this scan.")] = None,
    ) -> None:
        """Remove an analyst: their token stops working (their decisions stay)."""
        from distillwatch.console.analysts import open_analysts
        from distillwatch.errors import ConsoleError

        store = open_analysts(_cases_path(cases, scan))
        try:
            if not store.remove(name):
                raise ConsoleError(f"no analyst named {name!r}; see `distillwatch ui analyst list`")
        finally:
            store.close()
        out.print(f"analyst {name} removed", highlight=False)

    return ui


def register(app: typer.Typer) -> None:
    """Add ``ui`` to *app*."""
    app.add_typer(build_app(), name="ui")

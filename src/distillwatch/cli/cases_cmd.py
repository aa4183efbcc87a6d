"""``distillwatch cases ...``: the analysts' decisions, from the command line (for scripts).

    distillwatch cases list --db FILE [--scan-id ID] [--json]
    distillwatch cases decide --db FILE --scan DIR (--campaign ID | --account ID)
                              --decision confirm|dismiss|escalate --analyst NAME [--note TEXT]
    distillwatch cases verify --db FILE

``--db`` is the case store: a file (SQLite, created by ``decide`` if missing) or a database
URL. ``decide`` reads the scan id from ``DIR/result.json.gz`` and refuses a campaign or
account the scan does not contain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from distillwatch.errors import UsageError

DbOption = Annotated[
    str,
    typer.Option("--db", help="Case store: a SQLite file, or a database URL (sqlite:///...)."),
]


def _subject(campaign: str | None, account: str | None) -> tuple[str, str]:
    if (campaign is None) == (account is None):
        raise UsageError("give exactly one of --campaign ID or --account ID")
    return ("campaign", campaign) if campaign is not None else ("account", str(account))


def build_app() -> typer.Typer:
    """The ``cases`` Typer app with its sub-commands."""
    from distillwatch.cli.main import one_line_errors

    cases = typer.Typer(
        help="Analysts' decisions on scan results and their audit trail.",
        no_args_is_help=True,
    )
    out = Console()

    @cases.command("list")
    @one_line_errors
    def list_cmd(
        db: DbOption,
        scan_id: Annotated[
            str | None, typer.Option("--scan-id", help="Only the decisions on this scan.")
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON (one object per decision).")
        ] = False,
    ) -> None:
        """Every decision, oldest first (the history; the newest per subject counts)."""
        import orjson

        from distillwatch.cases.store import open_case_store

        with open_case_store(db, create=False) as store:
            found = store.decisions(scan_id)
        if as_json:
            rows = [
                {
                    "id": d.id,
                    "scan_id": d.scan_id,
                    "subject_kind": d.subject_kind,
                    "subject_id": d.subject_id,
                    "decision": d.decision,
                    "analyst": d.analyst,
                    "note": d.note,
                    "decided_at": d.decided_at.isoformat(),
                }
                for d in found
            ]
            print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
            return
        title = "decisions" + (f" on scan {scan_id}" if scan_id else "")
        table = Table(title=title)
        columns = ["when (UTC)", "analyst", "subject", "decision", "note"]
        if scan_id is None:
            columns.insert(1, "scan")
        for col in columns:  # ids are shown whole (folded), never cut
            table.add_column(col, overflow="fold")
        for d in found:
            cells = [
                d.decided_at.strftime("%Y-%m-%d %H:%M:%S"),
                d.analyst,
                f"{d.subject_kind} {d.subject_id}",
                d.decision,
                d.note,
            ]
            if scan_id is None:
                cells.insert(1, d.scan_id)
            table.add_row(*cells)
        out.print(table)
        if not found:
            out.print("no decisions yet", highlight=False)

    @cases.command("decide")
    @one_line_errors
    def decide_cmd(
        db: DbOption,
        scan: Annotated[
            Path, typer.Option("--scan", help="Scan output directory (holds result.json.gz).")
        ],
        decision: Annotated[str, typer.Option("--decision", help="confirm, dismiss or escalate.")],
        analyst: Annotated[str, typer.Option("--analyst", help="Who decides.")],
        campaign: Annotated[
            str | None, typer.Option("--campaign", help="Campaign id to decide on.")
        ] = None,
        account: Annotated[
            str | None, typer.Option("--account", help="Account id to decide on.")
        ] = None,
        note: Annotated[str, typer.Option("--note", help="Why (at most 2,000 characters).")] = "",
    ) -> None:
        """Record a decision on a campaign or account of a scan (with its audit entry)."""
        from distillwatch.cases.store import open_case_store
        from distillwatch.results_io import read_result

        kind, subject_id = _subject(campaign, account)
        scan_id, result = read_result(scan)
        known = (
            {c.campaign_id for c in result.campaigns}
            if kind == "campaign"
            else {a.account_id for a in result.accounts}
        )
        if subject_id not in known:
            listing = "campaigns.csv" if kind == "campaign" else "accounts.csv"
            raise UsageError(
                f"scan {scan} (scan id {scan_id}) has no {kind} {subject_id!r}; "
                f"see {scan / listing} for its ids"
            )
        with open_case_store(db) as store:
            d = store.decide(scan_id, kind, subject_id, decision, analyst, note)
        out.print(
            f"decision {d.id}: {d.decision} {kind} {subject_id} of scan {scan_id} "
            f"by {d.analyst} at {d.decided_at.isoformat()}",
            highlight=False,
            soft_wrap=True,
        )

    @cases.command("verify")
    @one_line_errors
    def verify_cmd(db: DbOption) -> None:
        """Recompute the audit chain and check every decision against it; exit 1 if broken."""
        from distillwatch.cases.store import open_case_store

        with open_case_store(db, create=False) as store:
            report = store.verify()
        if not report.ok:
            Console(stderr=True).print(
                f"[bold red]case audit trail broken:[/] {report.problem}",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1)
        out.print(
            f"case audit trail intact: {report.entries} entries, {report.decisions} decisions, "
            f"head {report.head_hash}",
            highlight=False,
            soft_wrap=True,
        )

    return cases


def register(app: typer.Typer) -> None:
    """Add the ``cases`` command group to *app*."""
    app.add_typer(build_app(), name="cases")

"""``distillwatch scan INPUT... --out DIR``: find extraction campaigns in API logs."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from distillwatch.cli.main import IntelOption, KeyFileOption, intel_pair

#: inputs of at least this many bytes (as stored, compressed or not) are spooled to Parquet
SPOOL_MIN_BYTES = 256 << 20

STAGES = {
    "text": "reading prompts",
    "templates": "grouping prompt templates",
    "accounts": "scoring accounts",
    "graph": "linking accounts",
    "campaigns": "scoring campaigns",
    "intel": "matching peers' indicators",
}


def scan(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="Event files or directories (.jsonl[.gz], .json, .parquet, .csv)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the results.")],
    config: Annotated[Path | None, typer.Option(help="TOML overriding packaged defaults.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
    intel: IntelOption = None,
    key_file: KeyFileOption = None,
    redact_prompts: Annotated[
        bool,
        typer.Option(
            "--redact-prompts",
            help="Replace sample prompts and template texts in report.html by their length.",
        ),
    ] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="Where the relational work runs: duckdb (embedded, default) or spark"
            " (needs the spark extra and Java 17).",
        ),
    ] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="Spark master URL, e.g. local[2] or spark://host:7077 (default:"
            " $DISTILLWATCH_SPARK_MASTER, else spark-submit's, else local[*]).",
        ),
    ] = None,
    spark_conf: Annotated[
        list[str] | None,
        typer.Option("--spark-conf", help="A Spark setting KEY=VALUE (repeatable)."),
    ] = None,
    incremental: Annotated[
        Path | None,
        typer.Option(
            "--incremental",
            help="State directory: read only input files not seen by earlier scans with this"
            " state, and scan them together with the events kept from those scans.",
        ),
    ] = None,
    spool: Annotated[
        bool | None,
        typer.Option(
            "--spool/--in-memory",
            help="Stream the events to Parquet files under --out and let DuckDB read them"
            " (bounded memory, for inputs larger than memory), or hold them in memory."
            f" Default: spool when the input files hold {SPOOL_MIN_BYTES >> 20} MiB or more.",
        ),
    ] = None,
) -> None:
    """Rank accounts by extraction risk, group them into campaigns, explain each verdict.

    INPUT may be files, directories (read recursively, e.g. a Parquet data set
    partitioned as date=YYYY-MM-DD/part-*.parquet) or quoted glob patterns.
    """
    from distillwatch.cli.main import run_command

    run_command(
        lambda: _scan(
            inputs,
            out,
            config,
            quiet=quiet,
            intel=intel,
            key_file=key_file,
            redact_prompts=redact_prompts,
            engine=_engine(engine, spark_master, spark_conf or []),
            incremental=incremental,
            spool=spool,
        ),
        debug=debug,
    )


def _engine(name: str, master: str | None, conf: list[str]) -> Any:
    """The engine the options ask for (nothing is started yet)."""
    from distillwatch.engines import make_engine
    from distillwatch.errors import UsageError

    if name != "spark":
        if master is not None or conf:
            raise UsageError("--spark-master and --spark-conf need --engine spark")
        return make_engine(name)
    settings: dict[str, str] = {}
    for item in conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--spark-conf {item!r}: write it as KEY=VALUE")
        settings[key.strip()] = value.strip()
    return make_engine("spark", master=master, conf=settings)


def _peer_input(intel: Path | None, key_file: Path | None, console: Console) -> Any:
    pair = intel_pair(intel, key_file)
    if pair is None:
        return None
    intel, key_file = pair
    from datetime import UTC, datetime

    from distillwatch.intel.keys import load_keyring
    from distillwatch.intel.store import load_intel
    from distillwatch.pipeline import PeerInput

    keyring = load_keyring(key_file)
    peer_intel = load_intel(intel, at=datetime.now(UTC))
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(peer_intel.counts().items()))
    console.print(f"peer indicators in force: {counts or 'none'}", highlight=False)
    return PeerInput(peer_intel, keyring)


def _scan(
    inputs: list[Path],
    out: Path,
    config: Path | None,
    *,
    quiet: bool,
    intel: Path | None = None,
    key_file: Path | None = None,
    redact_prompts: bool = False,
    engine: Any = None,
    incremental: Path | None = None,
    spool: bool | None = None,
) -> None:
    from distillwatch.cli.main import make_out_dir
    from distillwatch.config import load_scan_config
    from distillwatch.ingest import load_events
    from distillwatch.outputs import print_summary, write_outputs
    from distillwatch.pipeline import run_scan

    console = Console(stderr=True, quiet=quiet)
    make_out_dir(out)
    cfg = load_scan_config(config)
    peer = _peer_input(intel, key_file, console)
    started = time.perf_counter()
    spooled = False
    if incremental is not None:
        from distillwatch.ingest.incremental import load_incremental

        events, summary, state = load_incremental(
            inputs, incremental, out / "quarantine.jsonl", engine=engine, progress=not quiet
        )
        console.print(
            f"incremental: {state.n_new_files} new file(s), {state.n_known_files} already in"
            f" {incremental}; scanning {state.n_events:,} events in all",
            highlight=False,
        )
    elif spooled := _spooling(spool, inputs, engine, incremental):
        from distillwatch.features.text import with_text_features
        from distillwatch.ingest.spool import spool_events

        events = spool_events(
            inputs,
            out / "quarantine.jsonl",
            out / "spool",
            transform=with_text_features,
            workers=os.cpu_count() or 1,
            progress=not quiet,
        )
        summary = events.summary
        console.print(
            f"spooled {events.n_rows:,} events with their text features to {events.directory}"
            f" ({len(events.files)} Parquet files)",
            highlight=False,
        )
    else:
        events, summary = load_events(inputs, out / "quarantine.jsonl", progress=not quiet)
    dropped = (
        "duplicate request ids are dropped while scanning"
        if spooled
        else f"{summary.n_duplicates:,} duplicate request ids dropped"
    )
    console.print(
        f"read {summary.n_ok:,} events from {len(summary.sources)} file(s)"
        f" in {time.perf_counter() - started:.1f}s; {summary.n_quarantined:,} quarantined"
        f", {dropped}"
    )
    for reason, count in summary.quarantined.most_common():
        console.print(f"  quarantined {count:,} x {reason}", highlight=False)
    for reason, count in summary.warnings.most_common():
        console.print(f"  warning {count:,} x {reason}", highlight=False)

    with console.status("scanning") as status:

        def progress(stage: str) -> None:
            status.update(f"{STAGES.get(stage, stage)} ({time.perf_counter() - started:.0f}s)")

        # Hand the only reference to the pipeline, which frees the table once DuckDB has it.
        holder = [events]
        del events
        result = run_scan(
            holder.pop(),
            summary,
            cfg,
            progress=progress,
            work_dir=out,
            peer=peer,
            engine=engine,
        )
    if spooled:  # the Parquet copy of the input served the scan; the results stand alone
        import shutil

        shutil.rmtree(out / "spool", ignore_errors=True)
    paths = write_outputs(
        result,
        out,
        redact_prompts=redact_prompts,
        share_keyring=peer.keyring if peer is not None else None,
    )
    if not quiet:
        print_summary(result, Console(), paths["report.html"])
        console.print(f"scan took {time.perf_counter() - started:.1f}s")


def _spooling(
    spool: bool | None, inputs: list[Path], engine: Any, incremental: Path | None
) -> bool:
    """Whether to stream the events to Parquet (``--spool``) instead of memory."""
    if spool and incremental is not None:
        from distillwatch.errors import UsageError

        raise UsageError("--spool and --incremental do not go together; drop one")
    if spool is not None:
        return spool
    if incremental is not None:
        return False
    from distillwatch.errors import DistillwatchError
    from distillwatch.ingest.discover import discover

    try:
        files, _ = discover(inputs)
    except DistillwatchError:  # reading the inputs reports it, with its own message
        return False
    return sum(f.size for f in files) >= SPOOL_MIN_BYTES


def register(app: typer.Typer) -> None:
    """Add the scan command to *app*."""
    app.command("scan")(scan)

"""``distillwatch intel match`` and ``intel dismiss``: peers' intel against local traffic.

``match EVENTS... --intel DIR --key-file KEY --out DIR [--org NAME] [--tlp amber]`` writes
``DIR/matches.csv`` (one row per account that matched a peer indicator),
``DIR/sightings.json`` (a bundle of sightings ready for ``intel push``; needs ``--org``,
the identity the hub knows you as) and ``DIR/quarantine.jsonl``.

``dismiss INDICATOR_ID --org NAME --out FILE`` writes a bundle holding one false-positive
sighting of a peer's indicator (an analyst's dismissal) to push back to the group.
"""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from distillwatch.errors import OutputError, UsageError

MATCH_COLUMNS = (
    "account_id",
    "indicator_ids",
    "template_share",
    "n_requests_matched",
    "infra_matches",
    "max_confidence",
)


def _timestamp(value: str | None, option: str) -> datetime | None:
    from distillwatch.intel.store import parse_time

    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None:
        raise UsageError(f"{option} {value!r} is not an RFC 3339 time, e.g. 2026-11-02T00:00:00Z")
    return parsed


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, "utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def match(
    events: Annotated[
        list[Path], typer.Argument(help="Event files or directories, as for `scan`.")
    ],
    intel: Annotated[Path, typer.Option("--intel", help="Directory `intel pull` wrote.")],
    key_file: Annotated[Path, typer.Option("--key-file", help="The trust group's key file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the results.")],
    org: Annotated[
        str | None, typer.Option("--org", help="Your organization (signs sightings.json).")
    ] = None,
    tlp_level: Annotated[str, typer.Option("--tlp", help="TLP of the sightings.")] = "amber",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Match peers' indicators against your traffic; write matches.csv and sightings."""
    from distillwatch.cli.main import run_command

    run_command(
        lambda: _match(events, intel, key_file, out, org, tlp_level, quiet=quiet), debug=debug
    )


def _match(
    inputs: list[Path],
    intel_dir: Path,
    key_file: Path,
    out: Path,
    org: str | None,
    tlp_level: str,
    *,
    quiet: bool,
) -> None:
    from distillwatch.cli.main import make_out_dir
    from distillwatch.ingest import load_events
    from distillwatch.intel.keys import load_keyring
    from distillwatch.intel.match import match_events
    from distillwatch.intel.sightings import identity_id, sightings_bundle
    from distillwatch.intel.store import load_intel
    from distillwatch.outputs.tlp import shareable_level

    console = Console(stderr=True, quiet=quiet)
    if org is not None:
        identity_id(org)  # an empty name or TLP:RED are refused before any work
        shareable_level(tlp_level)
    started = time.perf_counter()
    keyring = load_keyring(key_file)
    now = datetime.now(UTC)
    intel = load_intel(intel_dir, at=now)
    counts = ", ".join(f"{n} {kind}" for kind, n in intel.counts().items()) or "none"
    console.print(f"peer indicators in force: {counts} (from {intel.n_files} bundle file(s))")
    for reason, n in intel.skipped.most_common():
        console.print(f"  skipped {n:,} x {reason}", highlight=False)
    make_out_dir(out)
    table, summary = load_events(inputs, out / "quarantine.jsonl", progress=not quiet)
    console.print(
        f"read {summary.n_ok:,} events; {summary.n_quarantined:,} quarantined"
        f", {summary.n_duplicates:,} duplicate request ids dropped"
    )
    with console.status("matching"):
        matches = match_events(table, intel, keyring)
    del table
    for key_id, n in matches.unknown_keys.most_common():
        console.print(
            f"  {n:,} indicator(s) under key {key_id!r} not matched: this key file does not "
            "hold that key (ask your group for it)",
            highlight=False,
        )
    rows = sorted(
        matches.accounts.values(),
        key=lambda a: (-a.n_requests_matched, -a.max_confidence, a.account_id),
    )
    lines = [MATCH_COLUMNS] + [
        (
            a.account_id,
            ";".join(a.indicator_ids),
            f"{a.template_share:.4f}",
            str(a.n_requests_matched),
            ";".join(a.infra_kinds),
            str(a.max_confidence),
        )
        for a in rows
    ]
    try:
        with (out / "matches.csv").open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(lines)
    except OSError as exc:
        raise OutputError(f"cannot write {out / 'matches.csv'}: {exc.strerror or exc}") from exc
    console.print(
        f"{len(matches.accounts):,} account(s) matched {len(matches.indicators):,} peer "
        f"indicator(s); {matches.n_requests_matched:,} request(s) matched a template"
    )
    if org is None:
        console.print("no --org given: sightings.json not written")
    else:
        _write(
            out / "sightings.json",
            sightings_bundle(matches, org_name=org, tlp_level=tlp_level, now=now),
        )
        console.print(f"wrote {len(matches.indicators):,} sighting(s) to {out / 'sightings.json'}")
    console.print(f"wrote {out / 'matches.csv'} in {time.perf_counter() - started:.1f}s")


def dismiss(
    indicator_id: Annotated[str, typer.Argument(help="The peer's indicator id to dismiss.")],
    org: Annotated[str, typer.Option("--org", help="Your organization (signs the sighting).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle file to write.")],
    count: Annotated[int | None, typer.Option(help="Requests that matched it.")] = None,
    first_seen: Annotated[str | None, typer.Option(help="First match (RFC 3339).")] = None,
    last_seen: Annotated[str | None, typer.Option(help="Last match (RFC 3339).")] = None,
    tlp_level: Annotated[str, typer.Option("--tlp", help="TLP of the sighting.")] = "amber",
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Write a false-positive sighting of a peer's indicator (push it with `intel push`)."""

    def body() -> None:
        from distillwatch.intel.sightings import false_positive_sighting, wrap_bundle

        now = datetime.now(UTC)
        sighting = false_positive_sighting(
            indicator_id,
            org_name=org,
            count=count,
            first_seen=_timestamp(first_seen, "--first-seen"),
            last_seen=_timestamp(last_seen, "--last-seen"),
            tlp_level=tlp_level,
            now=now,
        )
        if out.parent and not out.parent.exists():
            raise UsageError(f"directory {out.parent} does not exist; create it first")
        _write(out, wrap_bundle([sighting], org_name=org, tlp_level=tlp_level, now=now))
        Console(stderr=True).print(f"wrote a false-positive sighting of {indicator_id} to {out}")

    from distillwatch.cli.main import run_command

    run_command(body, debug=debug)


def register(intel_app: typer.Typer) -> None:
    """Add ``match`` and ``dismiss`` to the ``intel`` command group."""
    intel_app.command("match")(match)
    intel_app.command("dismiss")(dismiss)

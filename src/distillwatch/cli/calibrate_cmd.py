"""``distillwatch calibrate SCAN_DIR... --cases FILE``: refit the risk model from decisions.

    distillwatch calibrate scan1/ scan2/ --cases cases.db [--truth t1.csv --truth t2.csv]
        [--config current.toml] [--out calibrated.toml] [--holdout 0.3] [--seed 0]
        [--apply] [--json]

Without ``--apply`` it is a dry run: it prints what would change and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from distillwatch.calibrate.calibration import Calibration, LabelledScan

HELP = "\n\n".join(
    [
        "Refit the signal weights and thresholds from analysts' decisions (and simulator "
        "truth) and print the change in held-out metrics before anything is replaced.",
        "Labels: each scan's newest confirm/dismiss decisions in --cases (a campaign decision "
        "also labels its accounts) and, if given, simulator truth: one --truth per scan "
        "directory, in the same order. A decision outweighs truth.",
        "Verdicts are recomputed from the scores stored in each scan's result.json.gz, an "
        "approximation of a re-scan (see distillwatch.calibrate.verdicts).",
        "Without --apply nothing is written or replaced (a dry run). With --apply the new "
        "model is written to --out, a config for `distillwatch scan --config`, and the "
        "apply is recorded in the case store's audit trail.",
    ]
)


@dataclass(frozen=True)
class Inputs:
    scans: list[LabelledScan]
    n_decisions: int


def _load(scan_dirs: list[Path], cases: str, truths: list[Path]) -> Inputs:
    from distillwatch.calibrate.calibration import LabelledScan
    from distillwatch.calibrate.data import scan_data
    from distillwatch.calibrate.labels import check_truth, label_scan
    from distillwatch.cases.store import open_case_store
    from distillwatch.errors import UsageError
    from distillwatch.evaluate.tables import read_truth
    from distillwatch.results_io import read_result

    if truths and len(truths) != len(scan_dirs):
        raise UsageError(
            f"{len(truths)} --truth file(s) for {len(scan_dirs)} scan directories: give one "
            "--truth per scan directory, in the same order, or none"
        )
    loaded = []
    for d in scan_dirs:
        if not d.is_dir():
            raise UsageError(f"scan directory {d} does not exist; give the --out of a scan")
        loaded.append(read_result(d))
    ids = [sid for sid, _ in loaded]
    if len(set(ids)) < len(ids):
        raise UsageError("the same scan is given twice; give each scan directory once")
    if "://" not in cases and not Path(cases).is_file():
        raise UsageError(
            f"no case store at {cases}: give --cases the case store file the analysts' "
            "decisions are in (the console's, or `distillwatch cases decide --db FILE`)"
        )
    store = open_case_store(cases, create=False)
    try:
        decisions = [store.current(sid) for sid in ids]
    finally:
        store.close()
    scans = []
    n_decisions = 0
    for i, (d, (sid, result)) in enumerate(zip(scan_dirs, loaded, strict=True)):
        data = scan_data(sid, result)
        truth = None
        if truths:
            truth = read_truth(truths[i])
            check_truth(data, truth, truths[i])
        labels = label_scan(data, decisions[i], truth)
        n_decisions += sum(1 for x in decisions[i].values() if x.label is not None)
        scans.append(LabelledScan(str(d), data, labels, str(truths[i]) if truths else None))
    return Inputs(scans, n_decisions)


def _summary(cal: Calibration) -> list[str]:
    from distillwatch.calibrate.report import change, fmt, heldout_line

    lines = []
    for h in cal.heldout:
        lines.append(heldout_line(h) + (":" if h.enough else ""))
        if h.enough:
            rb, ra = h.before.rates(), h.after.rates()
            lines += [
                f"  {name}: {fmt(rb[name])} -> {fmt(ra[name])} ({change(rb[name], ra[name])})"
                for name in ("precision", "recall", "fpr", "f1")
            ]
    lines += [
        f"decided {a.kind} now agreeing: before {a.before}/{a.n}, after {a.after}/{a.n}"
        for a in cal.agreeing
        if a.n
    ]
    return lines


def _header(
    inputs: Inputs, cal: Calibration, cases: str, config: Path | None, out: Path
) -> list[str]:
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        f"Risk model calibrated by `distillwatch calibrate` at {when}",
        f"from the model of {config if config else 'the packaged defaults'},",
        f"analysts' decisions in {cases} ({inputs.n_decisions} with a label)",
        "and these scans:",
    ]
    for s in inputs.scans:
        truth = f", truth {s.truth}" if s.truth else ""
        lines.append(f"  {s.source} (scan {s.data.scan_id}{truth})")
    if not cal.campaign_refit:
        lines.append("campaign model: unchanged (not enough campaign labels of both kinds)")
    lines += ["", *_summary(cal), "", f"use: distillwatch scan INPUT --config {out}"]
    return lines


def _audit_detail(inputs: Inputs, cal: Calibration, out: Path) -> dict[str, Any]:
    from distillwatch.calibrate.report import to_dict

    full = to_dict(cal)
    return {
        "out": str(out),
        "scans": [
            {"dir": s.source, "scan_id": s.data.scan_id, "truth": s.truth} for s in inputs.scans
        ],
        "decisions": inputs.n_decisions,
        "models": full["models"],
        "heldout": full["heldout"],
        "decided_agreeing": full["decided_agreeing"],
        "verdict_changes": len(cal.changes),
    }


def _calibrate(
    scan_dirs: list[Path],
    cases: str,
    truths: list[Path],
    config: Path | None,
    out: Path,
    holdout: float,
    seed: int,
    apply: bool,
    as_json: bool,
) -> None:
    import orjson

    from distillwatch.calibrate.calibration import calibrate
    from distillwatch.calibrate.report import print_report, to_dict
    from distillwatch.calibrate.verdicts import Models
    from distillwatch.calibrate.write import config_text
    from distillwatch.cases.store import open_case_store
    from distillwatch.config import load_scan_config
    from distillwatch.errors import UsageError
    from distillwatch.outputs.files import write_text

    if not 0.0 <= holdout < 1.0:
        raise UsageError(f"--holdout {holdout} must be at least 0 and below 1, e.g. 0.3")
    if apply and out.is_dir():
        raise UsageError(f"--out {out} is a directory; give the path of the TOML file to write")
    cfg = load_scan_config(config)
    inputs = _load(scan_dirs, cases, truths)
    cal = calibrate(inputs.scans, Models.from_config(cfg), holdout=holdout, seed=seed)
    console = Console()
    seq = 0
    if not as_json:
        print_report(cal, console)
    if apply:
        text = config_text(
            cal.after.account,
            cal.after.campaign,
            _header(inputs, cal, cases, config, out),
            base=config,
        )
        if out.parent != Path():
            out.parent.mkdir(parents=True, exist_ok=True)
        write_text(out, text)
        load_scan_config(out)  # what scan --config will do: refuse a file it cannot use
        store = open_case_store(cases, create=False)
        try:
            seq = store.record(
                "calibrate", "calibrate.apply", str(out), _audit_detail(inputs, cal, out)
            )
        finally:
            store.close()
    if as_json:
        data = to_dict(cal)
        data["applied"] = str(out) if apply else None
        typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
    elif apply:
        console.print(
            f"wrote {out} (audit entry {seq} in {cases}); scan with: "
            f"distillwatch scan INPUT --config {out}",
            highlight=False,
        )
    else:
        console.print(
            f"dry run: nothing written or replaced; rerun with --apply to write {out} "
            "and record it in the case store",
            highlight=False,
        )


def calibrate_command(
    scan_dirs: Annotated[
        list[Path], typer.Argument(help="Scan output directories (each with result.json.gz).")
    ],
    cases: Annotated[
        str, typer.Option("--cases", help="The case store holding the analysts' decisions.")
    ],
    truth: Annotated[
        list[Path] | None,
        typer.Option(
            "--truth", help="Simulator truth.csv, one per scan directory in the same order."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="The config the scans ran with (default: packaged).")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Where --apply writes the calibrated config.")
    ] = Path("calibrated.toml"),
    holdout: Annotated[
        float, typer.Option(help="Share of labelled groups held out to measure the change.")
    ] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed of the train / held-out split.")] = 0,
    apply: Annotated[
        bool, typer.Option("--apply", help="Write --out and record it; without it, a dry run.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON instead of tables.")
    ] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    from distillwatch.cli.main import run_command

    run_command(
        lambda: _calibrate(
            scan_dirs, cases, truth or [], config, out, holdout, seed, apply, as_json
        ),
        debug=debug,
    )


def register(app: typer.Typer) -> None:
    """Add the calibrate command to *app*."""
    app.command("calibrate", help=HELP)(calibrate_command)

"""outputs stage: turn a :class:`~distillwatch.results.ScanResult` into the contract files.

- :func:`write_outputs` writes ``accounts.csv``, ``campaigns.csv``, ``report.html`` and
  ``intel.json`` (see docs/contracts.md section 2), ``campaigns.json`` (local, raw
  values: :mod:`.campaign_json`) and ``result.json.gz`` (the whole result, lossless, for
  the console and ``calibrate``: :mod:`distillwatch.results_io`) into a directory;
- :func:`print_summary` prints the end-of-scan summary on a Rich console.

One module per file: :mod:`.tables` (CSVs), :mod:`.report` (HTML), :mod:`.intel` (STIX),
:mod:`.console`; the ATLAS catalog is data in ``config/atlas.toml`` (:mod:`.atlas`).

>>> import tempfile
>>> from datetime import datetime
>>> from distillwatch.results import AccountVerdict, IngestSummary, ScanResult
>>> t = datetime(2026, 1, 1)
>>> result = ScanResult([AccountVerdict("a1", 0.1, False, 5, t, t)], [], IngestSummary(), t, t,
...                     0.5, 5)
>>> with tempfile.TemporaryDirectory() as tmp:
...     paths = write_outputs(result, Path(tmp) / "scan")
...     print(*sorted(paths), all(p.is_file() for p in paths.values()))
accounts.csv campaigns.csv campaigns.json intel.json report.html result.json.gz True
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from distillwatch.outputs.console import print_summary
from distillwatch.outputs.files import ensure_dir, write_text
from distillwatch.results import ScanResult

if TYPE_CHECKING:
    from distillwatch.intel.keys import Keyring

__all__ = ["OUTPUT_FILES", "print_summary", "write_outputs"]

#: The files :func:`write_outputs` writes, in writing order (the keys of its result).
OUTPUT_FILES: tuple[str, ...] = (
    "accounts.csv",
    "campaigns.csv",
    "campaigns.json",
    "report.html",
    "intel.json",
    "result.json.gz",
)


def write_outputs(
    result: ScanResult,
    out_dir: Path,
    *,
    org_name: str = "distillwatch-local",
    tlp: str = "amber",
    redact_prompts: bool = False,
    share_keyring: Keyring | None = None,
) -> dict[str, Path]:
    """Write the contract files, campaigns.json and result.json.gz into *out_dir* (created if
    missing).

    Returns ``{file name: path}``. *org_name* names the sharing organization in
    intel.json; *tlp* is its TLP 2.0 level (clear, green, amber, amber+strict, red).
    *redact_prompts* replaces prompts and template texts in report.html by their length;
    *share_keyring* (the trust group's keys) makes the report's share preview exact.
    Raises :class:`~distillwatch.errors.OutputError` if a file cannot be written, and
    :class:`~distillwatch.errors.UsageError` for an unknown TLP level or empty org name
    (checked before anything is written).
    """
    # Imported here: intel pulls in stix2 (~0.3 s), which `distillwatch --help` should not pay.
    from distillwatch.outputs.atlas import load_atlas
    from distillwatch.outputs.campaign_json import campaigns_json
    from distillwatch.outputs.intel import build_bundle
    from distillwatch.outputs.report import render_report
    from distillwatch.outputs.tables import accounts_csv, campaigns_csv
    from distillwatch.results_io import RESULT_FILE, write_result

    atlas = load_atlas()
    texts = {
        "accounts.csv": accounts_csv(result),
        "campaigns.csv": campaigns_csv(result),
        "campaigns.json": campaigns_json(result),
        "report.html": render_report(
            result,
            org_name=org_name,
            atlas=atlas,
            redact_prompts=redact_prompts,
            share_keyring=share_keyring,
            share_tlp=tlp,
        ),
        "intel.json": build_bundle(result, org_name=org_name, tlp_level=tlp, atlas=atlas),
    }
    out = ensure_dir(Path(out_dir))
    paths: dict[str, Path] = {}
    for name in OUTPUT_FILES:
        if name == RESULT_FILE:  # gzip'd JSON, written atomically as well
            paths[name] = write_result(result, out)
        else:
            paths[name] = write_text(out / name, texts[name])
    return paths

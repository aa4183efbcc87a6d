"""Reading the two inputs of an evaluation: a scan's accounts.csv and the truth.csv.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.csv").write_text("account_id,risk,flagged,campaign_id,signals\\nx,0.9,true,c1,s\\n")
>>> read_scan(d / "a.csv")["x"]
ScanRow(risk=0.9, flagged=True, campaign_id='c1')
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from distillwatch.errors import UsageError

SCAN_COLUMNS = ("account_id", "risk", "flagged", "campaign_id")
TRUTH_COLUMNS = ("account_id", "label", "persona", "campaign_id", "actor_id")
_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n", ""}


@dataclass(frozen=True)
class ScanRow:
    risk: float
    flagged: bool
    campaign_id: str


@dataclass(frozen=True)
class TruthRow:
    label: str
    persona: str
    campaign_id: str
    actor_id: str

    @property
    def is_attack(self) -> bool:
        return self.label == "attack"


def read_rows(path: Path, needed: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """The rows of a CSV file with at least the columns ``needed`` (one-line errors)."""
    if not path.is_file():
        raise UsageError(f"{what} {path} does not exist")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in needed if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(
                    f"{what} {path} lacks column(s) {', '.join(missing)}; "
                    f"expected {', '.join(needed)}"
                )
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{what} {path} cannot be read: {exc}") from exc


def read_scan(path: Path) -> dict[str, ScanRow]:
    """accounts.csv (contract 2) by account id."""
    out: dict[str, ScanRow] = {}
    for line, row in enumerate(read_rows(path, SCAN_COLUMNS, "scan accounts file"), start=2):
        try:
            risk = float(row["risk"])
        except (TypeError, ValueError):
            risk = math.nan
        if not math.isfinite(risk):
            raise UsageError(f"{path} line {line}: risk {row['risk']!r} is not a number")
        flag = (row["flagged"] or "").strip().lower()
        if flag not in _TRUE | _FALSE:
            raise UsageError(f"{path} line {line}: flagged {row['flagged']!r} is not true/false")
        out[row["account_id"]] = ScanRow(risk, flag in _TRUE, (row["campaign_id"] or "").strip())
    return out


def read_truth(path: Path) -> dict[str, TruthRow]:
    """truth.csv written by ``distillwatch simulate``, by account id."""
    out: dict[str, TruthRow] = {}
    for line, row in enumerate(read_rows(path, TRUTH_COLUMNS, "truth file"), start=2):
        label = (row["label"] or "").strip()
        if label not in ("attack", "benign"):
            raise UsageError(f"{path} line {line}: label {label!r} is not attack or benign")
        out[row["account_id"]] = TruthRow(
            label=label,
            persona=(row["persona"] or "").strip(),
            campaign_id=(row["campaign_id"] or "").strip(),
            actor_id=(row["actor_id"] or "").strip(),
        )
    return out

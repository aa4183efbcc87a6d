"""JSON-lines files of texts: one object per line with a text field; bad lines quarantined.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "in.jsonl"
>>> _ = p.write_text('{"text": "a", "id": 1}\\nnot json\\n{"id": 2}\\n')
>>> good, bad = read_records(p, "text")
>>> [r.obj["id"] for r in good], [b.reason[:20] for b in bad]
([1], ['not valid JSON: Expe', 'no string field "tex'])
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillwatch.errors import ProvenanceError


@dataclass(frozen=True)
class Record:
    line: int
    obj: dict[str, Any]
    text: str


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str
    raw: str


def read_records(path: Path, field: str = "text") -> tuple[list[Record], list[BadLine]]:
    """The usable records of ``path`` and its bad lines with their reasons."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        raise ProvenanceError(f"{path} not found; give a JSON-lines file of texts") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProvenanceError(f"{path} cannot be read as UTF-8 text: {exc}") from exc
    good: list[Record] = []
    bad: list[BadLine] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            bad.append(BadLine(number, f"not valid JSON: {exc}", raw))
            continue
        if isinstance(obj, str):  # a line that is just a JSON string is a text too
            obj = {field: obj}
        if not isinstance(obj, dict) or not isinstance(obj.get(field), str):
            bad.append(BadLine(number, f'no string field "{field}"', raw))
            continue
        good.append(Record(number, obj, obj[field]))
    return good, bad


def write_quarantine(path: Path, bad: list[BadLine], source: Path) -> None:
    """Write the bad lines of ``source`` with their reasons to ``path``."""
    try:
        with path.open("w", encoding="utf-8") as fh:
            for b in bad:
                row = {"source": str(source), "line": b.line, "reason": b.reason, "raw": b.raw}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ProvenanceError(f"cannot write quarantine {path}: {exc.strerror}") from exc

"""Input paths -> the list of files to read, each with its format.

The format comes from the file name's ending (case-insensitive), see :data:`FORMATS`.
A directory means every such file under it, recursively, in sorted order (so a Parquet
data set partitioned hive-style, ``date=YYYY-MM-DD/part-*.parquet``, is read whole); other
files there are skipped and counted as ``skipped_file:<ending>`` warnings. A file named
explicitly must have a known ending. An input that does not exist but holds ``*``, ``?``
or ``[`` is a glob pattern (``**`` crosses directories), expanded in sorted order.

>>> fmt_of(Path("logs/day1.JSONL.gz")), fmt_of(Path("x.csv")), fmt_of(Path("notes.txt"))
('jsonl', 'csv', None)
"""

from __future__ import annotations

import glob
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from distillwatch.errors import IngestError

#: file ending -> reader name (see readers.READERS)
FORMATS: Final[dict[str, str]] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonl.gz": "jsonl",
    ".ndjson.gz": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".csv": "csv",
    ".csv.gz": "csv",
}
_KNOWN: Final = ", ".join(FORMATS)


@dataclass(frozen=True)
class InputFile:
    """One file to read."""

    path: Path
    #: reader name: ``jsonl``, ``json``, ``parquet`` or ``csv``
    fmt: str
    #: gzip-compressed (``.gz`` ending)
    gzip: bool
    size: int


def ending(path: Path) -> str:
    """Lower-case ending used to pick the format: the last suffix, or the last two when
    the last is ``.gz``.

    >>> ending(Path("a.b.CSV.gz")), ending(Path("Makefile"))
    ('.csv.gz', '')
    """
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def fmt_of(path: Path) -> str | None:
    """Reader name for *path*, or None if its ending is not a known format."""
    return FORMATS.get(ending(path))


def _input_file(path: Path, fmt: str) -> InputFile:
    return InputFile(path, fmt, ending(path).endswith(".gz"), path.stat().st_size)


def is_pattern(text: str) -> bool:
    """Whether *text* is a glob pattern (``*``, ``?`` or ``[...]``).

    >>> is_pattern("logs/date=2026-11-*/*.parquet"), is_pattern("logs/day1.jsonl")
    (True, False)
    """
    return any(c in text for c in "*?[")


def expand_pattern(pattern: str) -> list[Path]:
    """The paths a glob *pattern* matches, sorted (``**`` crosses directories).

    Raises IngestError when nothing matches.
    """
    matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True))
    if not matches:
        raise IngestError(
            f"pattern {pattern!r} matches no file; check it (quote it so the shell leaves it"
            " to distillwatch)"
        )
    return matches


def discover(inputs: Sequence[Path]) -> tuple[list[InputFile], Counter[str]]:
    """Files to read (each once, in the given order, directories expanded sorted) and the
    ``skipped_file:<ending>`` counts. Raises IngestError for unusable inputs."""
    if not inputs:
        raise IngestError("no input given; pass one or more log files or directories")
    files: list[InputFile] = []
    skipped: Counter[str] = Counter()
    seen: set[Path] = set()

    def take(path: Path, fmt: str) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(_input_file(path, fmt))

    def take_dir(path: Path) -> None:
        found = 0
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            fmt = fmt_of(child)
            if fmt is None:
                skipped[f"skipped_file:{ending(child) or '(none)'}"] += 1
            else:
                found += 1
                take(child, fmt)
        if not found:
            raise IngestError(
                f"directory {path} has no readable log files ({_KNOWN}); "
                "point at a directory that holds event logs"
            )

    def take_file(path: Path) -> None:
        fmt = fmt_of(path)
        if fmt is None:
            raise IngestError(
                f"{path}: unsupported file type {ending(path) or '(no ending)'!r}; "
                f"rename it to one of {_KNOWN}"
            )
        take(path, fmt)

    for raw in inputs:
        path = Path(raw)
        if not path.exists() and is_pattern(str(raw)):
            for match in expand_pattern(str(raw)):
                if match.is_dir():
                    take_dir(match)
                elif fmt_of(match) is not None:
                    take_file(match)
                else:
                    skipped[f"skipped_file:{ending(match) or '(none)'}"] += 1
            continue
        if not path.exists():
            raise IngestError(f"input {path} does not exist; check the path and try again")
        if path.is_dir():
            take_dir(path)
        else:
            take_file(path)
    return files, skipped

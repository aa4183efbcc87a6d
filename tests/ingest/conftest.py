"""Helpers for the ingest tests: canonical events, file writers, a loader that also
returns the quarantine entries."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from distillwatch.ingest import load_events
from distillwatch.results import IngestSummary

FIXTURES = Path(__file__).parent / "fixtures"


def event(i: int = 0, **fields: Any) -> dict[str, Any]:
    """A valid flat canonical event; *fields* override or add (None removes a key)."""
    record: dict[str, Any] = {
        "request_id": f"req-{i}",
        "ts": f"2026-01-05T00:00:{i % 60:02d}Z",
        "account_id": f"acct-{i % 3}",
        "model": "model-a",
        "prompt": f"prompt number {i}",
    }
    for key, value in fields.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def jsonl_bytes(records: Sequence[Any]) -> bytes:
    """JSON Lines; bytes items are written as they are (for malformed lines)."""
    lines = [r if isinstance(r, bytes) else json.dumps(r).encode() for r in records]
    return b"\n".join(lines) + b"\n"


def write_jsonl(path: Path, records: Sequence[Any]) -> Path:
    data = jsonl_bytes(records)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


Loaded = tuple[pa.Table, IngestSummary, list[dict[str, Any]]]


def read_quarantine(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def load(tmp_path: Path) -> Callable[..., Loaded]:
    """``load(inputs, **options)`` -> (table, summary, quarantine entries)."""

    def run(inputs: Sequence[Path] | Path, **options: Any) -> Loaded:
        paths = [inputs] if isinstance(inputs, Path) else list(inputs)
        quarantine = tmp_path / "out" / "quarantine.jsonl"
        table, summary = load_events(paths, quarantine, progress=False, **options)
        return table, summary, read_quarantine(quarantine)

    return run


class Helpers:
    """Functions the tests share (pytest's importlib mode forbids importing conftest)."""

    fixtures = FIXTURES
    event = staticmethod(event)
    jsonl_bytes = staticmethod(jsonl_bytes)
    write_jsonl = staticmethod(write_jsonl)
    read_quarantine = staticmethod(read_quarantine)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers

"""Incremental scans: read only the input files a state directory has not seen yet.

Logs in a data lake grow by new partitions (``date=YYYY-MM-DD/part-*.parquet``) whose
files never change once written. A state directory keeps, for every input file already
scanned, its size and modification time, and the events read from it with their text
features (the costly per-request step) as Parquet batches::

    STATE_DIR/manifest.json            version, files seen, batches in order
    STATE_DIR/events/batch-00000.parquet

:func:`load_incremental` reads and enriches only the new files, appends them as a new
batch, and returns every stored event (the new ones and those of earlier scans) for the
scan. Per-account features, the linkage graph and campaigns are properties of the whole
window, so the relational part of the scan always runs over all stored events; the result
equals a full scan of all the files seen (duplicate request ids keep their first copy, in
the order the files were first seen). A file that changed after it was scanned is an
error, not a silent merge; so is a state written by another version of distillwatch.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> logs = d / "logs"
>>> logs.mkdir()
>>> line = ('{{"request_id": "{}", "ts": 1767571200, "account_id": "a", "model": "m",'
...         ' "prompt": "hi"}}\\n')
>>> _ = (logs / "day1.jsonl").write_text(line.format("r1"))
>>> events, _, state = load_incremental([logs], d / "state", d / "q.jsonl", progress=False)
>>> _ = (logs / "day2.jsonl").write_text(line.format("r2"))
>>> events, _, state = load_incremental([logs], d / "state", d / "q.jsonl", progress=False)
>>> state.n_new_files, state.n_known_files, sorted(events["request_id"].to_pylist())
(1, 1, ['r1', 'r2'])
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from distillwatch.errors import IngestError, OutputError
from distillwatch.ingest.discover import discover
from distillwatch.ingest.load import load_events
from distillwatch.results import IngestSummary

if TYPE_CHECKING:
    from distillwatch.engines import Engine

MANIFEST = "manifest.json"
#: bump when the stored columns change meaning; a state of another version is refused
STATE_FORMAT = 1


@dataclass(frozen=True)
class IncrementalState:
    """What an incremental read did."""

    n_new_files: int
    n_known_files: int
    #: events returned for the scan (all batches, duplicates dropped)
    n_events: int


def _version() -> str:
    from distillwatch import __version__

    return f"{STATE_FORMAT}/{__version__}"


def _read_manifest(state_dir: Path) -> dict[str, Any]:
    path = state_dir / MANIFEST
    if not path.exists():
        return {"version": _version(), "files": {}, "batches": []}
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IngestError(
            f"cannot read the incremental state {path}: {exc}; remove the state directory"
            " to start again"
        ) from exc
    if manifest.get("version") != _version():
        raise IngestError(
            f"the incremental state {state_dir} was written by distillwatch"
            f" {manifest.get('version')!r}, this is {_version()!r}; start a new state directory"
        )
    return manifest


def _write_atomic(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _enrich(events: pa.Table, engine: Engine | None) -> pa.Table:
    """The text feature columns, computed by *engine* (default: in this process)."""
    if engine is None:
        from distillwatch.engines.duckdb import DuckDBEngine

        engine = DuckDBEngine()
    with tempfile.TemporaryDirectory() as tmp:
        con = engine.connect(Path(tmp))
        try:
            return engine.add_text_features(con, events, lambda _: None)
        finally:
            engine.close(con)


def _first_copies(table: pa.Table) -> pa.Table:
    """Rows of *table* whose request id was not seen in an earlier row."""
    ids = table.column("request_id").to_numpy(zero_copy_only=False)
    _, first = np.unique(ids, return_index=True)
    if len(first) == table.num_rows:
        return table
    return table.take(pa.array(np.sort(first)))


def load_incremental(
    inputs: Sequence[Path],
    state_dir: Path,
    quarantine_path: Path,
    *,
    engine: Engine | None = None,
    progress: bool = True,
) -> tuple[pa.Table, IngestSummary, IncrementalState]:
    """Read the files of *inputs* not yet in *state_dir*, store them there with their text
    features, and return every stored event, the ingest summary of the new files, and
    counts. The quarantine file lists the new files' bad records only."""
    files, skipped = discover(inputs)
    inside = state_dir.resolve()
    files = [f for f in files if not f.path.resolve().is_relative_to(inside)]
    try:
        (state_dir / "events").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the incremental state {state_dir}: {exc.strerror or exc};"
            " choose a writable directory"
        ) from exc
    manifest = _read_manifest(state_dir)
    known: dict[str, dict[str, Any]] = manifest["files"]
    new = []
    for f in files:
        stat = f.path.stat()
        seen = known.get(str(f.path.resolve()))
        if seen is None:
            new.append(f)
        elif (seen["size"], seen["mtime_ns"]) != (stat.st_size, stat.st_mtime_ns):
            raise IngestError(
                f"{f.path} changed after it was scanned into {state_dir}; files of a"
                " partition must not change once scanned: start a new state directory"
            )
    if new:
        events, summary = load_events([f.path for f in new], quarantine_path, progress=progress)
        events = _enrich(events, engine)
        batch = f"events/batch-{len(manifest['batches']):05d}.parquet"
        _write_atomic(state_dir / batch, lambda tmp: pq.write_table(events, tmp))
        del events
        for f in new:
            stat = f.path.stat()
            known[str(f.path.resolve())] = {
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
                "batch": batch,
            }
        manifest["batches"].append(batch)
        text = json.dumps(manifest, indent=1, sort_keys=True)
        _write_atomic(state_dir / MANIFEST, lambda tmp: Path(tmp).write_text(text, "utf-8"))
    else:
        quarantine_path.parent.mkdir(parents=True, exist_ok=True)
        quarantine_path.write_bytes(b"")
        summary = IngestSummary()
    summary.warnings.update(skipped)
    if not manifest["batches"]:
        raise IngestError(f"no events in {state_dir} and no new input; check the inputs")
    try:
        stored = pa.concat_tables([pq.read_table(state_dir / b) for b in manifest["batches"]])
    except (OSError, pa.ArrowInvalid) as exc:
        raise IngestError(
            f"cannot read the stored events of {state_dir}: {exc}; remove the state directory"
            " to start again"
        ) from exc
    stored = _first_copies(stored)
    return stored, summary, IncrementalState(len(new), len(files) - len(new), stored.num_rows)

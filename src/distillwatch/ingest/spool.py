"""Streaming ingest into Parquet files, for inputs larger than memory.

:func:`load_events` builds one Arrow table in memory: about 850 MB per million events,
prompts included. :func:`spool_events` reads the same inputs through the same builder and
quarantine, but writes each batch as soon as it is converted (optionally transformed, e.g.
given its text features, in worker processes) to ``part-NNNNN.parquet`` files in a
directory, with a ``seq`` column numbering the rows in input order. Nothing is kept in
memory but the batches in flight; duplicates are left in the files and removed by the
engine that reads them (:func:`deduplicated`: the first ``seq`` of each ``request_id``
wins, as in :func:`load_events`).

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "e.jsonl").write_text(
...     '{"request_id": "r1", "ts": 1767571200, "account_id": "a", "model": "m", "prompt": "hi"}\\n'
...     '{"request_id": "r1", "ts": 1767571201, "account_id": "a", "model": "m", "prompt": "hi"}\\n'
...     'not json\\n')
>>> spool = spool_events([d / "e.jsonl"], d / "q.jsonl", d / "spool", progress=False)
>>> spool.n_rows, spool.summary.n_read, dict(spool.summary.quarantined), len(spool.files)
(2, 3, {'invalid_json': 1}, 1)
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from distillwatch.errors import OutputError
from distillwatch.ingest.load import read_inputs
from distillwatch.results import IngestSummary

#: rows per Parquet file (files are the unit an engine reads in parallel)
ROWS_PER_FILE = 1_000_000
#: batches handed to the workers ahead of the one being written, per worker
IN_FLIGHT_PER_WORKER = 2
SEQ = "seq"

Transform = Callable[[pa.RecordBatch], pa.RecordBatch]


@dataclass(frozen=True)
class Spool:
    """What :func:`spool_events` wrote."""

    directory: Path
    files: list[Path] = field(default_factory=list)
    #: rows written, duplicates included
    n_rows: int = 0
    summary: IngestSummary = field(default_factory=IngestSummary)

    @property
    def pattern(self) -> str:
        """The glob naming every file (what engines read)."""
        return str(self.directory / "part-*.parquet")


class _Writer:
    """Numbers rows, rolls Parquet files every ``rows_per_file`` rows."""

    def __init__(self, directory: Path, rows_per_file: int) -> None:
        self.directory = directory
        self.rows_per_file = rows_per_file
        self.files: list[Path] = []
        self.n_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._in_file = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if self._writer is None or self._in_file >= self.rows_per_file:
            self.close()
            path = self.directory / f"part-{len(self.files):05d}.parquet"
            try:
                self._writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
            except OSError as exc:
                raise OutputError(
                    f"cannot write {path}: {exc}; choose a work directory with free space"
                ) from exc
            self.files.append(path)
            self._in_file = 0
        self._writer.write_batch(batch)
        self._in_file += batch.num_rows
        self.n_rows += batch.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _numbered(batch: pa.RecordBatch, start: int) -> pa.RecordBatch:
    seq = pa.array(range(start, start + batch.num_rows), pa.int64())
    return pa.RecordBatch.from_arrays(
        [*batch.columns, seq], schema=batch.schema.append(pa.field(SEQ, pa.int64(), False))
    )


def spool_events(
    inputs: Sequence[Path],
    quarantine_path: Path,
    directory: Path,
    *,
    transform: Transform | None = None,
    workers: int = 1,
    progress: bool = True,
    max_prompt_chars: int = 100_000,
    rows_per_file: int = ROWS_PER_FILE,
) -> Spool:
    """Read *inputs* as :func:`~distillwatch.ingest.load_events` does and write the events
    to Parquet files in *directory* (created; files of an earlier spool there are removed),
    each batch passed through *transform* first (in *workers* processes when > 1: it must
    then be a module-level function). Raises what ``load_events`` raises, and OutputError
    when a file cannot be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("part-*.parquet"):
            old.unlink()
    except OSError as exc:
        raise OutputError(f"cannot use the spool directory {directory}: {exc}") from exc
    writer = _Writer(directory, rows_per_file)
    pool: ProcessPoolExecutor | None = None
    pending: deque[Future[pa.RecordBatch]] = deque()
    next_seq = 0

    def put(batch: pa.RecordBatch) -> None:
        nonlocal next_seq
        numbered = _numbered(batch, next_seq)
        next_seq += batch.num_rows
        if pool is None:
            writer.write(transform(numbered) if transform is not None else numbered)
            return
        assert transform is not None
        pending.append(pool.submit(transform, numbered))
        while len(pending) > workers * IN_FLIGHT_PER_WORKER:
            writer.write(pending.popleft().result())

    try:
        if transform is not None and workers > 1:
            # spawn: workers start small instead of sharing (and counting) the parent's memory
            ctx = multiprocessing.get_context("spawn")
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        _, summary = read_inputs(
            inputs,
            quarantine_path,
            progress=progress,
            max_prompt_chars=max_prompt_chars,
            on_batch=put,
        )
        while pending:
            writer.write(pending.popleft().result())
    finally:
        writer.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return Spool(directory, writer.files, writer.n_rows, summary)


def deduplicated(table: Any) -> Any:
    """The ibis table of spooled events without duplicate ``request_id``s (the first in
    input order is kept) and without ``seq``; works on any ibis backend.

    >>> import ibis
    >>> t = ibis.memtable({"request_id": ["a", "b", "a"], "seq": [0, 1, 2], "x": [1, 2, 3]})
    >>> sorted(deduplicated(t).to_pyarrow().column("x").to_pylist())
    [1, 2]
    """
    import ibis

    first = ibis.row_number().over(group_by=table.request_id, order_by=table[SEQ])
    ranked = table.mutate(_first=first)
    return ranked.filter(ranked._first == 0).drop("_first", SEQ)

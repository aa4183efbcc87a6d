"""``load_events``: log files and directories -> canonical event table + summary.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "e.jsonl").write_text(
...     '{"request_id": "r1", "ts": 1767571200, "account_id": "a", "model": "m", "prompt": "hi"}\\n'
...     'not json\\n')
>>> table, summary = load_events([d / "e.jsonl"], d / "quarantine.jsonl", progress=False)
>>> table.num_rows, summary.n_read, dict(summary.quarantined)
(1, 2, {'invalid_json': 1})
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa

from distillwatch.errors import IngestError, OutputError, UsageError
from distillwatch.ingest.builder import EventBuilder
from distillwatch.ingest.discover import discover
from distillwatch.ingest.progress import ReadProgress
from distillwatch.ingest.quarantine import QuarantineWriter
from distillwatch.ingest.readers import READERS
from distillwatch.ingest.records import RecordSink
from distillwatch.results import IngestSummary


def load_events(
    inputs: Sequence[Path],
    quarantine_path: Path,
    *,
    progress: bool = True,
    max_prompt_chars: int = 100_000,
) -> tuple[pa.Table, IngestSummary]:
    """Read every input into one table of ``schema.EVENT_SCHEMA``.

    *inputs* are files and/or directories (read recursively, sorted). Unusable records go
    to *quarantine_path* (JSON Lines, always written, parent directories created).
    Duplicate ``request_id``s keep their first occurrence. Prompts (and system prompts)
    longer than *max_prompt_chars* are truncated and their length noted in ``extra``.

    Raises IngestError when an input does not exist, a directory holds no log files, or
    no usable event was found (the quarantine file is written, possibly empty, first).
    """
    table, summary = read_inputs(
        inputs, quarantine_path, progress=progress, max_prompt_chars=max_prompt_chars
    )
    assert table is not None  # not streaming
    return table, summary


def read_inputs(
    inputs: Sequence[Path],
    quarantine_path: Path,
    *,
    progress: bool = True,
    max_prompt_chars: int = 100_000,
    on_batch: Callable[[pa.RecordBatch], None] | None = None,
) -> tuple[pa.Table | None, IngestSummary]:
    """Read every input through one :class:`EventBuilder`; unusable records go to the
    quarantine. Without *on_batch*: the table (duplicates removed) and the summary. With
    it: every batch went to *on_batch* (streaming; duplicates are left to the reader of
    the batches), the table is None and ``summary.n_ok`` counts the rows handed over.
    IngestError as :func:`load_events` says."""
    if max_prompt_chars < 1:
        raise UsageError(f"max_prompt_chars must be at least 1, got {max_prompt_chars}")
    try:
        quarantine_path.parent.mkdir(parents=True, exist_ok=True)
        stream = quarantine_path.open("wb")
    except OSError as exc:
        raise OutputError(
            f"cannot write the quarantine file {quarantine_path}: {exc.strerror or exc}; "
            "choose a writable output location"
        ) from exc
    with stream:
        files, skipped = discover(inputs)
        summary = IngestSummary()
        summary.warnings.update(skipped)
        quarantine = QuarantineWriter(stream)
        builder = EventBuilder(
            max_prompt_chars=max_prompt_chars, on_reject=quarantine.reject, on_batch=on_batch
        )
        sink = RecordSink(builder, quarantine)
        total = sum(f.size for f in files)
        with ReadProgress(total, enabled=progress) as bar:
            done = 0
            for file in files:
                summary.sources.append(str(file.path))

                def advance(position: int, base: int = done) -> None:
                    bar.update(base + position)

                try:
                    READERS[file.fmt](file, sink, advance)
                except OSError as exc:  # the file vanished or cannot be opened
                    raise IngestError(
                        f"cannot read {file.path}: {exc.strerror or exc}; "
                        "check that the file exists and is readable"
                    ) from exc
                done += file.size
                bar.update(done)
        # both may still quarantine the last chunk: while the quarantine is open
        table: pa.Table | None = None
        if on_batch is None:
            table, summary.n_duplicates = builder.finish()
            n_ok = table.num_rows
        else:
            builder.close()
            n_ok = builder.n_rows
    summary.n_read = sink.n_read
    summary.n_ok = n_ok
    summary.quarantined.update(quarantine.counts)
    summary.warnings.update(sink.warnings)
    summary.warnings.update(builder.warnings)
    if n_ok == 0:
        reasons = ", ".join(f"{r} x{n}" for r, n in quarantine.counts.most_common(3))
        raise IngestError(
            f"no usable events in {len(files)} file(s)"
            + (f" ({summary.n_quarantined} records quarantined: {reasons}); " if reasons else "; ")
            + f"see {quarantine_path} and docs/ingest.md for the accepted record shapes"
        )
    return table, summary

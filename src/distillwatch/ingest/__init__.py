"""The ingest stage: log files -> canonical events (``schema.EVENT_SCHEMA``) + quarantine.

Formats are chosen by file ending (``.jsonl``, ``.ndjson``, ``.jsonl.gz``, ``.ndjson.gz``,
``.json``, ``.parquet``, ``.csv``, ``.csv.gz``); record shapes (flat canonical events,
OpenAI-style request/response logs, OpenTelemetry GenAI spans) are detected per record.
docs/ingest.md documents every field mapping and quarantine reason.

Modules, in the order a record meets them: ``discover`` (which files), ``readers`` (one
per format; ``lines`` splits JSON Lines, ``jsonblocks`` parses clean blocks with Arrow),
``records`` (shape detection and routing), ``openai`` / ``otel`` / ``messages`` (shape
mappings), ``builder`` (chunks of rows, ``extra`` via ``extras``, duplicates), ``columns``
(per-column conversion with the rules of ``coerce`` and ``timestamps``), ``quarantine``,
``progress``, and ``load`` (:func:`load_events`, which ties them together).
"""

from __future__ import annotations

from distillwatch.ingest.load import load_events
from distillwatch.ingest.quarantine import QuarantineEntry

__all__ = ["QuarantineEntry", "load_events"]

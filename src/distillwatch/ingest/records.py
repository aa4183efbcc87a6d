"""Where every parsed input record goes: shape detection, mapping, builder or quarantine.

Readers hand each record to :meth:`RecordSink.add` with its location as a ``prefix`` and a
number, so the source text (``path:12``, ``path#row 3``) is only built for records that
are quarantined.

Shapes, detected per record (docs/ingest.md): an OTLP/JSON traces document (one record
per inference span), an OpenAI-style log record, a flat OpenTelemetry span, otherwise a
flat canonical event. A record with none of the keys that mark the other shapes is a flat
event; that decision is cached per key layout, which keeps the main path fast.

>>> import io
>>> from distillwatch.ingest.builder import EventBuilder
>>> from distillwatch.ingest.quarantine import QuarantineWriter
>>> quarantine = QuarantineWriter(io.BytesIO())
>>> sink = RecordSink(EventBuilder(on_reject=quarantine.reject), quarantine)
>>> sink.add({"request_id": "r", "ts": 0, "account_id": "a", "model": "m", "prompt": "p"},
...          b"", "f.jsonl:", 1)
>>> sink.add([1, 2], b"[1, 2]", "f.jsonl:", 2)
>>> sink.n_read, sink.builder.n_rows, dict(quarantine.counts)
(2, 1, {'not_an_object': 1})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Final

import pyarrow as pa

from distillwatch.ingest.builder import EventBuilder
from distillwatch.ingest.coerce import BadRecord, show
from distillwatch.ingest.openai import is_openai, map_openai
from distillwatch.ingest.otel import is_flat_span, iter_otlp_spans, map_span
from distillwatch.ingest.quarantine import QuarantineWriter

#: keys whose presence means a record may not be a flat canonical event
SHAPE_MARKERS: Final = frozenset(
    {"resourceSpans", "request", "response", "custom_id", "messages", "attributes", "body"}
)
#: exceptions a strange but well-formed record can raise inside a mapper; such a record is
#: quarantined as ``unexpected_shape`` rather than stopping the run
_SHAPE_ERRORS: Final = (TypeError, ValueError, KeyError, AttributeError, IndexError)
_LAYOUT_CACHE_LIMIT: Final = 4096


class RecordSink:
    """Routes records to the builder or the quarantine and counts what it saw."""

    def __init__(self, builder: EventBuilder, quarantine: QuarantineWriter) -> None:
        self.builder = builder
        self.quarantine = quarantine
        #: records seen: rows added + records quarantined (spans count one each)
        self.n_read = 0
        #: records read without being events, e.g. ``skipped_span:non_genai``
        self.warnings: Counter[str] = Counter()
        self._flat_layouts: dict[tuple[str, ...], bool] = {}

    def add(self, record: object, raw: object, prefix: str, number: int) -> None:
        """One parsed record from location ``f"{prefix}{number}"`` (number 0: *prefix*
        alone); *raw* is its input text (bytes) or object, kept for the quarantine."""
        if type(record) is not dict:
            self.n_read += 1
            detail = f"expected a JSON object, got {show(record)}"
            self.reject("not_an_object", detail, raw, prefix, number)
            return
        keys = tuple(record)
        flat = self._flat_layouts.get(keys)
        if flat is None:
            flat = SHAPE_MARKERS.isdisjoint(keys)
            if len(self._flat_layouts) < _LAYOUT_CACHE_LIMIT:
                self._flat_layouts[keys] = flat
        if flat:
            self.n_read += 1
            self.builder.add_flat(record, keys, raw, prefix, number)
            return
        if "resourceSpans" in record:
            where = f"{prefix}{number}" if number else prefix
            self._add_document(record, raw, where)
            return
        self.n_read += 1
        try:
            if is_openai(record):
                fields, extras = map_openai(record)
                self.builder.add(fields, extras, raw=raw, prefix=prefix, number=number)
            elif is_flat_span(record):
                self._add_span(record, {}, raw, prefix, number, counted=True)
            else:
                self.builder.add(record, keys=keys, raw=raw, prefix=prefix, number=number)
        except BadRecord as bad:
            self.reject(bad.reason, bad.detail, raw, prefix, number)
        except _SHAPE_ERRORS as exc:
            self.reject("unexpected_shape", f"{type(exc).__name__}: {exc}", raw, prefix, number)

    def add_block(
        self,
        table: pa.Table | pa.RecordBatch,
        extras: list[bytes | None],
        source: Callable[[int], tuple[object, str, int]],
    ) -> None:
        """Flat canonical records already in Arrow columns (see EventBuilder.add_table)."""
        self.n_read += table.num_rows
        self.builder.add_table(table, extras, source)

    def _add_document(self, document: dict[str, Any], raw: object, where: str) -> None:
        """Every span of an OTLP/JSON document, as ``<where>#span K``."""
        prefix = f"{where}#span "
        number = 0
        try:
            for span, resource_attrs in iter_otlp_spans(document):
                number += 1
                self._add_span(span, resource_attrs, span, prefix, number, counted=False)
        except BadRecord as bad:
            self.n_read += 1
            self.reject(bad.reason, bad.detail, raw, where, 0)

    def _add_span(
        self,
        span: object,
        resource_attrs: dict[str, Any],
        raw: object,
        prefix: str,
        number: int,
        *,
        counted: bool,
    ) -> None:
        """Map one span; *counted* says whether the caller already counted it as read."""
        try:
            mapped = map_span(span, resource_attrs)
        except BadRecord as bad:
            reason, detail = bad.reason, bad.detail
        except _SHAPE_ERRORS as exc:
            reason, detail = "unexpected_shape", f"{type(exc).__name__}: {exc}"
        else:
            if mapped.skipped is not None:
                self.n_read -= counted
                self.warnings[f"skipped_span:{mapped.skipped}"] += 1
                return
            self.n_read += not counted
            self.builder.add(mapped.fields, mapped.extras, raw=raw, prefix=prefix, number=number)
            return
        self.n_read += not counted
        self.reject(reason, detail, raw, prefix, number)

    def reject(self, reason: str, detail: str, raw: object, prefix: str, number: int) -> None:
        """Quarantine the record at ``f"{prefix}{number}"`` (number 0: *prefix* alone)."""
        self.quarantine.reject(reason, detail, raw, prefix, number)

"""Records -> columnar chunks -> one Arrow table of ``schema.EVENT_SCHEMA``.

:class:`EventBuilder` keeps each record's canonical values as one tuple, its unknown fields
as JSON text (``extra``) and where it came from, until ``chunk_rows`` records are
collected. Then every column is converted at once (:mod:`distillwatch.ingest.columns`);
records with an unusable or missing value are dropped from the chunk and reported to
``on_reject`` with their source, and the rest become an Arrow record batch. Over-long
prompts are truncated when added, so memory stays bounded. Duplicate ``request_id``s are
removed once at the end, keeping the first.

>>> b = EventBuilder(max_prompt_chars=5)
>>> b.add({"request_id": "r1", "ts": 0, "account_id": "a", "model": "m", "prompt": "hello!"})
>>> b.add({"request_id": "r1", "ts": 1, "account_id": "a", "model": "m", "prompt": "again"})
>>> b.add({"request_id": "r2", "ts": "soon", "account_id": "a", "model": "m", "prompt": "x"})
>>> table, n_dup = b.finish()
>>> table.num_rows, n_dup, table.column("prompt")[0].as_py(), b.warnings["prompt_truncated"]
(1, 1, 'hello', 1)
>>> b.rejected[0][0]
'bad_timestamp:ts'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Final

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch import schema
from distillwatch.ingest.columns import Problems, convert_column
from distillwatch.ingest.extras import dump_json_bytes, merge_extra
from distillwatch.ingest.quarantine import RAW_LIMIT_BYTES

#: called for each record dropped at conversion: (reason, detail, raw, prefix, number)
RejectFn = Callable[[str, str, object, str, int], None]

#: input keys that are not "unknown": the canonical fields and ``extra`` itself
KNOWN_KEYS: Final = frozenset(schema.FIELD_NAMES) | {"extra"}

#: extra keys the builder writes when it shortens a text field
TRUNCATION_NOTES: Final = {
    "prompt": "prompt_original_chars",
    "system_prompt": "system_prompt_original_chars",
}

_NAMES: Final = schema.FIELD_NAMES
_PROMPT_AT: Final = _NAMES.index("prompt")
_SYSTEM_AT: Final = _NAMES.index("system_prompt")
_LAYOUT_CACHE_LIMIT: Final = 4096
#: raw input kept per pending record (the quarantine keeps at most RAW_LIMIT_BYTES; one
#: byte more tells it the text was cut)
_RAW_KEEP: Final = RAW_LIMIT_BYTES + 1


def _getter(indices: list[int]) -> Callable[[list[Any]], tuple[Any, ...]]:
    if len(indices) == 1:
        only = indices[0]
        return lambda values: (values[only],)
    return itemgetter(*indices)


@dataclass(frozen=True)
class _Layout:
    """How to read records whose keys come in one particular order.

    A record's values are read as ``list(record.values()) + [None]``; absent canonical
    fields point at that trailing None.
    """

    canonical: Callable[[list[Any]], tuple[Any, ...]]
    extra_keys: tuple[str, ...]
    extra_values: Callable[[list[Any]], tuple[Any, ...]] | None
    #: position of an input ``extra`` field, if the records have one
    extra_at: int | None

    @classmethod
    def of(cls, keys: tuple[str, ...], *, with_extras: bool) -> _Layout:
        position = {key: i for i, key in enumerate(keys)}
        missing = len(keys)
        canonical = _getter([position.get(name, missing) for name in _NAMES])
        unknown = tuple(sorted(k for k in keys if k not in KNOWN_KEYS)) if with_extras else ()
        extra_values = _getter([position[k] for k in unknown]) if unknown else None
        extra_at = position.get("extra") if with_extras else None
        return cls(canonical, unknown, extra_values, extra_at)


class EventBuilder:
    """Accumulates records; :meth:`finish` returns the table and the duplicate count.

    ``warnings`` counts rows accepted with a caveat (``prompt_truncated``,
    ``system_prompt_truncated``). Records dropped for a bad value go to ``on_reject``
    (by default they are kept in ``rejected`` as ``(reason, detail, source)``).
    """

    def __init__(
        self,
        max_prompt_chars: int = 100_000,
        chunk_rows: int = 8192,
        chunk_bytes: int = 64 << 20,
        on_reject: RejectFn | None = None,
        on_batch: Callable[[pa.RecordBatch], None] | None = None,
    ) -> None:
        self.max_prompt_chars = max_prompt_chars
        #: given: each finished batch goes there instead of being kept (streaming; the
        #: caller removes duplicates), see :meth:`close`
        self.on_batch = on_batch
        self.chunk_rows = chunk_rows
        self.chunk_bytes = chunk_bytes
        self.on_reject = on_reject
        self.warnings: Counter[str] = Counter()
        self.rejected: list[tuple[str, str, str]] = []
        self._layouts: dict[tuple[str, ...], _Layout] = {}
        self._mapped_layouts: dict[tuple[str, ...], _Layout] = {}
        self._rows: list[tuple[Any, ...]] = []
        self._extra: list[bytes | None] = []
        #: (raw, prefix, number) of each pending row, for the quarantine
        self._sources: list[tuple[object, str, int]] = []
        self._truncated: list[tuple[int, str]] = []
        self._pending_bytes = 0
        self._batches: list[pa.RecordBatch] = []
        self._n_streamed = 0

    @property
    def n_rows(self) -> int:
        """Records added so far that were not rejected (before duplicate removal)."""
        done: int = sum(batch.num_rows for batch in self._batches) + self._n_streamed
        return done + len(self._rows)

    def _new_layout(self, keys: tuple[str, ...], *, mapped: bool) -> _Layout:
        cache = self._mapped_layouts if mapped else self._layouts
        layout = _Layout.of(keys, with_extras=not mapped)
        if len(cache) < _LAYOUT_CACHE_LIMIT:
            cache[keys] = layout
        return layout

    def add(
        self,
        record: Mapping[str, Any],
        extras: dict[str, Any] | None = None,
        *,
        keys: tuple[str, ...] | None = None,
        raw: object = None,
        prefix: str = "",
        number: int = 0,
    ) -> None:
        """Queue one record keyed by canonical names; it is checked when its chunk is.

        With ``extras=None`` the record is a flat canonical event and every key that is not
        a canonical field goes to ``extra``; otherwise *record* holds only canonical keys
        (from a shape mapper) and *extras* the rest. *keys* is ``tuple(record)`` if the
        caller has it; *raw*, *prefix* and *number* identify the record for the quarantine.
        """
        if keys is None:
            keys = tuple(record)
        if extras is None:
            self.add_flat(record, keys, raw, prefix, number)
            return
        layout = self._mapped_layouts.get(keys) or self._new_layout(keys, mapped=True)
        values = [*record.values(), None]
        self._queue(layout.canonical(values), extras, raw, prefix, number)

    def add_flat(
        self,
        record: Mapping[str, Any],
        keys: tuple[str, ...],
        raw: object,
        prefix: str,
        number: int,
    ) -> None:
        """:meth:`add` for a flat canonical event whose ``tuple(record)`` is *keys* (the
        main path, kept lean)."""
        layout = self._layouts.get(keys) or self._new_layout(keys, mapped=False)
        values = [*record.values(), None]
        extras: dict[str, Any] = {}
        if layout.extra_values is not None:
            for key, value in zip(layout.extra_keys, layout.extra_values(values), strict=True):
                if value is not None:
                    extras[key] = value
        if layout.extra_at is not None and values[layout.extra_at] is not None:
            merge_extra(extras, values[layout.extra_at])
        self._queue(layout.canonical(values), extras, raw, prefix, number)

    def _queue(
        self, row: tuple[Any, ...], extras: dict[str, Any], raw: object, prefix: str, number: int
    ) -> None:
        limit = self.max_prompt_chars
        prompt = row[_PROMPT_AT]
        system = row[_SYSTEM_AT]
        if (type(prompt) is str and len(prompt) > limit) or (
            type(system) is str and len(system) > limit
        ):
            row = self._truncate(row, extras)
        if type(raw) is bytes:
            self._pending_bytes += len(raw)  # the record's size, to bound a chunk's memory
            if len(raw) > _RAW_KEEP:
                raw = raw[:_RAW_KEEP]
        rows = self._rows
        rows.append(row)
        self._extra.append(dump_json_bytes(extras) if extras else None)
        self._sources.append((raw, prefix, number))
        if len(rows) >= self.chunk_rows or self._pending_bytes >= self.chunk_bytes:
            self._flush()

    def _truncate(self, row: tuple[Any, ...], extras: dict[str, Any]) -> tuple[Any, ...]:
        values = list(row)
        for at in (_PROMPT_AT, _SYSTEM_AT):
            text = values[at]
            if type(text) is str and len(text) > self.max_prompt_chars:
                values[at] = text[: self.max_prompt_chars]
                extras[TRUNCATION_NOTES[_NAMES[at]]] = len(text)
                self._truncated.append((len(self._rows), f"{_NAMES[at]}_truncated"))
        return tuple(values)

    def add_table(
        self,
        table: pa.Table | pa.RecordBatch,
        extras: list[bytes | None],
        source: Callable[[int], tuple[object, str, int]],
    ) -> None:
        """Add a block of records already in Arrow columns named as the canonical fields
        (absent ones are null), with each row's ``extra`` JSON; ``source(i)`` gives
        ``(raw, prefix, number)`` of row *i* and is asked only for rejected rows."""
        self._flush()
        n = table.num_rows
        if not n:
            return
        present = set(table.schema.names)
        problems: Problems = {}
        arrays = [
            convert_column(name, table.column(name) if name in present else pa.nulls(n), problems)
            for name in _NAMES
        ]
        truncated: list[tuple[int, str]] = []
        for at in (_PROMPT_AT, _SYSTEM_AT):
            arrays[at] = self._truncate_array(_NAMES[at], arrays[at], extras, truncated)
        arrays.append(pa.array(extras, type=pa.string()))
        self._append(arrays, problems, source, truncated)

    def _truncate_array(
        self,
        name: str,
        array: pa.Array,
        extras: list[bytes | None],
        truncated: list[tuple[int, str]],
    ) -> pa.Array:
        limit = self.max_prompt_chars
        over = pc.greater(pc.utf8_length(array), limit)
        if not pc.any(over).as_py():
            return array
        texts = array.to_pylist()
        for row in np.flatnonzero(np.asarray(over.fill_null(False))).tolist():
            text = texts[row]
            texts[row] = text[:limit]
            current = extras[row]
            note = orjson.loads(current) if current is not None else {}
            note[TRUNCATION_NOTES[name]] = len(text)
            extras[row] = dump_json_bytes(note)
            truncated.append((row, f"{name}_truncated"))
        return pa.array(texts, type=pa.string())

    def _append(
        self,
        arrays: list[pa.Array],
        problems: Problems,
        source: Callable[[int], tuple[object, str, int]],
        truncated: list[tuple[int, str]],
    ) -> None:
        """Drop the rows with problems (reporting them), keep the rest as a batch."""
        if problems:
            keep = np.ones(len(arrays[0]), dtype=bool)
            keep[list(problems)] = False
            mask = pa.array(keep)
            arrays = [pc.filter(array, mask) for array in arrays]
            for row in sorted(problems):
                reason, detail = problems[row]
                self._reject(reason, detail, *source(row))
        for row, warning in truncated:
            if row not in problems:
                self.warnings[warning] += 1
        batch = pa.RecordBatch.from_arrays(arrays, schema=schema.EVENT_SCHEMA)
        self._n_streamed += batch.num_rows if self.on_batch is not None else 0
        if self.on_batch is not None:
            self.on_batch(batch)
        else:
            self._batches.append(batch)

    def _reject(self, reason: str, detail: str, raw: object, prefix: str, number: int) -> None:
        if self.on_reject is not None:
            self.on_reject(reason, detail, raw, prefix, number)
        else:
            self.rejected.append((reason, detail, f"{prefix}{number}" if number else prefix))

    def _flush(self) -> None:
        if not self._rows:
            return
        problems: Problems = {}
        columns = zip(*self._rows, strict=True)
        self._rows = []
        arrays = [
            convert_column(name, column, problems)
            for name, column in zip(_NAMES, columns, strict=True)
        ]
        arrays.append(pa.array(self._extra, type=pa.string()))
        self._append(arrays, problems, self._sources.__getitem__, self._truncated)
        self._extra = []
        self._sources = []
        self._truncated = []
        self._pending_bytes = 0

    def close(self) -> None:
        """Streaming (``on_batch``): convert and hand over the last pending rows."""
        self._flush()

    def finish(self) -> tuple[pa.Table, int]:
        """All rows as one table (duplicates removed, first kept) and how many were removed."""
        self._flush()
        table = pa.Table.from_batches(self._batches, schema=schema.EVENT_SCHEMA)
        self._batches = []
        return drop_duplicate_ids(table)


def drop_duplicate_ids(table: pa.Table) -> tuple[pa.Table, int]:
    """Keep the first row of each ``request_id``; return the table and rows dropped.

    >>> t = pa.table({"request_id": ["a", "b", "a"], "x": [1, 2, 3]})
    >>> kept, n = drop_duplicate_ids(t)
    >>> kept.column("x").to_pylist(), n
    ([1, 2], 1)
    """
    n = table.num_rows
    if n == 0:
        return table, 0
    ids = table.column("request_id")
    if pc.count_distinct(ids).as_py() == n:
        return table, 0
    keyed = pa.table({"k": ids, "i": pa.array(np.arange(n, dtype=np.int64))})
    first = keyed.group_by("k", use_threads=False).aggregate([("i", "min")])
    rows = pc.sort_indices(first.column("i_min"))
    keep = pc.take(first.column("i_min"), rows)
    return table.take(keep), n - len(keep)

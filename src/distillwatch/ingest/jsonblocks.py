"""Blocks of flat canonical JSON lines parsed by Arrow in one go: the fast main path.

Parsing a block of lines straight into Arrow columns avoids building Python objects for
every field of every record. It is only an optimisation: :func:`parse_block` returns None
whenever Arrow's reading could differ from the per-record path (a line Arrow rejects, a
record of another shape, a value Arrow would read differently), and the caller then reads
the block record by record. What it returns goes through the same column conversion
(:mod:`distillwatch.ingest.columns`) as every other record, so the result is the same.

>>> block = parse_block([b'{"request_id": "r1", "ts": "2026-01-05T00:00:00Z", "region": "eu"}'])
>>> block.table.column("request_id").to_pylist(), block.extras
(['r1'], [b'{"region":"eu"}'])
>>> parse_block([b'{"request": {"messages": []}}']) is None
True
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from distillwatch import schema
from distillwatch.ingest.builder import KNOWN_KEYS
from distillwatch.ingest.extras import dump_json_bytes, merge_extra, row_extras
from distillwatch.ingest.records import SHAPE_MARKERS

#: canonical fields with their column types, except timestamps, which are read as text
#: (or rejected by Arrow if they are numbers, sending the block to the per-record path)
PARSE_SCHEMA: Final = pa.schema(
    [
        pa.field(name, pa.string() if typ == schema.TS_TYPE else typ)
        for name, typ, _ in schema.FIELDS
    ]
)
_PARSE_OPTIONS: Final = pajson.ParseOptions(
    explicit_schema=PARSE_SCHEMA, unexpected_field_behavior="infer"
)
_FLOAT_FIELDS: Final = tuple(name for name, typ, _ in schema.FIELDS if pa.types.is_float64(typ))


@dataclass(frozen=True)
class ParsedBlock:
    """A block of records as Arrow columns plus each row's ``extra`` JSON."""

    table: pa.Table
    extras: list[bytes | None]


def _same_as_python(kind: pa.DataType) -> bool:
    """Types whose Python values equal what orjson would give for the same JSON."""
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_int64(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_null(kind)
    )


def _extras(table: pa.Table, lines: list[bytes]) -> list[bytes | None]:
    names = sorted(n for n in table.schema.names if n not in KNOWN_KEYS)
    exact = "extra" not in table.schema.names and all(
        _same_as_python(table.schema.field(n).type) for n in names
    )
    if exact:
        columns = [table.column(n).to_pylist() for n in names]
        return row_extras(names, columns, None, table.num_rows)
    # Arrow inferred a type (timestamp, double, struct, ...) that would change the values:
    # take the unknown fields from the lines themselves, as the per-record path does
    out: list[bytes | None] = []
    for line in lines:
        record = orjson.loads(line)
        extras = {k: record[k] for k in sorted(record) if k not in KNOWN_KEYS}
        extras = {k: v for k, v in extras.items() if v is not None}
        if record.get("extra") is not None:
            merge_extra(extras, record["extra"])
        out.append(dump_json_bytes(extras) if extras else None)
    return out


def parse_block(lines: list[bytes]) -> ParsedBlock | None:
    """The lines (none of them blank) as Arrow columns, or None if they must be read one
    by one."""
    data = b"\n".join(lines)
    try:
        table = pajson.read_json(
            io.BytesIO(data),
            read_options=pajson.ReadOptions(use_threads=False, block_size=len(data) + 1),
            parse_options=_PARSE_OPTIONS,
        )
    except (pa.ArrowException, UnicodeDecodeError, ValueError):
        return None
    # two objects on one line would be two rows; other shapes need their mappers
    if table.num_rows != len(lines) or not SHAPE_MARKERS.isdisjoint(table.schema.names):
        return None
    for name in _FLOAT_FIELDS:  # NaN/Infinity/1e400: Arrow reads them, orjson does not
        if pc.any(pc.invert(pc.is_finite(table.column(name)))).as_py():
            return None
    try:
        extras = _extras(table, lines)
    except orjson.JSONDecodeError:
        return None
    return ParsedBlock(table, extras)

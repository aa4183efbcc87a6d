"""The ``extra`` column: unknown input fields as one compact JSON object.

>>> extras = {"region": "eu"}
>>> merge_extra(extras, '{"region": "us", "tier": 2}')
>>> dump_json(extras)
'{"region":"eu","tier":2}'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson


def merge_extra(extras: dict[str, Any], value: object) -> None:
    """Fold an input ``extra`` value (a JSON object or its text) into *extras*.

    Keys already in *extras* win; null members are dropped. A value that is not an object
    is kept under the key ``extra``.
    """
    parsed: object = value
    if isinstance(value, str | bytes):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            parsed = value
    if isinstance(parsed, dict):
        for key, item in parsed.items():
            if item is not None:
                extras.setdefault(str(key), item)
    elif parsed is not None:
        extras.setdefault("extra", parsed)


def dump_json(obj: object) -> str:
    """Compact JSON text of *obj*; values JSON cannot hold become their ``str``.

    >>> dump_json({"k": [1, 2.5, None]})
    '{"k":[1,2.5,null]}'
    """
    try:
        return orjson.dumps(obj, default=str).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(obj, default=str, separators=(",", ":"), ensure_ascii=False)


def dump_json_bytes(obj: object) -> bytes:
    """:func:`dump_json` as UTF-8 bytes (what Arrow stores; saves a decode per row)."""
    try:
        return orjson.dumps(obj, default=str)
    except TypeError:
        return dump_json(obj).encode()


def row_extras(
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    extra_column: Sequence[Any] | None,
    n_rows: int,
) -> list[bytes | None]:
    """``extra`` JSON of each row of a columnar block, as the per-record path makes it:
    the unknown fields (*names*, sorted, with their *columns* of values) that are not null,
    then the members of an input ``extra`` field.

    >>> row_extras(["region"], [["eu", None]], None, 2)
    [b'{"region":"eu"}', None]
    """
    if not names and extra_column is None:
        return [None] * n_rows
    if len(names) == 1 and extra_column is None:  # the common case, kept lean
        name = names[0]
        try:
            return [
                orjson.dumps({name: value}, default=str) if value is not None else None
                for value in columns[0]
            ]
        except TypeError:
            pass  # an integer beyond 64 bits: the general path below handles it
    out: list[bytes | None] = []
    for row in range(n_rows):
        extras = {
            name: column[row]
            for name, column in zip(names, columns, strict=True)
            if column[row] is not None
        }
        if extra_column is not None and extra_column[row] is not None:
            merge_extra(extras, extra_column[row])
        out.append(dump_json_bytes(extras) if extras else None)
    return out

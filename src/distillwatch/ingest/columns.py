"""One column of input values -> one Arrow array of its canonical type.

The input is either a list of Python values (records parsed one by one) or an Arrow array
(a block of JSON lines parsed by Arrow, a Parquet or CSV batch). Either way the column is
converted at once, first vectorised, and only if that cannot vouch for every value,
element by element with the coercions of :mod:`distillwatch.ingest.coerce`, which say per
row why a value is unusable. The vectorised attempts accept exactly the values the
per-element rules accept, with the same result; anything doubtful goes to those rules.

>>> problems = {}
>>> convert_column("max_tokens", [12, "7", 3.5, None], problems).to_pylist()
[12, 7, None, None]
>>> problems
{2: ('bad_type:max_tokens', 'expected an integer, got float 3.5')}
>>> convert_column("ts", pa.array(["2026-01-05T00:00:00Z"]), {}).to_pylist()[0].isoformat()
'2026-01-05T00:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch import schema
from distillwatch.ingest.coerce import BadRecord, to_bool, to_float, to_int, to_str, to_ts
from distillwatch.ingest.timestamps import MAX_US

#: row index -> (reason, detail) of the first problem found in that row
Problems: TypeAlias = dict[int, tuple[str, str]]
#: a column as Python values or as Arrow data
Values: TypeAlias = Sequence[Any] | pa.Array | pa.ChunkedArray

_TS_NAMES: Final = frozenset(name for name, typ, _ in schema.FIELDS if typ == schema.TS_TYPE)
_REQUIRED: Final = schema.REQUIRED_FIELDS
_ARROW_REFUSALS: Final = (
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    pa.ArrowNotImplementedError,
    OverflowError,
    TypeError,
    ValueError,
)


class _Refused(Exception):
    """The vectorised path cannot vouch for this column; use the per-element rules."""


def _convert_value(name: str, arrow_type: pa.DataType, value: object) -> Any:
    """Per-element rule: the value in the column's Python type, None if blank; raises
    BadRecord. Text columns treat only ``""`` as blank, the others also whitespace."""
    if pa.types.is_string(arrow_type):
        return to_str(value, name) or None
    if type(value) is str and not value.strip():
        return None
    if name in _TS_NAMES:
        return to_ts(value, name)
    if pa.types.is_int64(arrow_type):
        if name == "tools" and isinstance(value, list):
            return len(value)
        return to_int(value, name)
    if pa.types.is_float64(arrow_type):
        return to_float(value, name)
    return to_bool(value, name)


def _per_element(
    name: str, arrow_type: pa.DataType, values: Sequence[Any], problems: Problems
) -> pa.Array:
    out: list[Any] = []
    for row, value in enumerate(values):
        if value is not None:
            try:
                value = _convert_value(name, arrow_type, value)
            except BadRecord as bad:
                if row not in problems:
                    problems[row] = (bad.reason, bad.detail)
                value = None
        out.append(value)
    if name in _TS_NAMES:
        return pa.array(out, type=pa.int64()).cast(schema.TS_TYPE)
    return pa.array(out, type=arrow_type)


# --- vectorised conversions -------------------------------------------------------------


def _epoch_numbers(array: pa.Array) -> pa.Array:
    """Epoch numbers -> microseconds, the unit chosen by magnitude as in
    :func:`distillwatch.ingest.timestamps.epoch_to_us`."""
    if pa.types.is_floating(array.type):
        values = array.cast(pa.float64()).fill_null(0.0).to_numpy()
        if not np.isfinite(values).all():
            raise _Refused
    else:
        values = array.cast(pa.int64()).fill_null(0).to_numpy()
    if (values < 0).any() or (values >= 1e20).any():
        raise _Refused
    if values.dtype.kind == "f":
        scale = np.select([values < 1e11, values < 1e14, values < 1e17], [1e6, 1e3, 1.0], 1e-3)
        micros = np.round(values * scale).astype(np.int64)
    else:
        micros = np.select(
            [values < 10**11, values < 10**14, values < 10**17],
            [values * 1_000_000, values * 1000, values],
            values // 1000,
        )
    mask = np.asarray(array.is_null()) if array.null_count else None
    return pa.array(micros, type=pa.int64(), mask=mask)


def _timestamps(array: pa.Array) -> pa.Array:
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        micros = pc.cast(array, schema.TS_TYPE).cast(pa.int64())
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        micros = _epoch_numbers(array)
    elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        # naive values are UTC, as in the per-element rules; finer units are truncated
        micros = array.cast(schema.TS_TYPE, safe=False).cast(pa.int64())
    elif pa.types.is_null(kind):
        micros = pa.nulls(len(array), pa.int64())
    else:
        raise _Refused
    low, high = pc.min_max(micros).values()
    if low.is_valid and (low.as_py() < 0 or high.as_py() >= MAX_US):
        raise _Refused
    return micros.cast(schema.TS_TYPE)


def _castable(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether an Arrow cast from *source* to *target* gives what the rules give."""
    types = pa.types
    text = bool(types.is_string(source) or types.is_large_string(source))
    number = bool(types.is_integer(source) or types.is_floating(source))
    if types.is_null(source) or source == target:
        return True
    if types.is_string(target):
        # ints become their decimal text, UTF-8 bytes their text; floats/bools are refused
        binary = bool(types.is_binary(source) or types.is_large_binary(source))
        return bool(types.is_integer(source)) or text or binary
    if types.is_int64(target) or types.is_float64(target):
        # text: Arrow's parser is stricter than the rules (no "3.0", no spaces), never looser
        return number or text
    return text  # bool: "true"/"false"/"1"/"0" in any case, as the rules


def _arrow_fast(name: str, target: pa.DataType, array: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if name in _TS_NAMES:
        return _timestamps(array)
    if not _castable(array.type, target):
        raise _Refused
    # safe casts refuse fractional floats to int and out-of-range values
    return array if array.type == target else pc.cast(array, target)


def _list_fast(name: str, target: pa.DataType, values: Sequence[Any]) -> pa.Array:
    if name in _TS_NAMES:
        return _timestamps(pa.array(values))
    is_float = pa.types.is_float64(target)
    if is_float or pa.types.is_int64(target):
        kinds = set(map(type, values))
        # Arrow reads True as 1.0 and truncates 3.5 to 3; the rules reject both
        if (is_float and bool in kinds) or (not is_float and float in kinds):
            raise _Refused
    try:
        return pa.array(values, type=target)
    except _ARROW_REFUSALS:
        if pa.types.is_string(target):
            raise
        # all text (e.g. from CSV): Arrow's parser, stricter than the rules but agreeing
        return pc.cast(pa.array(values, type=pa.string()), target)


def convert_column(name: str, values: Values, problems: Problems) -> pa.Array:
    """Array of *name*'s canonical type; rows whose value is unusable (or missing while
    required) get an entry in *problems* (the first problem of a row wins) and a null."""
    target = schema.FIELD_TYPES[name]
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    try:
        if isinstance(values, pa.Array):
            array = _arrow_fast(name, target, values)
        else:
            array = _list_fast(name, target, values)
        if pa.types.is_float64(target) and pc.any(pc.invert(pc.is_finite(array))).as_py():
            raise _Refused
    except (_Refused, *_ARROW_REFUSALS):
        python_values = values.to_pylist() if isinstance(values, pa.Array) else values
        array = _per_element(name, target, python_values, problems)
    if pa.types.is_string(target):
        blank = pc.equal(array, "")
        if pc.any(blank).as_py():
            array = pc.if_else(blank, pa.scalar(None, target), array)
    if name in _REQUIRED and array.null_count:
        detail = f"required field {name!r} is absent"
        for row in np.flatnonzero(np.asarray(array.is_null())).tolist():
            problems.setdefault(row, (f"missing_field:{name}", detail))
    return array

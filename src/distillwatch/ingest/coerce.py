"""Lossless coercion of one input value to a canonical column type.

Each ``to_*`` function returns the value in the column's Python type or raises
:class:`BadRecord` with a stable quarantine reason code. Only conversions that lose
nothing are made (``"12"`` -> 12, ``3.0`` -> 3, ``"true"`` -> True, 42 -> ``"42"``);
everything else is rejected (docs/ingest.md, "Types").

>>> to_int("12", "max_tokens"), to_float("0.5", "top_p"), to_bool("TRUE", "stream")
(12, 0.5, True)
>>> to_int(3.5, "n")
Traceback (most recent call last):
...
distillwatch.ingest.coerce.BadRecord: bad_type:n: expected an integer, got float 3.5
"""

from __future__ import annotations

import math

from distillwatch.ingest.timestamps import TimestampError, to_epoch_us

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


class BadRecord(Exception):
    """One record cannot become a canonical event; it goes to the quarantine.

    Internal to the ingest stage: :func:`distillwatch.ingest.load_events` catches every
    one of these and never lets it escape.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def show(value: object, limit: int = 40) -> str:
    """Short type-and-value text for error details.

    >>> show("x" * 50, limit=12)
    "str 'xxxxxxxx..."
    """
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(value).__name__} {text}"


def _bad(name: str, expected: str, value: object) -> BadRecord:
    return BadRecord(f"bad_type:{name}", f"expected {expected}, got {show(value)}")


def to_str(value: object, name: str) -> str:
    """Strings as they are; integers (not bools, not floats) as their decimal text; bytes
    holding UTF-8 text (Parquet binary columns) as that text.

    >>> to_str(12345, "account_id"), to_str(b"k1", "api_key_id")
    ('12345', 'k1')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(name, "UTF-8 text", value) from None
    raise _bad(name, "a string", value)


def _int_text(text: str, name: str, value: object) -> int:
    if name == "asn" and text[:2].upper() == "AS":
        text = text[2:]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise _bad(name, "an integer", value) from None
    if not (math.isfinite(number) and number.is_integer()):
        raise _bad(name, "an integer", value)
    return int(number)


def to_int(value: object, name: str) -> int:
    """int64 from an int, an integral float, or a string holding one.

    >>> to_int(3.0, "n"), to_int(" 7 ", "n"), to_int("AS13335", "asn")
    (3, 7, 13335)
    """
    if isinstance(value, bool):
        raise _bad(name, "an integer", value)
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            raise _bad(name, "an integer", value)
        result = int(value)
    elif isinstance(value, str):
        result = _int_text(value.strip(), name, value)
    else:
        raise _bad(name, "an integer", value)
    if not _INT64_MIN <= result <= _INT64_MAX:
        raise _bad(name, "a 64-bit integer", value)
    return result


def to_float(value: object, name: str) -> float:
    """A finite float from an int, a float or a numeric string.

    >>> to_float(1, "temperature")
    1.0
    """
    if isinstance(value, bool):
        raise _bad(name, "a number", value)
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value)
        except ValueError:
            raise _bad(name, "a number", value) from None
    else:
        raise _bad(name, "a number", value)
    if not math.isfinite(result):
        raise _bad(name, "a finite number", value)
    return result


def to_bool(value: object, name: str) -> bool:
    """A bool from a bool, 0/1, or "true"/"false"/"0"/"1" in any case.

    >>> to_bool(0, "logprobs"), to_bool("False", "logprobs")
    (False, False)
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _bad(name, "a boolean", value)


def to_ts(value: object, name: str) -> int:
    """UTC epoch microseconds (see :mod:`distillwatch.ingest.timestamps`).

    >>> to_ts("1970-01-01T00:00:01Z", "ts")
    1000000
    """
    try:
        return to_epoch_us(value)
    except TimestampError as exc:
        raise BadRecord(f"bad_timestamp:{name}", str(exc)) from None

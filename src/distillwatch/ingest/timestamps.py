"""Timestamps in any accepted input form -> UTC microseconds since the epoch.

Accepted (docs/ingest.md, "Timestamps"):

- an RFC 3339 / ISO 8601 extended date-time string; no offset means UTC; a date alone
  means midnight UTC;
- a number (or a string of digits) of seconds, milliseconds, microseconds or nanoseconds
  since the epoch, told apart by magnitude (see :func:`epoch_to_us`);
- a ``datetime`` (naive = UTC) or ``date`` (from Parquet).

Anything before 1970 or after 9999 is rejected.

>>> to_epoch_us("2026-01-05T00:00:00Z") == to_epoch_us(1767571200) == to_epoch_us(1767571200000)
True
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
#: latest accepted instant (exclusive), in microseconds
MAX_US = (datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH) // _US

#: magnitude bounds (exclusive) of epoch numbers per unit; anything this large in seconds
#: would be after the year 5138, so it must be a finer unit.
_SECONDS_BELOW = 1e11
_MILLIS_BELOW = 1e14
_MICROS_BELOW = 1e17
_NANOS_BELOW = 1e20


class TimestampError(ValueError):
    """A value that is not an accepted timestamp; ``str(err)`` says why."""


def epoch_to_us(value: float) -> int:
    """Epoch number -> microseconds, the unit chosen by magnitude.

    Below 1e11 it is seconds (up to the year 5138), below 1e14 milliseconds, below 1e17
    microseconds, below 1e20 nanoseconds.

    >>> epoch_to_us(1.5), epoch_to_us(1_700_000_000_000), epoch_to_us(1_700_000_000_000_000)
    (1500000, 1700000000000000, 1700000000000000)
    """
    if not math.isfinite(value) or value < 0:
        raise TimestampError(f"epoch value {value!r} is negative or not finite")
    if value < _SECONDS_BELOW:
        scale = 1_000_000.0
    elif value < _MILLIS_BELOW:
        scale = 1_000.0
    elif value < _MICROS_BELOW:
        scale = 1.0
    elif value < _NANOS_BELOW:
        scale = 0.001
    else:
        raise TimestampError(f"epoch value {value!r} is too large for any unit")
    if isinstance(value, int) and scale >= 1.0:
        return value * int(scale)
    if isinstance(value, int):
        return value // 1000
    return round(value * scale)


def _parse_string(text: str) -> int:
    s = text.strip()
    # Only the extended form YYYY-MM-DD[(T|t| )time]; fromisoformat alone would also take
    # week dates and the basic form, which no log writer means.
    if len(s) >= 10 and s[4] == "-" and s[7] == "-" and (len(s) == 10 or s[10] in "Tt "):
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            try:
                dt = datetime.fromisoformat(s.upper())
            except ValueError:
                raise TimestampError(f"{_clip(text)!r} is not an RFC 3339 date-time") from None
        return datetime_to_us(dt)
    if s.isdigit():
        return epoch_to_us(int(s))
    if _is_decimal(s):
        return epoch_to_us(float(s))
    if not s:
        raise TimestampError("empty timestamp string")
    raise TimestampError(f"{_clip(text)!r} is neither an RFC 3339 date-time nor an epoch number")


def _is_decimal(s: str) -> bool:
    head, dot, tail = s.partition(".")
    return bool(dot) and head.isdigit() and tail.isdigit()


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def datetime_to_us(dt: datetime) -> int:
    """A datetime (naive = UTC) -> epoch microseconds.

    >>> datetime_to_us(datetime(1970, 1, 1, 0, 0, 1))
    1000000
    """
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _US


def to_epoch_us(value: object) -> int:
    """Any accepted timestamp value -> UTC epoch microseconds; raises TimestampError.

    >>> to_epoch_us("2026-01-05T01:00:00+01:00") == to_epoch_us("2026-01-05 00:00:00")
    True
    """
    kind = type(value)
    if kind is str:
        us = _parse_string(value)  # type: ignore[arg-type]
    elif kind is int or kind is float:
        us = epoch_to_us(value)  # type: ignore[arg-type]
    elif isinstance(value, datetime):
        us = datetime_to_us(value)
    elif isinstance(value, date):
        us = datetime_to_us(datetime(value.year, value.month, value.day))
    else:
        raise TimestampError(f"a {kind.__name__} is not a timestamp")
    if us < 0 or us >= MAX_US:
        raise TimestampError(f"{_clip(str(value))!r} is before 1970 or after 9999")
    return us

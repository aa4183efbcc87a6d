"""Fast RFC 3339 UTC timestamps for the event stream.

>>> rfc3339_ms(0)
'1970-01-01T00:00:00.000Z'
>>> rfc3339_ms(parse_day("2026-11-02") * 1000 + 3_723_004)
'2026-11-02T01:02:03.004Z'
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from distillwatch.errors import UsageError

DAY = 86400.0
_EPOCH = date(1970, 1, 1)


@lru_cache(maxsize=4096)
def _date(day_number: int) -> str:
    return (_EPOCH + timedelta(days=day_number)).isoformat()


def rfc3339_ms(ms: int) -> str:
    """Epoch milliseconds as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    secs, milli = divmod(ms, 1000)
    day, sod = divmod(secs, 86400)
    hours, rem = divmod(sod, 3600)
    minutes, seconds = divmod(rem, 60)
    return f"{_date(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{milli:03d}Z"


def parse_day(text: str) -> int:
    """A ``YYYY-MM-DD`` date as epoch seconds of its UTC midnight."""
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--start {text!r} is not a date; use YYYY-MM-DD") from exc
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())

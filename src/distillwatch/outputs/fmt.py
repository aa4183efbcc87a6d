"""Formatting and ordering shared by every writer (CSV, HTML, console).

One place decides how a timestamp or a risk is written and in which order accounts and
campaigns are listed, so the files agree with each other.

>>> from datetime import datetime, timezone
>>> rfc3339(datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc))
'2026-03-01T12:00:00Z'
>>> fmt_risk(0.5)
'0.500000'
"""

from __future__ import annotations

from datetime import UTC, datetime

from distillwatch.results import AccountVerdict, CampaignVerdict


def as_utc(ts: datetime) -> datetime:
    """*ts* in UTC; a naive datetime is taken to be UTC already (as in the contract).

    >>> as_utc(datetime(2026, 1, 2, 3, 4, 5)).isoformat()
    '2026-01-02T03:04:05+00:00'
    """
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def rfc3339(ts: datetime | None) -> str:
    """RFC 3339 UTC with a ``Z`` suffix; microseconds only when present; ``""`` for None.

    >>> rfc3339(datetime(2026, 1, 2, 3, 4, 5, 120000))
    '2026-01-02T03:04:05.120000Z'
    >>> rfc3339(None)
    ''
    """
    if ts is None:
        return ""
    utc = as_utc(ts)
    spec = "microseconds" if utc.microsecond else "seconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def human_time(ts: datetime | None) -> str:
    """A timestamp for people: ``2026-01-02 03:04:05 UTC`` (``n/a`` for None).

    >>> human_time(datetime(2026, 1, 2, 3, 4, 5, 999))
    '2026-01-02 03:04:05 UTC'
    """
    if ts is None:
        return "n/a"
    return as_utc(ts).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_risk(risk: float) -> str:
    """A risk with exactly six decimals (the CSV contract).

    >>> fmt_risk(0.1234567)
    '0.123457'
    """
    return f"{risk:.6f}"


def fmt_bool(flag: bool) -> str:
    """``true`` / ``false`` as in the CSV contract.

    >>> fmt_bool(True), fmt_bool(False)
    ('true', 'false')
    """
    return "true" if flag else "false"


def ranked_accounts(accounts: list[AccountVerdict]) -> list[AccountVerdict]:
    """Accounts by risk as printed (:func:`fmt_risk`), highest first, ties by ``account_id``.

    Ranking on the printed value keeps the order independent of floating-point noise
    below it (Spark sums in a different order than DuckDB: two accounts with the same
    traffic could swap places at 10M events).

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> rows = [AccountVerdict(i, r, False, 1, t, t) for i, r in [("b", 0.5 + 1e-15), ("a", 0.5)]]
    >>> [a.account_id for a in ranked_accounts(rows)]
    ['a', 'b']
    """
    return sorted(accounts, key=lambda a: (-round(a.risk, 6), a.account_id))


def ranked_campaigns(campaigns: list[CampaignVerdict]) -> list[CampaignVerdict]:
    """Campaigns by risk as printed, highest first, ties by ``campaign_id``."""
    return sorted(campaigns, key=lambda c: (-round(c.risk, 6), c.campaign_id))


def truncate(text: str, limit: int) -> str:
    """*text* cut to at most *limit* characters, ending with ``…`` when cut.

    >>> truncate("abcdef", 4)
    'abc…'
    >>> truncate("abc", 4)
    'abc'
    """
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"

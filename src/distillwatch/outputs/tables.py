"""``accounts.csv`` and ``campaigns.csv`` (docs/contracts.md section 2).

The contract columns come first, in contract order; extra columns are only ever appended.
Rows are sorted by risk (highest first), ties by id. Lines end with ``\\n``; fields are
quoted only when needed (RFC 4180 quoting).

>>> from datetime import datetime
>>> from distillwatch.results import AccountVerdict, IngestSummary, ScanResult
>>> t = datetime(2026, 1, 1)
>>> acc = AccountVerdict("a1", 0.25, False, 3, t, t)
>>> print(accounts_csv(ScanResult([acc], [], IngestSummary(), t, t, 0.5, 3)), end="")
account_id,risk,flagged,campaign_id,signals,own_risk,n_requests,first_seen,last_seen
a1,0.250000,false,,,0.000000,3,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from distillwatch.outputs.fmt import fmt_bool, fmt_risk, ranked_accounts, ranked_campaigns, rfc3339
from distillwatch.results import CampaignVerdict, ScanResult

#: Contract columns of accounts.csv, in order.
ACCOUNT_COLUMNS: tuple[str, ...] = ("account_id", "risk", "flagged", "campaign_id", "signals")
#: Columns appended after the contract ones.
ACCOUNT_EXTRA_COLUMNS: tuple[str, ...] = ("own_risk", "n_requests", "first_seen", "last_seen")

#: Contract columns of campaigns.csv, in order.
CAMPAIGN_COLUMNS: tuple[str, ...] = (
    "campaign_id",
    "n_accounts",
    "n_requests",
    "risk",
    "first_seen",
    "last_seen",
    "signals",
)
#: Columns appended after the contract ones.
CAMPAIGN_EXTRA_COLUMNS: tuple[str, ...] = ("flagged", "actor_id", "techniques", "linked_by")

SEPARATOR = ";"


def _to_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def accounts_csv(result: ScanResult) -> str:
    """The text of accounts.csv: one row per account, highest risk first."""
    rows = (
        (
            a.account_id,
            fmt_risk(a.risk),
            fmt_bool(a.flagged),
            a.campaign_id or "",
            SEPARATOR.join(a.top_signals()),
            fmt_risk(a.own_risk),
            str(a.n_requests),
            rfc3339(a.first_seen),
            rfc3339(a.last_seen),
        )
        for a in ranked_accounts(result.accounts)
    )
    return _to_csv(ACCOUNT_COLUMNS + ACCOUNT_EXTRA_COLUMNS, rows)


def linked_by(c: CampaignVerdict) -> list[str]:
    """How a campaign's accounts were tied together: attribute kinds, then ``behaviour``."""
    kinds = sorted({link.kind for link in c.links})
    return [*kinds, "behaviour"] if c.behaviour else kinds


def campaigns_csv(result: ScanResult) -> str:
    """The text of campaigns.csv: one row per campaign, highest risk first."""
    rows = (
        (
            c.campaign_id,
            str(len(c.account_ids)),
            str(c.n_requests),
            fmt_risk(c.risk),
            rfc3339(c.first_seen),
            rfc3339(c.last_seen),
            SEPARATOR.join(c.top_signals()),
            fmt_bool(c.flagged),
            c.actor_id or "",
            SEPARATOR.join(c.techniques),
            SEPARATOR.join(linked_by(c)),
        )
        for c in ranked_campaigns(result.campaigns)
    )
    return _to_csv(CAMPAIGN_COLUMNS + CAMPAIGN_EXTRA_COLUMNS, rows)

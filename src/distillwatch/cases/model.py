"""What an analyst's decision is, and what it says about a subject.

A decision is about one *subject*: a campaign or an account of one scan (``scan_id``).
``confirm`` says "this is extraction", ``dismiss`` "this is not" (a false positive, or
a benign account the analyst cleared), ``escalate`` "someone else must look": it carries
no label. The newest decision on a subject replaces the older ones; the older ones stay in
the store and in the audit trail.

>>> from datetime import UTC, datetime
>>> d = Decision("s1", "account", "acct_1", "dismiss", "ana", "batch eval job",
...              datetime(2026, 11, 29, tzinfo=UTC))
>>> d.label
0
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

DecisionKind = Literal["confirm", "dismiss", "escalate"]
SubjectKind = Literal["campaign", "account"]

DECISIONS: tuple[str, ...] = ("confirm", "dismiss", "escalate")
SUBJECT_KINDS: tuple[str, ...] = ("campaign", "account")
#: the label each decision gives its subject (escalate gives none)
LABELS: dict[str, int | None] = {"confirm": 1, "dismiss": 0, "escalate": None}


@dataclass(frozen=True)
class Decision:
    """One analyst's decision on one subject, as stored."""

    scan_id: str
    subject_kind: str  # campaign | account
    subject_id: str
    decision: str  # confirm | dismiss | escalate
    analyst: str
    note: str
    decided_at: datetime  # UTC
    id: int = 0  # the store's row id (0 before it is stored)

    @property
    def label(self) -> int | None:
        """1 (extraction), 0 (not extraction) or None (escalated: no label)."""
        return LABELS[self.decision]

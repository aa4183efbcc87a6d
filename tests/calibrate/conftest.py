"""Hand-built scan results for the calibrate unit tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest

from distillwatch.results import (
    AccountVerdict,
    CampaignVerdict,
    IngestSummary,
    ScanResult,
    SignalHit,
)

T = datetime(2026, 11, 2, tzinfo=UTC)

Hits = dict[str, float]


def hits(scores: Hits) -> list[SignalHit]:
    return [SignalHit(s, v, 0.0, {}) for s, v in scores.items() if v > 0]


def make_result(
    accounts: Sequence[tuple[str, Hits, bool, str | None]],
    campaigns: Sequence[tuple[str, list[str], Hits]] = (),
) -> ScanResult:
    """accounts: (id, signal scores, flagged, campaign id); campaigns: (id, members, scores)."""
    accs = [
        AccountVerdict(a, 0.5, flagged, 1, T, T, cid, 0.5, hits(h))
        for a, h, flagged, cid in accounts
    ]
    camps = [CampaignVerdict(c, list(m), 1, 0.9, True, T, T, hits(h)) for c, m, h in campaigns]
    return ScanResult(accs, camps, IngestSummary(), T, T, 0.5, len(accs))


@pytest.fixture
def result_factory() -> Callable[..., ScanResult]:
    return make_result

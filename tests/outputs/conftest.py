"""A realistic scan result to test the writers against.

- ``cmp-0001``: flagged proxy fleet of 24 accounts sharing a card and an IP range, with
  reasoning-harvesting prompts (one with ``<script>``, one with an ``<img src=http...>``,
  one longer than 200 characters), four ATLAS techniques (one unknown to the catalog);
- ``cmp-0002``: two accounts, below the threshold;
- ``solo-42``: flagged on its own traffic, in no campaign;
- benign accounts, two of them tied on risk.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from distillwatch.results import (
    AccountVerdict,
    BehaviourEvidence,
    CampaignVerdict,
    IngestSummary,
    LinkEvidence,
    ScanResult,
    SignalHit,
)

T0 = datetime(2026, 3, 2, tzinfo=UTC)

PROMPTS_A = [
    "Solve step by step and show all of your reasoning: <script>alert('xss')</script>",
    '<img src="http://evil.example/pixel.png"> Grade this answer on a 1-10 rubric & explain',
    "Explain, thinking out loud, how to prove the following lemma about compact sets. "
    + "Write every intermediate step and justify it carefully before concluding. " * 5
    + "TAIL-MARKER-7731",
]
PROMPTS_B = ["Continue this dialogue as the assistant would, in French: 'Bonjour, ...'"]
IPS = ["203.0.113.7", "203.0.113.8", "203.0.113.0/24"]
CARDS = ["pf_3c9a77e1d2", "pf_00aa11bb22"]


@dataclass(frozen=True)
class Secrets:
    """Values that must never leave the provider in intel.json."""

    prompts: list[str]
    account_ids: list[str]
    campaign_ids: list[str]
    ips: list[str]
    cards: list[str]

    def all(self) -> list[str]:
        return self.prompts + self.account_ids + self.campaign_ids + self.ips + self.cards


def _hit(signal_id: str, score: float, contribution: float, summary: str, **evidence: object):
    return SignalHit(signal_id, score, contribution, dict(evidence), summary)


def _account(
    account_id: str,
    risk: float,
    flagged: bool,
    n_requests: int,
    campaign_id: str | None,
    hits: list[SignalHit],
    own_risk: float | None = None,
    start_hours: int = 0,
) -> AccountVerdict:
    first = T0 + timedelta(hours=start_hours)
    return AccountVerdict(
        account_id=account_id,
        risk=risk,
        flagged=flagged,
        n_requests=n_requests,
        first_seen=first,
        last_seen=first + timedelta(days=2, minutes=17),
        campaign_id=campaign_id,
        own_risk=risk if own_risk is None else own_risk,
        hits=hits,
    )


def make_result() -> ScanResult:
    fleet_hits = [
        _hit(
            "extraction_intent",
            0.91,
            1.8,
            "87% of prompts ask for step-by-step reasoning",
            share_reasoning=0.8712,
            top_phrases=["step by step", "show your work", "think"],
        ),
        _hit(
            "harvest_params",
            0.7,
            0.9,
            "logprobs requested on 64% of calls",
            share_logprobs=0.64,
            top_logprobs_p95=20,
        ),
    ]
    members = [
        _account(
            f"acct-7f{i:02d}",
            0.99 - i * 0.01,
            True,
            2000 + i,
            "cmp-0001",
            fleet_hits,
            own_risk=0.6 - i * 0.01,
            start_hours=i,
        )
        for i in range(1, 25)
    ]
    pair = [
        _account(
            "acct-b001",
            0.41,
            False,
            310,
            "cmp-0002",
            [_hit("conversation_shape", 0.5, 0.4, "long synthetic dialogues", n_turns_p50=9)],
        ),
        _account("acct-b002", 0.38, False, 290, "cmp-0002", []),
    ]
    solo = _account(
        "solo-42",
        0.88,
        True,
        12000,
        None,
        [
            _hit("volume", 0.95, 1.2, "12,000 requests in 2 days", n_requests=12000),
            _hit(
                "automation",
                0.8,
                0.7,
                "inter-arrival times are machine-regular",
                cv_interarrival=0.04,
            ),
            _hit("coverage", 0.2, -0.3, "", topic_entropy=2.1),
        ],
    )
    benign = [
        _account("user-benign-2", 0.02, False, 40, None, []),
        _account("user-benign-1", 0.02, False, 35, None, []),
        _account(
            "campus-nat-9",
            0.11,
            False,
            900,
            None,
            [_hit("linkage", 0.3, 0.1, "shares a NAT address", shared_ips=[IPS[0]])],
        ),
    ]
    camp_a = CampaignVerdict(
        campaign_id="cmp-0001",
        account_ids=[m.account_id for m in members],
        n_requests=sum(m.n_requests for m in members),
        risk=0.97,
        flagged=True,
        first_seen=T0 + timedelta(hours=1, microseconds=250000),
        last_seen=T0 + timedelta(days=6, hours=23),
        hits=[
            _hit(
                "linkage",
                0.97,
                2.4,
                "24 accounts share one payment card and a /24",
                shared_ips=IPS[:2],
                payment_fingerprints=[CARDS[0]],
                n_components=1,
            ),
            fleet_hits[0],
            _hit(
                "templates",
                0.88,
                1.1,
                "3 templates cover 92% of prompts",
                n_templates=3,
                coverage=0.92,
                example_skeleton="Solve step by step: {X}",
            ),
            _hit(
                "release_pivot",
                0.6,
                0.5,
                "moved to the new model 6 h after release",
                model="frontier-2",
                hours_after_release=6.0,
            ),
            fleet_hits[1],
            _hit("coverage", 0.1, -0.4, "topics are not unusually broad", topic_entropy=3.2),
        ],
        links=[
            LinkEvidence("payment_fingerprint", CARDS[0], 18, 18, 4.1),
            LinkEvidence("ip_prefix", IPS[2], 24, 31, 1.2),
            LinkEvidence("ua_created", "python-httpx/0.27 <b>bold</b>", 12, 12, 0.8),
        ],
        behaviour=[
            BehaviourEvidence(
                {"template": 0.8731, "config": 0.2},
                True,
                18,
                6,
                ["template head: grade the answer <script>"],
            ),
        ],
        actor_id="actor-1",
        techniques=["AML.T0024.002", "AML.T0040", "AML.T0008.005", "AML.T9999"],
        sample_prompts=list(PROMPTS_A),
    )
    camp_b = CampaignVerdict(
        campaign_id="cmp-0002",
        account_ids=["acct-b001", "acct-b002"],
        n_requests=600,
        risk=0.42,
        flagged=False,
        first_seen=T0 + timedelta(days=1),
        last_seen=T0 + timedelta(days=3),
        hits=[_hit("conversation_shape", 0.5, 0.4, "long synthetic dialogues", n_turns_p50=9)],
        links=[LinkEvidence("payment_fingerprint", CARDS[1], 2, 2, 2.0)],
        techniques=["AML.T0005.001"],
        sample_prompts=list(PROMPTS_B),
    )
    accounts = [*benign, solo, *pair, *members]
    return ScanResult(
        accounts=accounts,
        campaigns=[camp_b, camp_a],
        ingest=IngestSummary(
            n_read=sum(a.n_requests for a in accounts) + 23,
            n_ok=sum(a.n_requests for a in accounts),
            n_duplicates=3,
            quarantined=Counter({"missing_field:prompt": 15, "bad_json": 5}),
            sources=["traffic/events.jsonl.gz"],
            warnings=Counter({"prompt_truncated": 2}),
        ),
        window_start=T0,
        window_end=T0 + timedelta(days=7),
        threshold=0.8,
        n_events=sum(a.n_requests for a in accounts),
    )


@pytest.fixture
def scan_result() -> ScanResult:
    return make_result()


@pytest.fixture
def empty_result() -> ScanResult:
    return ScanResult([], [], IngestSummary(), None, None, 0.8, 0)


@pytest.fixture
def secrets(scan_result: ScanResult) -> Secrets:
    return Secrets(
        prompts=PROMPTS_A + PROMPTS_B,
        account_ids=[a.account_id for a in scan_result.accounts],
        campaign_ids=[c.campaign_id for c in scan_result.campaigns],
        ips=IPS,
        cards=CARDS,
    )

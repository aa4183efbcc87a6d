"""What a scan produces, independent of how it is written out.

The pipeline fills a :class:`ScanResult`; ``outputs/`` turns it into the contract files
(accounts.csv, campaigns.csv, report.html, intel.json). Evidence is kept as plain
JSON-ready dicts (``dataclasses.asdict`` of each signal's typed ``Evidence``) so writers
need not import the signals.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SignalHit:
    """One signal's outcome for one subject (an account or a campaign)."""

    signal_id: str
    score: float
    #: additive log-odds contribution of this signal to the subject's risk
    contribution: float
    evidence: dict[str, Any]
    #: one line for humans, e.g. "87% of prompts ask for step-by-step reasoning"
    summary: str = ""


@dataclass(frozen=True)
class LinkEvidence:
    """An attribute shared by accounts of one campaign (why they were linked)."""

    kind: str  # payment_fingerprint, ip_prefix, asn_created, ua_created, template, org
    value: str  # display value (already redacted where it must be)
    n_accounts: int  # accounts of this campaign sharing it
    n_accounts_total: int  # accounts in the whole input sharing it
    weight: float  # edge weight one shared instance contributes
    #: the campaign's accounts sharing it, sorted (empty when not recorded)
    account_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class TemplateUse:
    """A prompt skeleton part a campaign uses (local: the text is never shared)."""

    part: str  # head | tail
    skeleton: str
    n_accounts: int  # accounts of the campaign using it
    n_requests: int
    n_accounts_input: int = 0  # accounts of the whole input using it
    n_variants: int = 0  # distinct other parts (tails of a head, heads of a tail) with it


@dataclass(frozen=True)
class InfraUse:
    """Where a campaign's requests came from (local: shared only as ranges or digests)."""

    kind: str  # asn | ip-prefix | ip-address
    value: str
    hosting: bool  # the ASN is a hosting or cloud provider's
    n_accounts: int


@dataclass(frozen=True)
class ValueUse:
    """An identifying value (a payment fingerprint) on a campaign's accounts."""

    value: str
    n_accounts: int


@dataclass(frozen=True)
class Timeline:
    """Requests per time cell (one hour unless the window is long) of a campaign's busiest
    accounts over its active window, for the report."""

    start: datetime  # UTC, on the hour: the start of the first cell
    hours_per_cell: int
    #: account id -> requests per cell, busiest account first
    rows: dict[str, list[int]]
    #: requests per cell of the campaign's other accounts (empty when there are none)
    others: list[int] = field(default_factory=list)
    n_others: int = 0  # how many accounts ``others`` sums


@dataclass
class BehaviourEvidence:
    """Two parts of one campaign joined because they run the same tooling."""

    similarity: dict[str, float]  # cosine per family: template, config, agent
    linked: bool  # the parts also share a weak infrastructure link (lower bar)
    n_accounts_left: int
    n_accounts_right: int
    shared: list[str]  # display text of what contributed most (templates, config, agent)


@dataclass
class AccountVerdict:
    account_id: str
    risk: float
    flagged: bool
    n_requests: int
    first_seen: datetime
    last_seen: datetime
    campaign_id: str | None = None
    #: risk from the account's own traffic, before campaign evidence was applied
    own_risk: float = 0.0
    hits: list[SignalHit] = field(default_factory=list)

    def top_signals(self, k: int = 3) -> list[str]:
        """Ids of the signals that raised risk most, strongest first; ``campaign`` first
        whenever membership of a campaign raised the risk or decided the flag."""
        pinned = [h.signal_id for h in self.hits if h.signal_id == "campaign"][:1]
        rest = [
            h.signal_id
            for h in sorted(self.hits, key=lambda h: -h.contribution)
            if h.contribution > 0 and h.signal_id != "campaign"
        ]
        return (pinned + rest)[:k]


@dataclass
class CampaignVerdict:
    campaign_id: str
    account_ids: list[str]
    n_requests: int
    risk: float
    flagged: bool
    first_seen: datetime
    last_seen: datetime
    hits: list[SignalHit] = field(default_factory=list)
    links: list[LinkEvidence] = field(default_factory=list)
    #: parts joined by behaviour (shared prompt tooling) rather than by attributes
    behaviour: list[BehaviourEvidence] = field(default_factory=list)
    actor_id: str | None = None
    #: MITRE ATLAS technique ids supported by the evidence
    techniques: list[str] = field(default_factory=list)
    #: a few prompts of the campaign, truncated, for the analyst
    sample_prompts: list[str] = field(default_factory=list)
    #: what it is made of (campaigns/artifacts.py): local values, for campaigns.json
    templates: list[TemplateUse] = field(default_factory=list)
    infrastructure: list[InfraUse] = field(default_factory=list)
    payment_fingerprints: list[ValueUse] = field(default_factory=list)
    #: requests per hour of its busiest accounts (report only; None when not computed)
    timeline: Timeline | None = None

    def top_signals(self, k: int = 4) -> list[str]:
        return [
            h.signal_id
            for h in sorted(self.hits, key=lambda h: -h.contribution)[:k]
            if h.contribution > 0
        ]


@dataclass
class IngestSummary:
    n_read: int = 0
    n_ok: int = 0
    n_duplicates: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    sources: list[str] = field(default_factory=list)
    #: records accepted with a warning (e.g. a prompt truncated for analysis), by reason
    warnings: Counter[str] = field(default_factory=Counter)

    @property
    def n_quarantined(self) -> int:
        return sum(self.quarantined.values())


@dataclass
class ScanResult:
    accounts: list[AccountVerdict]
    campaigns: list[CampaignVerdict]
    ingest: IngestSummary
    window_start: datetime | None
    window_end: datetime | None
    #: the risk above which an account or campaign is flagged
    threshold: float
    n_events: int

"""From analysts' decisions and simulator truth to one label per subject of a scan.

Rules, in order of precedence for each subject:

1. an analyst's own decision on it (the newest per subject for that scan: ``confirm`` is
   1, ``dismiss`` 0, ``escalate`` no label);
2. for an account, the decision on the campaign the scan attributed it to (a campaign
   decision labels the campaign and its accounts, unless an account has its own decision,
   an escalation included);
3. simulator truth (``truth.csv``): ``attack`` is 1, ``benign`` 0; a campaign's truth
   label is the majority of its accounts' (no label on a tie).

Labels from decisions (1 and 2) weigh more in the fit than truth (see
:data:`distillwatch.calibrate.fit.DECISION_WEIGHT`).

>>> from datetime import UTC, datetime
>>> from distillwatch.cases.model import Decision
>>> from distillwatch.results import AccountVerdict, CampaignVerdict, IngestSummary, ScanResult
>>> from distillwatch.calibrate.data import scan_data
>>> t = datetime(2026, 11, 2, tzinfo=UTC)
>>> accs = [AccountVerdict(a, 0.9, True, 1, t, t, "C-1") for a in ("a1", "a2")]
>>> camp = CampaignVerdict("C-1", ["a1", "a2"], 2, 0.9, True, t, t)
>>> data = scan_data("s1", ScanResult(accs, [camp], IngestSummary(), t, t, 0.5, 2))
>>> dec = {("campaign", "C-1"): Decision("s1", "campaign", "C-1", "dismiss", "ana", "", t),
...        ("account", "a2"): Decision("s1", "account", "a2", "confirm", "ana", "", t)}
>>> labels = label_scan(data, dec, None)
>>> [(labels.account[i].value, labels.account[i].source) for i in (0, 1)]
[(0, 'campaign decision'), (1, 'decision')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from distillwatch.calibrate.data import ScanData
from distillwatch.cases.model import Decision
from distillwatch.errors import UsageError
from distillwatch.evaluate.tables import TruthRow

DECISION = "decision"
CAMPAIGN_DECISION = "campaign decision"
TRUTH = "truth"


@dataclass(frozen=True)
class Label:
    """What is known about one subject: 1 (extraction) or 0 (not), and from where."""

    value: int
    source: str  # decision | campaign decision | truth

    @property
    def decided(self) -> bool:
        """True when an analyst's decision (on it or on its campaign) gave the label."""
        return self.source != TRUTH


@dataclass
class ScanLabels:
    """Labels of one scan's subjects, by row (see :class:`~.data.ScanData`)."""

    account: dict[int, Label] = field(default_factory=dict)
    campaign: dict[int, Label] = field(default_factory=dict)
    #: decisions naming a subject this scan does not contain (ignored)
    unknown: list[str] = field(default_factory=list)


def check_truth(data: ScanData, truth: Mapping[str, TruthRow], path: Path) -> None:
    """Refuse a truth file naming accounts the scan does not have (the wrong pairing)."""
    known = set(data.account_ids)
    unknown = sorted(a for a in truth if a not in known)
    if unknown:
        raise UsageError(
            f"truth {path} names {len(unknown)} account(s) that scan {data.scan_id} does not "
            f"contain (e.g. {unknown[0]}); give each --truth in the order of its scan "
            "directory, the truth.csv of the traffic that scan read"
        )


def label_scan(
    data: ScanData,
    decisions: Mapping[tuple[str, str], Decision],
    truth: Mapping[str, TruthRow] | None,
) -> ScanLabels:
    """Labels of ``data``'s accounts and campaigns (rules in the module doc)."""
    out = ScanLabels()
    acc_row = {a: i for i, a in enumerate(data.account_ids)}
    camp_row = {c: k for k, c in enumerate(data.campaign_ids)}
    own_account: set[int] = set()
    for (kind, sid), d in sorted(decisions.items()):
        rows = acc_row if kind == "account" else camp_row
        row = rows.get(sid)
        if row is None:
            out.unknown.append(f"{kind} {sid}")
            continue
        if kind == "account":
            own_account.add(row)  # an escalation on the account also overrides its campaign's
        if d.label is None:
            continue
        target = out.account if kind == "account" else out.campaign
        target[row] = Label(d.label, DECISION)
    for k, lab in out.campaign.items():
        for i in data.campaign_members[k]:
            if i not in own_account:
                out.account[i] = Label(lab.value, CAMPAIGN_DECISION)
    if truth is None:
        return out
    for i, a in enumerate(data.account_ids):
        row_t = truth.get(a)
        if i not in out.account and row_t is not None:
            out.account[i] = Label(1 if row_t.is_attack else 0, TRUTH)
    for k, mem in enumerate(data.campaign_members):
        if k in out.campaign:
            continue
        votes = [truth[data.account_ids[i]].is_attack for i in mem if data.account_ids[i] in truth]
        n_attack = sum(votes)
        if 2 * n_attack > len(votes):
            out.campaign[k] = Label(1, TRUTH)
        elif 2 * n_attack < len(votes):
            out.campaign[k] = Label(0, TRUTH)
    return out

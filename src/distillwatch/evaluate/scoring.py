"""Scoring a scan against simulator truth.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "accounts.csv").write_text(
...     "account_id,risk,flagged,campaign_id,signals\\n"
...     "a1,0.9,true,k1,\\na2,0.8,true,k1,\\nb1,0.1,false,,\\n")
>>> _ = (d / "truth.csv").write_text(
...     "account_id,label,persona,campaign_id,actor_id\\n"
...     "a1,attack,hydra,h-1,x\\na2,attack,hydra,h-1,x\\nb1,benign,developer,,\\n")
>>> m = evaluate(d / "accounts.csv", d / "truth.csv")
>>> (m.recall, m.fpr, m.auroc, m.ari)
(1.0, 0.0, 1.0, 1.0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from distillwatch.evaluate.metrics import adjusted_rand_index, auroc, recall_at_fpr
from distillwatch.evaluate.tables import ScanRow, read_scan, read_truth

#: the false-positive budget the project targets (0.2% of benign accounts)
TARGET_FPR = 0.002


@dataclass(frozen=True)
class CampaignRecall:
    """How much of one true campaign was flagged, and into how many predicted campaigns."""

    campaign_id: str
    persona: str
    actor_id: str
    n_accounts: int
    n_flagged: int
    recall: float
    #: distinct predicted campaign ids among its flagged accounts (empty ids count apart)
    n_predicted_campaigns: int


@dataclass(frozen=True)
class PersonaFalsePositives:
    persona: str
    n_accounts: int
    n_flagged: int
    fpr: float


@dataclass(frozen=True)
class Metrics:
    """Everything ``distillwatch evaluate`` reports (``--json`` writes this)."""

    n_accounts: int
    n_attack: int
    n_benign: int
    #: truth accounts absent from the scan (counted as risk 0, not flagged)
    n_missing: int
    #: scan accounts absent from the truth (ignored)
    n_unknown: int
    true_positives: int
    false_negatives: int
    false_positives: int
    true_negatives: int
    recall: float | None
    fpr: float | None
    precision: float | None
    auroc: float | None
    target_fpr: float
    #: best recall of a risk threshold keeping FPR <= target_fpr
    recall_at_target_fpr: float | None
    #: adjusted Rand index of predicted vs true campaign over flagged attack accounts
    ari: float | None
    n_ari_accounts: int
    campaigns: list[CampaignRecall] = field(default_factory=list)
    benign_personas: list[PersonaFalsePositives] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def evaluate(accounts_csv: Path, truth_csv: Path) -> Metrics:
    """Compare a scan's accounts.csv with the simulator's truth.csv."""
    scan = read_scan(accounts_csv)
    truth = read_truth(truth_csv)
    absent = ScanRow(0.0, False, "")
    ids = sorted(truth)
    rows = [scan.get(a, absent) for a in ids]
    attack = [truth[a].is_attack for a in ids]
    flagged = [r.flagged for r in rows]
    tp = sum(1 for y, f in zip(attack, flagged, strict=True) if y and f)
    fp = sum(1 for y, f in zip(attack, flagged, strict=True) if not y and f)
    n_attack = sum(attack)
    n_benign = len(ids) - n_attack
    n_missing = sum(1 for a in ids if a not in scan)
    n_unknown = sum(1 for a in scan if a not in truth)
    warnings = []
    if n_missing:
        warnings.append(
            f"{n_missing} truth account(s) are missing from the scan; counted as risk 0, "
            "not flagged"
        )
    if n_unknown:
        warnings.append(f"{n_unknown} scanned account(s) are not in the truth file; ignored")

    true_ids, pred_ids = [], []
    for a, row in zip(ids, rows, strict=True):
        if truth[a].is_attack and row.flagged:
            true_ids.append(truth[a].campaign_id or f"<none>:{a}")
            pred_ids.append(row.campaign_id or f"<single>:{a}")

    campaigns = []
    by_campaign: dict[str, list[str]] = {}
    for a in ids:
        if truth[a].is_attack:
            by_campaign.setdefault(truth[a].campaign_id, []).append(a)
    for cid, members in sorted(by_campaign.items()):
        hit = [a for a in members if scan.get(a, absent).flagged]
        predicted = {scan[a].campaign_id or f"<single>:{a}" for a in hit}
        first = truth[members[0]]
        campaigns.append(
            CampaignRecall(
                campaign_id=cid,
                persona=first.persona,
                actor_id=first.actor_id,
                n_accounts=len(members),
                n_flagged=len(hit),
                recall=len(hit) / len(members),
                n_predicted_campaigns=len(predicted),
            )
        )
    by_persona: dict[str, list[str]] = {}
    for a in ids:
        if not truth[a].is_attack:
            by_persona.setdefault(truth[a].persona, []).append(a)
    personas = []
    for persona, members in sorted(by_persona.items()):
        n_flag = sum(1 for a in members if scan.get(a, absent).flagged)
        personas.append(PersonaFalsePositives(persona, len(members), n_flag, n_flag / len(members)))

    risks = [r.risk for r in rows]
    return Metrics(
        n_accounts=len(ids),
        n_attack=n_attack,
        n_benign=n_benign,
        n_missing=n_missing,
        n_unknown=n_unknown,
        true_positives=tp,
        false_negatives=n_attack - tp,
        false_positives=fp,
        true_negatives=n_benign - fp,
        recall=_ratio(tp, n_attack),
        fpr=_ratio(fp, n_benign),
        precision=_ratio(tp, tp + fp),
        auroc=auroc(risks, attack) if ids else None,
        target_fpr=TARGET_FPR,
        recall_at_target_fpr=recall_at_fpr(risks, attack, TARGET_FPR) if ids else None,
        ari=adjusted_rand_index(true_ids, pred_ids),
        n_ari_accounts=len(true_ids),
        campaigns=campaigns,
        benign_personas=personas,
        warnings=warnings,
    )

"""evaluate: metrics of a scan against simulator truth.

``evaluate(accounts_csv, truth_csv)`` returns :class:`Metrics`: attack recall and benign
false-positive rate of the scan's ``flagged`` decision, precision, AUROC of ``risk``,
recall per true campaign, false positives per benign persona, and the adjusted Rand index
of predicted vs true campaigns over the flagged attack accounts.
"""

from __future__ import annotations

from distillwatch.evaluate.metrics import adjusted_rand_index, auroc, recall_at_fpr
from distillwatch.evaluate.scoring import (
    TARGET_FPR,
    CampaignRecall,
    Metrics,
    PersonaFalsePositives,
    evaluate,
)

__all__ = [
    "TARGET_FPR",
    "CampaignRecall",
    "Metrics",
    "PersonaFalsePositives",
    "adjusted_rand_index",
    "auroc",
    "evaluate",
    "recall_at_fpr",
]

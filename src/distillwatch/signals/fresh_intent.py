"""Extraction intent from new accounts: reasoning-extraction prompts sent by accounts that
started within days of being created. Researchers who ask for step-by-step answers use
accounts they have had for months; harvesting operations burn fresh ones. This is the
*conjunction* of two other signals, which an additive risk model cannot express alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from distillwatch.signals.base import Array, Evidence, Features, Signal, col, ramp, support


@dataclass(frozen=True)
class FreshIntentEvidence(Evidence):
    intent_share: float
    age_days: float


class FreshIntent(Signal):
    id = "fresh_intent"
    title = "Extraction prompts from newly created accounts"
    inputs = ("intent_share", "age_days", "young_share", "n_requests")
    techniques = ("AML.T0024.002",)
    defaults = {"lo": 0.05, "hi": 0.4, "young_days": 7.0, "old_days": 90.0, "n0": 8.0}
    positive = {"intent_share": 0.5, "age_days": 1.0, "young_share": 1.0, "n_requests": 200}
    negative = {"intent_share": 0.5, "age_days": 300.0, "young_share": 0.0, "n_requests": 200}

    def score(self, f: Features) -> Array:
        intent = ramp(col(f, "intent_share"), self.p("lo"), self.p("hi"))
        age = np.nan_to_num(np.asarray(f["age_days"], dtype=np.float64), nan=1e6)
        young = 1.0 - ramp(
            np.log1p(np.maximum(age, 0.0)),
            float(np.log1p(self.p("young_days"))),
            float(np.log1p(self.p("old_days"))),
        )
        young = np.clip(np.maximum(young, col(f, "young_share")), 0.0, 1.0)
        return intent * young * support(col(f, "n_requests"), self.p("n0"))

    def evidence(self, f: Features, i: int) -> FreshIntentEvidence:
        age = float(np.nan_to_num(np.asarray(f["age_days"], dtype=np.float64), nan=-1.0)[i])
        return FreshIntentEvidence(intent_share=float(col(f, "intent_share")[i]), age_days=age)

    def summary(self, ev: Any) -> str:
        return (
            f"{ev.intent_share:.0%} extraction prompts from account(s) {ev.age_days:.0f} days old"
        )

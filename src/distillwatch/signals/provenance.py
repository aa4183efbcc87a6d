"""Account provenance: fresh accounts, risky sign-up channels, accounts created in bursts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from distillwatch.signals.base import Array, Evidence, Features, Signal, col, noisy_or, ramp


@dataclass(frozen=True)
class ProvenanceEvidence(Evidence):
    age_days: float
    burst_size: int
    young_share: float


class Provenance(Signal):
    id = "provenance"
    title = "Fresh accounts created in bursts"
    inputs = ("age_days", "burst_size", "young_share")
    defaults = {
        "young_days": 3.0,
        "old_days": 60.0,
        "burst_lo": 4.0,
        "burst_hi": 15.0,
        "young_weight": 0.5,
        "burst_weight": 0.8,
    }
    positive = {"age_days": 0.2, "burst_size": 20, "young_share": 1.0}
    negative = {"age_days": 400.0, "burst_size": 1, "young_share": 0.0}

    def score(self, f: Features) -> Array:
        age = col(f, "age_days")
        young = 1.0 - ramp(
            np.log1p(age),
            float(np.log1p(self.p("young_days"))),
            float(np.log1p(self.p("old_days"))),
        )
        young = np.clip(np.maximum(young, col(f, "young_share")), 0.0, 1.0)
        burst = ramp(col(f, "burst_size"), self.p("burst_lo"), self.p("burst_hi"))
        return noisy_or(self.p("young_weight") * young, self.p("burst_weight") * burst)

    def evidence(self, f: Features, i: int) -> ProvenanceEvidence:
        return ProvenanceEvidence(
            age_days=float(col(f, "age_days")[i]),
            burst_size=int(col(f, "burst_size")[i]),
            young_share=float(col(f, "young_share")[i]),
        )

    def summary(self, ev: Any) -> str:
        return (
            f"account(s) {ev.age_days:.1f} days old at first request, created in a burst of "
            f"{ev.burst_size}"
        )

"""Release pivot: traffic moves to a newly seen model within a day of its first use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from distillwatch.signals.base import Array, Evidence, Features, Signal, col, ramp


@dataclass(frozen=True)
class PivotEvidence(Evidence):
    pivot_share: float
    pivot_lag_hours: float
    prior_requests: int


class ReleasePivot(Signal):
    id = "release_pivot"
    title = "Pivot to a newly released model"
    inputs = ("pivot_share", "pivot_lag_h", "prior_n", "after_n")
    techniques = ("AML.T0024.002",)
    defaults = {
        "share_lo": 0.4,
        "share_hi": 0.85,
        "max_lag_h": 24.0,
        "min_prior": 5.0,
        "min_after": 20.0,
    }
    positive = {"pivot_share": 0.95, "pivot_lag_h": 3.0, "prior_n": 400, "after_n": 900}
    negative = {"pivot_share": 0.1, "pivot_lag_h": 30.0, "prior_n": 400, "after_n": 900}

    def score(self, f: Features) -> Array:
        lag = np.asarray(f["pivot_lag_h"], dtype=np.float64)
        quick = np.where(np.isnan(lag), 0.0, (lag <= self.p("max_lag_h")).astype(np.float64))
        had_prior = (col(f, "prior_n") >= self.p("min_prior")).astype(np.float64)
        enough = ramp(col(f, "after_n"), self.p("min_after") / 2, self.p("min_after"))
        share = ramp(col(f, "pivot_share"), self.p("share_lo"), self.p("share_hi"))
        return share * quick * had_prior * enough

    def evidence(self, f: Features, i: int) -> PivotEvidence:
        lag = float(np.asarray(f["pivot_lag_h"], dtype=np.float64)[i])
        return PivotEvidence(
            pivot_share=float(col(f, "pivot_share")[i]),
            pivot_lag_hours=lag if lag == lag else -1.0,
            prior_requests=int(col(f, "prior_n")[i]),
        )

    def summary(self, ev: Any) -> str:
        if ev.pivot_lag_hours < 0:
            return "no use of a newly released model"
        return (
            f"moved {ev.pivot_share:.0%} of traffic to a new model {ev.pivot_lag_hours:.0f} h "
            f"after its first use"
        )

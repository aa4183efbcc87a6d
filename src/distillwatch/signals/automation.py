"""Automation: round-the-clock activity and machine-regular gaps between requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillwatch.signals.base import (
    Array,
    Evidence,
    Features,
    Signal,
    col,
    log_ramp,
    ramp,
)


@dataclass(frozen=True)
class AutomationEvidence(Evidence):
    hours_active: int
    hour_entropy: float
    gap_cv: float
    n_gaps: int


class Automation(Signal):
    id = "automation"
    title = "Round-the-clock, machine-regular activity"
    inputs = ("n_hours_active", "hour_entropy", "gap_cv", "n_gaps", "n_requests")
    defaults = {
        "entropy_lo": 0.85,
        "entropy_hi": 0.97,
        "cv_regular": 0.35,
        "cv_human": 1.2,
        "min_requests": 60.0,
        "full_requests": 300.0,
    }
    positive = {
        "n_hours_active": 24,
        "hour_entropy": 0.99,
        "gap_cv": 0.2,
        "n_gaps": 900,
        "n_requests": 1000,
    }
    negative = {
        "n_hours_active": 7,
        "hour_entropy": 0.6,
        "gap_cv": 2.5,
        "n_gaps": 40,
        "n_requests": 60,
    }

    def score(self, f: Features) -> Array:
        size = log_ramp(col(f, "n_requests"), self.p("min_requests"), self.p("full_requests"))
        clock = ramp(col(f, "hour_entropy"), self.p("entropy_lo"), self.p("entropy_hi"))
        cv = col(f, "gap_cv")
        regular = ramp(self.p("cv_human") - cv, 0.0, self.p("cv_human") - self.p("cv_regular"))
        regular = regular * ramp(col(f, "n_gaps"), 10.0, 50.0)
        return size * (0.5 * clock + 0.5 * regular)

    def evidence(self, f: Features, i: int) -> AutomationEvidence:
        return AutomationEvidence(
            hours_active=int(col(f, "n_hours_active")[i]),
            hour_entropy=float(col(f, "hour_entropy")[i]),
            gap_cv=float(col(f, "gap_cv")[i]),
            n_gaps=int(col(f, "n_gaps")[i]),
        )

    def summary(self, ev: Any) -> str:
        return (
            f"active in {ev.hours_active}/24 hours of the day (spread {ev.hour_entropy:.2f}), "
            f"gap variation {ev.gap_cv:.2f} over {ev.n_gaps} gaps"
        )

"""Repetition: a fixed set of prompts re-run several times (an evaluation suite, a
regression test). This is evidence *against* harvesting, which wants new tasks: the
risk model gives it a negative weight, and the explanation says what lowered the risk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillwatch.signals.base import Array, Evidence, Features, Signal, col, log_ramp, ramp


@dataclass(frozen=True)
class RepetitionEvidence(Evidence):
    distinct_content_ratio: float
    n_requests: int


class Repetition(Signal):
    id = "repetition"
    title = "A fixed prompt suite re-run (lowers risk)"
    inputs = ("distinct_content_ratio", "n_requests")
    lowers_risk = True
    defaults = {"lo": 0.3, "hi": 0.7, "n_lo": 30.0, "n_hi": 150.0}
    positive = {"distinct_content_ratio": 0.25, "n_requests": 600}
    negative = {"distinct_content_ratio": 0.99, "n_requests": 600}

    def score(self, f: Features) -> Array:
        repeats = ramp(1.0 - col(f, "distinct_content_ratio"), self.p("lo"), self.p("hi"))
        return repeats * log_ramp(col(f, "n_requests"), self.p("n_lo"), self.p("n_hi"))

    def evidence(self, f: Features, i: int) -> RepetitionEvidence:
        return RepetitionEvidence(
            distinct_content_ratio=float(col(f, "distinct_content_ratio")[i]),
            n_requests=int(col(f, "n_requests")[i]),
        )

    def summary(self, ev: Any) -> str:
        return (
            f"only {ev.distinct_content_ratio:.0%} of {ev.n_requests:,} prompts are distinct:"
            " a fixed suite re-run, unlike harvesting"
        )

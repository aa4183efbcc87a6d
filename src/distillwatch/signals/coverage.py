"""Coverage: many distinct tasks across many domains with almost no repeats (harvesting a
capability), as opposed to a fixed suite re-run (evaluation) or one narrow job (batch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillwatch.signals.base import Array, Evidence, Features, Signal, col, log_ramp, ramp


@dataclass(frozen=True)
class CoverageEvidence(Evidence):
    distinct_content_ratio: float
    domain_entropy: float
    n_domains: int
    n_requests: int


class Coverage(Signal):
    id = "coverage"
    title = "Broad task coverage without repeats"
    inputs = ("distinct_content_ratio", "domain_entropy", "n_domains", "n_requests")
    defaults = {
        "distinct_lo": 0.85,
        "distinct_hi": 0.98,
        "entropy_lo": 0.45,
        "entropy_hi": 0.75,
        "n_lo": 40.0,
        "n_hi": 400.0,
    }
    positive = {
        "distinct_content_ratio": 1.0,
        "domain_entropy": 0.85,
        "n_domains": 14,
        "n_requests": 3000,
    }
    negative = {
        "distinct_content_ratio": 0.25,
        "domain_entropy": 0.8,
        "n_domains": 12,
        "n_requests": 700,
    }

    def score(self, f: Features) -> Array:
        distinct = ramp(
            col(f, "distinct_content_ratio"), self.p("distinct_lo"), self.p("distinct_hi")
        )
        spread = ramp(col(f, "domain_entropy"), self.p("entropy_lo"), self.p("entropy_hi"))
        size = log_ramp(col(f, "n_requests"), self.p("n_lo"), self.p("n_hi"))
        return distinct * spread * size

    def evidence(self, f: Features, i: int) -> CoverageEvidence:
        return CoverageEvidence(
            distinct_content_ratio=float(col(f, "distinct_content_ratio")[i]),
            domain_entropy=float(col(f, "domain_entropy")[i]),
            n_domains=int(col(f, "n_domains")[i]),
            n_requests=int(col(f, "n_requests")[i]),
        )

    def summary(self, ev: Any) -> str:
        return (
            f"{ev.distinct_content_ratio:.0%} of {ev.n_requests:,} prompts are distinct, "
            f"spread over {ev.n_domains} domains (evenness {ev.domain_entropy:.2f})"
        )

"""Harvesting parameters: output limits at the model maximum, log-probabilities, several
completions per call, answers cut at the limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillwatch.signals.base import (
    Array,
    Evidence,
    Features,
    Signal,
    col,
    noisy_or,
    ramp,
    support,
)


@dataclass(frozen=True)
class HarvestEvidence(Evidence):
    near_max_share: float
    logprobs_share: float
    multi_n_share: float
    length_cut_share: float


class HarvestParams(Signal):
    id = "harvest_params"
    title = "Parameters that maximise what each answer yields"
    inputs = ("near_max_share", "logprobs_share", "multi_n_share", "length_cut_share", "n_requests")
    techniques = ("AML.T0024.002",)
    defaults = {
        "near_max_lo": 0.2,
        "near_max_hi": 0.8,
        "logprobs_lo": 0.05,
        "logprobs_hi": 0.4,
        "multi_lo": 0.05,
        "multi_hi": 0.4,
        "cut_lo": 0.1,
        "cut_hi": 0.4,
        "n0": 10.0,
    }
    positive = {
        "near_max_share": 0.95,
        "logprobs_share": 0.3,
        "multi_n_share": 0.2,
        "length_cut_share": 0.3,
        "n_requests": 500,
    }
    negative = {
        "near_max_share": 0.0,
        "logprobs_share": 0.0,
        "multi_n_share": 0.0,
        "length_cut_share": 0.02,
        "n_requests": 500,
    }

    def score(self, f: Features) -> Array:
        s = noisy_or(
            ramp(col(f, "near_max_share"), self.p("near_max_lo"), self.p("near_max_hi")),
            0.6 * ramp(col(f, "logprobs_share"), self.p("logprobs_lo"), self.p("logprobs_hi")),
            0.5 * ramp(col(f, "multi_n_share"), self.p("multi_lo"), self.p("multi_hi")),
            0.5 * ramp(col(f, "length_cut_share"), self.p("cut_lo"), self.p("cut_hi")),
        )
        return s * support(col(f, "n_requests"), self.p("n0"))

    def evidence(self, f: Features, i: int) -> HarvestEvidence:
        return HarvestEvidence(
            near_max_share=float(col(f, "near_max_share")[i]),
            logprobs_share=float(col(f, "logprobs_share")[i]),
            multi_n_share=float(col(f, "multi_n_share")[i]),
            length_cut_share=float(col(f, "length_cut_share")[i]),
        )

    def summary(self, ev: Any) -> str:
        return (
            f"{ev.near_max_share:.0%} of requests ask for the model's maximum output, "
            f"{ev.logprobs_share:.0%} log-probabilities, {ev.multi_n_share:.0%} n>1, "
            f"{ev.length_cut_share:.0%} cut at the limit"
        )

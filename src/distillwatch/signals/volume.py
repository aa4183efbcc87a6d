"""Volume: requests and output tokens per active day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillwatch.signals.base import Array, Evidence, Features, Signal, col, log_ramp


@dataclass(frozen=True)
class VolumeEvidence(Evidence):
    requests_per_day: float
    output_tokens_per_day: float
    active_days: int
    n_requests: int


class Volume(Signal):
    id = "volume"
    title = "Request and output-token volume"
    inputs = ("req_per_day", "tokens_out_per_day", "n_active_days", "n_requests")
    techniques = ("AML.T0040",)
    defaults = {"req_lo": 80.0, "req_hi": 3000.0, "tok_lo": 100_000.0, "tok_hi": 5_000_000.0}
    positive = {
        "req_per_day": 5000.0,
        "tokens_out_per_day": 8e6,
        "n_active_days": 7,
        "n_requests": 35000,
    }
    negative = {
        "req_per_day": 12.0,
        "tokens_out_per_day": 6000.0,
        "n_active_days": 3,
        "n_requests": 36,
    }

    def score(self, f: Features) -> Array:
        req = log_ramp(col(f, "req_per_day"), self.p("req_lo"), self.p("req_hi"))
        tok = log_ramp(col(f, "tokens_out_per_day"), self.p("tok_lo"), self.p("tok_hi"))
        return (req + tok) / 2.0

    def evidence(self, f: Features, i: int) -> VolumeEvidence:
        return VolumeEvidence(
            requests_per_day=float(col(f, "req_per_day")[i]),
            output_tokens_per_day=float(col(f, "tokens_out_per_day")[i]),
            active_days=int(col(f, "n_active_days")[i]),
            n_requests=int(col(f, "n_requests")[i]),
        )

    def summary(self, ev: Any) -> str:
        return (
            f"{ev.requests_per_day:,.0f} requests and {ev.output_tokens_per_day:,.0f} "
            f"output tokens per active day over {ev.active_days} days"
        )

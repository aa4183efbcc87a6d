"""Linkage (campaigns only): accounts tied together by rare shared attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillwatch.signals.base import Array, Evidence, Features, Signal, col, log_ramp, ramp


@dataclass(frozen=True)
class LinkageEvidence(Evidence):
    n_accounts: int
    link_strength: float


class Linkage(Signal):
    id = "linkage"
    title = "Accounts linked by shared payment, network or templates"
    inputs = ("n_accounts", "link_strength")
    techniques = ("AML.T0008.005",)
    defaults = {"size_lo": 2.0, "size_hi": 30.0, "strength_lo": 0.5, "strength_hi": 3.0}
    positive = {"n_accounts": 60, "link_strength": 4.0}
    negative = {"n_accounts": 1, "link_strength": 0.0}

    def score(self, f: Features) -> Array:
        size = log_ramp(col(f, "n_accounts"), self.p("size_lo"), self.p("size_hi"))
        strength = ramp(col(f, "link_strength"), self.p("strength_lo"), self.p("strength_hi"))
        return size * strength

    def evidence(self, f: Features, i: int) -> LinkageEvidence:
        return LinkageEvidence(
            n_accounts=int(col(f, "n_accounts")[i]), link_strength=float(col(f, "link_strength")[i])
        )

    def summary(self, ev: Any) -> str:
        return f"{ev.n_accounts} accounts linked (mean link weight {ev.link_strength:.2f})"

"""Conversation shape: harvesting is single-turn; people follow up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillwatch.signals.base import Array, Evidence, Features, Signal, col, ramp, support


@dataclass(frozen=True)
class ConversationEvidence(Evidence):
    single_turn_share: float
    n_requests: int


class ConversationShape(Signal):
    id = "conversation_shape"
    title = "Single-turn requests with no follow-ups"
    inputs = ("single_turn_share", "has_turn_info", "n_requests")
    defaults = {"lo": 0.75, "hi": 0.98, "n0": 20.0}
    positive = {"single_turn_share": 1.0, "has_turn_info": 1.0, "n_requests": 800}
    negative = {"single_turn_share": 0.3, "has_turn_info": 1.0, "n_requests": 800}

    def score(self, f: Features) -> Array:
        s = ramp(col(f, "single_turn_share"), self.p("lo"), self.p("hi"))
        known = ramp(col(f, "has_turn_info"), 0.2, 0.8)
        return s * known * support(col(f, "n_requests"), self.p("n0"))

    def evidence(self, f: Features, i: int) -> ConversationEvidence:
        return ConversationEvidence(
            single_turn_share=float(col(f, "single_turn_share")[i]),
            n_requests=int(col(f, "n_requests")[i]),
        )

    def summary(self, ev: Any) -> str:
        return f"{ev.single_turn_share:.0%} of {ev.n_requests:,} requests are single-turn"

"""Extraction intent: prompts that ask the model to write out, reveal, translate or encode
its reasoning, to grade responses (reward signal), or to generate training data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from distillwatch.signals.base import Array, Evidence, Features, Signal, col, ramp, support


@dataclass(frozen=True)
class IntentEvidence(Evidence):
    intent_share: float
    cot_share: float
    reveal_share: float
    rubric_share: float
    synth_share: float
    languages: int


class ExtractionIntent(Signal):
    id = "extraction_intent"
    title = "Requests for reasoning traces, grades or training data"
    inputs = (
        "intent_share",
        "cot_share",
        "reveal_share",
        "rubric_share",
        "synth_share",
        "n_langs",
        "n_requests",
    )
    techniques = ("AML.T0024.002", "AML.T0005.001")
    defaults = {"lo": 0.05, "hi": 0.5, "n0": 8.0, "reveal_boost": 2.0}
    positive = {
        "intent_share": 0.9,
        "cot_share": 0.9,
        "reveal_share": 0.0,
        "rubric_share": 0.0,
        "synth_share": 0.0,
        "n_langs": 1,
        "n_requests": 300,
    }
    negative = {
        "intent_share": 0.01,
        "cot_share": 0.01,
        "reveal_share": 0.0,
        "rubric_share": 0.0,
        "synth_share": 0.0,
        "n_langs": 1,
        "n_requests": 300,
    }

    def score(self, f: Features) -> Array:
        # Asking for hidden reasoning to be revealed is rarer in honest use than "step by
        # step", so it counts extra.
        share = np.minimum(
            1.0, col(f, "intent_share") + (self.p("reveal_boost") - 1) * col(f, "reveal_share")
        )
        return ramp(share, self.p("lo"), self.p("hi")) * support(col(f, "n_requests"), self.p("n0"))

    def evidence(self, f: Features, i: int) -> IntentEvidence:
        return IntentEvidence(
            intent_share=float(col(f, "intent_share")[i]),
            cot_share=float(col(f, "cot_share")[i]),
            reveal_share=float(col(f, "reveal_share")[i]),
            rubric_share=float(col(f, "rubric_share")[i]),
            synth_share=float(col(f, "synth_share")[i]),
            languages=int(col(f, "n_langs")[i]),
        )

    def summary(self, ev: Any) -> str:
        parts = [
            f"{v:.0%} {k}"
            for k, v in (
                ("reasoning", ev.cot_share),
                ("reveal hidden reasoning", ev.reveal_share),
                ("grading", ev.rubric_share),
                ("data generation", ev.synth_share),
            )
            if v >= 0.01
        ]
        return (
            f"{ev.intent_share:.0%} of prompts show extraction intent"
            + (f" ({', '.join(parts)})" if parts else "")
            + (f" in {ev.languages} languages" if ev.languages > 1 else "")
        )

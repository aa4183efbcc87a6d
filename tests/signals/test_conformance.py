"""One suite over every registered signal: shape, range, determinism, its own examples."""

from __future__ import annotations

import numpy as np
import pytest

from distillwatch.signals.base import Signal
from distillwatch.signals.registry import SIGNALS, build_signals

ALL = sorted(SIGNALS)


def _frame(rows: list[dict[str, float]], signal: type[Signal]) -> dict[str, np.ndarray]:
    return {c: np.array([float(r[c]) for r in rows]) for c in signal.inputs}


@pytest.mark.parametrize("sid", ALL)
def test_examples_declare_every_input(sid):
    cls = SIGNALS[sid]
    assert set(cls.inputs) <= set(cls.positive), "positive example misses inputs"
    assert set(cls.inputs) <= set(cls.negative), "negative example misses inputs"


@pytest.mark.parametrize("sid", ALL)
def test_positive_scores_high_and_negative_low(sid):
    cls = SIGNALS[sid]
    scores = cls().score(_frame([cls.positive, cls.negative], cls))
    assert scores[0] >= 0.6, f"{sid} positive example scored {scores[0]:.3f}"
    assert scores[1] <= 0.15, f"{sid} negative example scored {scores[1]:.3f}"


@pytest.mark.parametrize("sid", ALL)
def test_random_features_stay_in_range_deterministic_and_unmutated(sid):
    cls = SIGNALS[sid]
    rng = np.random.default_rng(3)
    frame = {c: rng.uniform(0, 1, 200) * rng.choice([1, 10, 1000, 1e6], 200) for c in cls.inputs}
    frame[cls.inputs[0]][:5] = np.nan
    before = {c: v.copy() for c, v in frame.items()}
    sig = cls()
    a = sig.score(frame)
    b = sig.score(frame)
    assert a.shape == (200,)
    assert np.all((a >= 0) & (a <= 1)), f"{sid} left [0, 1]"
    np.testing.assert_array_equal(a, b)
    for c in cls.inputs:
        np.testing.assert_array_equal(np.nan_to_num(frame[c]), np.nan_to_num(before[c]))


@pytest.mark.parametrize("sid", ALL)
def test_evidence_is_typed_and_summarised(sid):
    cls = SIGNALS[sid]
    sig = cls()
    frame = _frame([cls.positive], cls)
    ev = sig.evidence(frame, 0)
    d = ev.as_dict()
    assert d and all(isinstance(k, str) for k in d)
    text = sig.summary(ev)
    assert isinstance(text, str) and len(text) > 10


def test_params_override_defaults():
    volume = build_signals({"volume": {"req_lo": 1.0, "req_hi": 2.0}}, campaign=False)[0]
    assert volume.id == "volume"
    frame = {
        "req_per_day": np.array([5.0]),
        "tokens_out_per_day": np.array([0.0]),
        "n_active_days": np.array([1.0]),
        "n_requests": np.array([5.0]),
    }
    assert volume.score(frame)[0] == pytest.approx(0.5)


def test_campaign_only_signals_are_left_out_for_accounts():
    ids = {s.id for s in build_signals({}, campaign=False)}
    assert "linkage" not in ids and "volume" in ids
    assert "linkage" in {s.id for s in build_signals({}, campaign=True)}


@pytest.mark.parametrize(
    ("share", "heads", "text"),
    [
        (1.0, 0, "100% of prompts follow a template (by their endings)"),
        (0.8, 2, "80% of prompts follow a template (2 frequent opening(s))"),
        (0.0, 0, "0% of prompts follow a template"),
    ],
)
def test_templates_summary_names_no_zero_templates(share: float, heads: int, text: str) -> None:
    sig = SIGNALS["templates"]()
    frame = _frame(
        [{**sig.positive, "templated_share": share, "n_templates": heads}], SIGNALS["templates"]
    )
    assert sig.summary(sig.evidence(frame, 0)) == text

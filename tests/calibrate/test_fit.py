"""The anchored refit and the threshold rule."""

from __future__ import annotations

import numpy as np
import pytest

from distillwatch.calibrate.data import fitted_signals
from distillwatch.calibrate.fit import (
    DECISION_WEIGHT,
    choose_threshold,
    label_weights,
    refit,
)
from distillwatch.calibrate.verdicts import logit
from distillwatch.config import load_scan_config
from distillwatch.verdicts.model import RiskModel


@pytest.fixture(scope="module")
def current() -> RiskModel:
    cfg = load_scan_config()
    return RiskModel(cfg.bias, dict(cfg.weights), cfg.threshold)


def _sample(model: RiskModel, signals: tuple[str, ...], n: int, seed: int, cut: float):
    """Subjects labelled by the current model at log-odds ``cut``, none within 2 of it."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n, len(signals))) ** 2
    w = np.array([model.weights.get(s, 0.0) for s in signals])
    z = model.bias + x @ w
    keep = np.abs(z - cut) > 2.0
    return x[keep], (z[keep] >= cut).astype(int), z[keep]


def test_labels_that_agree_leave_the_model_where_it_was(current):
    """Labels that say what the model's risks say (extraction above 0.5, with a margin)
    leave the fit at the anchor; the same subjects labelled by the model's (much stricter)
    flags are evidence against its risks between 0.5 and the threshold, and move it."""
    signals = fitted_signals(campaign=False)
    x, y, _ = _sample(current, signals, 600, seed=1, cut=0.0)
    assert 20 < y.sum() < len(y) - 20
    none = np.zeros(len(y), bool)
    bias, w = refit(x, y, none, np.zeros(len(y)), current, signals)
    assert abs(bias - current.bias) < 0.3
    for s in signals:
        assert abs(w[s] - current.weights.get(s, 0.0)) < 0.3, s
    x2, y2, _ = _sample(current, signals, 600, seed=1, cut=logit(current.threshold))
    bias2, _ = refit(x2, y2, np.zeros(len(y2), bool), np.zeros(len(y2)), current, signals)
    assert bias2 < current.bias - 0.3


def test_decisions_against_the_model_move_it(current):
    signals = fitted_signals(campaign=False)
    j = signals.index("harvest_params")
    assert current.weights["harvest_params"] == 0.0
    x, y, z = _sample(current, signals, 400, seed=2, cut=logit(current.threshold))
    x[:, j] = 0.0
    # five subjects the model clears (2 to 3 log-odds under its threshold), confirmed by an
    # analyst; they share a pattern (a signal the current model ignores) the others lack
    gap = logit(current.threshold) - z
    below = np.flatnonzero((y == 0) & (gap < 3.0))[:5]
    assert len(below) == 5
    x[below, j] = 1.0
    w_cur = np.array([current.weights.get(s, 0.0) for s in signals])
    z = current.bias + x @ w_cur
    y2 = y.copy()
    y2[below] = 1
    decided = np.zeros(len(y), bool)
    decided[below] = True
    bias, w = refit(x, y2, decided, np.zeros(len(y)), current, signals)
    assert w["harvest_params"] > 0.5  # from 0
    z_new = bias + x @ np.array([w[s] for s in signals])
    t = choose_threshold(z_new, y2, decided, z, current.threshold)
    flagged = z_new >= logit(t)
    assert flagged[below].all()  # the decided subjects are now flagged
    assert not flagged[y2 == 0].any()  # and no subject the model cleared before


def test_sign_constraints_hold_whatever_the_labels(current):
    signals = fitted_signals(campaign=False)
    j_rep, j_vol = signals.index("repetition"), signals.index("volume")
    rng = np.random.default_rng(3)
    n = 300
    y = (rng.uniform(size=n) < 0.4).astype(int)
    x = np.zeros((n, len(signals)))
    # repetition (evidence against) rises with attacks, volume with benign traffic
    x[:, j_rep] = np.where(y == 1, rng.uniform(0.7, 1.0, n), rng.uniform(0.0, 0.3, n))
    x[:, j_vol] = np.where(y == 1, rng.uniform(0.0, 0.3, n), rng.uniform(0.7, 1.0, n))
    decided = np.ones(n, bool)  # strong evidence
    _, w = refit(x, y, decided, np.zeros(n), current, signals)
    assert w["repetition"] <= 0.0
    assert w["volume"] >= 0.0
    assert w["repetition"] == 0.0 and w["volume"] == 0.0  # pushed to the bound, not past it


def test_label_weights_give_decisions_more_and_balance_classes():
    y = np.array([1, 1, 0, 0, 0])
    decided = np.array([True, False, False, False, True])
    w = label_weights(y, decided)
    assert w[y == 1].sum() == pytest.approx(0.5) and w[y == 0].sum() == pytest.approx(0.5)
    assert w[0] / w[1] == pytest.approx(DECISION_WEIGHT)
    assert w[4] / w[2] == pytest.approx(DECISION_WEIGHT)


def test_threshold_stays_when_nothing_asks_it_to_move():
    logits = np.array([-3.0, -1.0, 5.0, 6.0])
    y = np.array([0, 1, 1, 1])  # a truth positive under the threshold: no reason to move
    none = np.zeros(4, bool)
    assert choose_threshold(logits, y, none, logits, 0.99) == 0.99


def test_threshold_moves_just_enough_for_a_decided_subject():
    logits = np.array([-3.0, 2.0, 3.0, 6.0])
    y = np.array([0, 0, 1, 1])
    decided = np.array([False, False, True, False])
    t = choose_threshold(logits, y, decided, logits, 0.99)  # logit(0.99) = 4.6
    assert logit(t) == pytest.approx(2.5)  # between the decided 3.0 and the benign 2.0


def test_threshold_rises_when_refit_puts_truth_negatives_over_it():
    before = np.array([-3.0, 1.0, 6.0])
    after = np.array([-3.0, 5.0, 6.0])  # the benign subject rose above logit(0.99)
    y = np.array([0, 0, 1])
    t = choose_threshold(after, y, np.zeros(3, bool), before, 0.99)
    assert logit(t) == pytest.approx(5.5)


def test_a_decision_outweighs_a_few_truth_false_positives():
    logits = np.array([1.0, 1.5, 2.0, 6.0])
    y = np.array([1, 0, 0, 1])
    decided = np.array([True, False, False, False])
    t = choose_threshold(logits, y, decided, logits, 0.99)
    assert logit(t) < 1.0  # two truth FPs (cost 2) beat one decided miss (cost 10)
    few = np.array([0.0, 1.5, 6.0])
    t2 = choose_threshold(few, np.array([1, 0, 1]), np.array([False, False, False]), few, 0.99)
    assert t2 == 0.99  # the same positive from truth alone moves nothing

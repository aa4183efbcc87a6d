from __future__ import annotations

import numpy as np

from distillwatch.verdicts.model import RiskModel, fit_logistic


def test_contributions_add_up_to_the_logit():
    m = RiskModel(bias=-3.0, weights={"a": 2.0, "b": 4.0}, threshold=0.5)
    risk, contrib = m.risk({"a": np.array([0.5, 1.0]), "b": np.array([0.0, 1.0])})
    logit = np.log(risk / (1 - risk))
    np.testing.assert_allclose(logit, -3.0 + contrib["a"] + contrib["b"], rtol=1e-9)
    assert risk[1] > risk[0]


def test_fit_separates_and_keeps_weights_non_negative():
    rng = np.random.default_rng(0)
    n = 400
    y = (rng.uniform(size=n) < 0.2).astype(int)
    good = np.where(y == 1, rng.uniform(0.6, 1.0, n), rng.uniform(0.0, 0.4, n))
    anti = np.where(y == 1, 0.0, rng.uniform(0.5, 1.0, n))  # informative but negative
    bias, w = fit_logistic(np.column_stack([good, anti]), y)
    assert w[0] > 1.0
    assert w[1] == 0.0
    m = RiskModel(bias, {"g": w[0], "a": w[1]}, 0.5)
    risk, _ = m.risk({"g": good, "a": anti})
    assert ((risk >= 0.5) == (y == 1)).mean() > 0.95

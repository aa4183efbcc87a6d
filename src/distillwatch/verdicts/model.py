"""From signal scores to one calibrated risk per subject.

``risk = sigmoid(bias + sum_i weight_i * score_i)``. Each signal's contribution to the
log-odds (``weight_i * score_i``) is kept for the explanation. Weights are non-negative
(a signal can only raise risk) except for signals of evidence *against* extraction
(``Signal.lowers_risk``), whose weights are non-positive. They are fitted by
:func:`fit_logistic` on labelled simulator traffic from training seeds; the fitted values
live in ``config/model.toml``.

>>> import numpy as np
>>> m = RiskModel(bias=-4.0, weights={"a": 6.0}, threshold=0.5)
>>> risk, contrib = m.risk({"a": np.array([0.0, 1.0])})
>>> risk.round(3).tolist(), contrib["a"].tolist()
([0.018, 0.881], [0.0, 6.0])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def sigmoid(x: Array) -> Array:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0))), dtype=np.float64)


@dataclass(frozen=True)
class RiskModel:
    bias: float
    weights: Mapping[str, float]
    #: risk at or above which a subject is flagged (the default operating point)
    threshold: float

    def risk(self, scores: Mapping[str, Array]) -> tuple[Array, dict[str, Array]]:
        """Risk per subject and each signal's log-odds contribution."""
        n = len(next(iter(scores.values())))
        logit = np.full(n, self.bias, dtype=np.float64)
        contrib: dict[str, Array] = {}
        for sid, s in scores.items():
            c = self.weights.get(sid, 0.0) * np.asarray(s, dtype=np.float64)
            contrib[sid] = c
            logit = logit + c
        return sigmoid(logit), contrib


def fit_logistic(
    x: Array,
    y: npt.NDArray[np.int_],
    *,
    l2: float = 0.05,
    iters: int = 4000,
    lr: float = 0.5,
    sample_weight: Array | None = None,
    signs: Array | None = None,
) -> tuple[float, Array]:
    """Sign-constrained L2-regularised logistic regression by projected gradient descent.

    ``signs[j]`` is +1 (weight >= 0, the default) or -1 (weight <= 0, for evidence against
    extraction). Returns ``(bias, weights)``. Classes are balanced through
    ``sample_weight`` by default so that the rare attack class is not ignored.
    """
    n, d = x.shape
    if sample_weight is None:
        pos = max(int(y.sum()), 1)
        neg = max(n - pos, 1)
        sample_weight = np.where(y == 1, 0.5 / pos, 0.5 / neg).astype(np.float64)
    sign = np.ones(d) if signs is None else np.asarray(signs, dtype=np.float64)
    w = np.zeros(d)
    b = 0.0
    for _ in range(iters):
        p = sigmoid(x @ w + b)
        g = (p - y) * sample_weight
        w = w - lr * (x.T @ g + l2 * w / n)
        w = np.where(sign * w < 0.0, 0.0, w)
        b -= lr * float(g.sum())
    return b, w

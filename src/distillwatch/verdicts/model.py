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
        logit, contrib = self.log_odds(scores)
        return sigmoid(logit), contrib

    def log_odds(self, scores: Mapping[str, Array]) -> tuple[Array, dict[str, Array]]:
        """Log-odds per subject (unbounded, unlike :meth:`risk`) and the contributions."""
        n = len(next(iter(scores.values())))
        logit = np.full(n, self.bias, dtype=np.float64)
        contrib: dict[str, Array] = {}
        for sid, s in scores.items():
            c = self.weights.get(sid, 0.0) * np.asarray(s, dtype=np.float64)
            contrib[sid] = c
            logit = logit + c
        return logit, contrib


def fit_logistic(
    x: Array,
    y: npt.NDArray[np.int_],
    *,
    l2: float = 0.05,
    iters: int = 4000,
    lr: float = 0.5,
    sample_weight: Array | None = None,
    signs: Array | None = None,
    w0: Array | None = None,
    b0: float | None = None,
    init: tuple[float, Array] | None = None,
    offset: Array | None = None,
) -> tuple[float, Array]:
    """Sign-constrained L2-regularised logistic regression by projected gradient descent.

    ``signs[j]`` is +1 (weight >= 0, the default) or -1 (weight <= 0, for evidence against
    extraction). Returns ``(bias, weights)``. Classes are balanced through
    ``sample_weight`` by default so that the rare attack class is not ignored.

    The L2 penalty pulls the weights toward ``w0`` (default: zero) and, when ``b0`` is
    given, the bias toward ``b0`` too (by default the bias is not penalised). The descent
    starts from ``init`` (``(bias, weights)``), else from the anchor, else from zero.
    ``offset`` adds a fixed log-odds term per row (evidence whose weight is not fitted). With
    an anchor, evidence that agrees with it leaves the fit near the anchor, evidence against
    it moves the fit toward what the evidence says:

    >>> xs = np.array([[0.0], [1.0]]); ys = np.array([0, 1])
    >>> b, w = fit_logistic(xs, ys, l2=2.0, w0=np.array([6.0]), b0=-3.0)
    >>> round(b, 1), w.round(1).tolist()
    (-3.0, [6.0])
    >>> b, w = fit_logistic(xs, 1 - ys, l2=2.0, w0=np.array([6.0]), b0=-3.0)
    >>> bool(w[0] < 5.8)
    True
    """
    n, d = x.shape
    if sample_weight is None:
        pos = max(int(y.sum()), 1)
        neg = max(n - pos, 1)
        sample_weight = np.where(y == 1, 0.5 / pos, 0.5 / neg).astype(np.float64)
    sign = np.ones(d) if signs is None else np.asarray(signs, dtype=np.float64)
    anchor = np.zeros(d) if w0 is None else np.asarray(w0, dtype=np.float64)
    if init is not None:
        b, w = float(init[0]), np.asarray(init[1], dtype=np.float64).copy()
    elif w0 is not None:
        b, w = (0.0 if b0 is None else float(b0)), anchor.copy()
    else:
        b, w = 0.0, np.zeros(d)
    fixed = np.zeros(n) if offset is None else np.asarray(offset, dtype=np.float64)
    for _ in range(iters):
        p = sigmoid(x @ w + b + fixed)
        g = (p - y) * sample_weight
        w = w - lr * (x.T @ g + l2 * (w - anchor) / n)
        w = np.where(sign * w < 0.0, 0.0, w)
        gb = float(g.sum())
        if b0 is not None:
            gb += l2 * (b - b0) / n
        b -= lr * gb
    return b, w

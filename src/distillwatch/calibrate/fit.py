"""Refit one risk model (bias, weights, threshold) from labelled subjects.

**Weights.** Sign-constrained logistic regression (signals that are evidence against
extraction keep weights <= 0, the others >= 0) with an L2 penalty that pulls the bias and
weights toward the *current* ones, not toward zero: the current model was fitted on far
more (simulated) traffic than one scan's labels, so little evidence must mean little
change. The penalty's strength is :data:`PRIOR_STRENGTH` divided by the effective number
of labels (each label counts 1, a decision :data:`DECISION_WEIGHT`), as a prior worth a
fixed amount of evidence would be.

The loss is the one the current model was fitted with (``tools/fit_model.py``: balanced
classes, risks calibrated around 0.5), so labels drawn from the traffic it was fitted on
pull it nowhere in particular and it stays put (measured: a whole simulated week's truth,
2,019 training accounts, moved no weight by more than 0.38 and the bias by 0.22); labels
that contradict its risks pull it. Decisions that only contradict its *flags* (an account
at risk 0.95 under a 0.987 threshold confirmed) pull weakly on the weights; the threshold
rule below is what classifies them as decided.

**Decisions outweigh truth** by :data:`DECISION_WEIGHT` (10): a decision is an analyst's
judgement about real traffic and there are few of them, while simulator truth is about
synthetic traffic and comes by the hundred. At 10, five decisions weigh as much as fifty
simulated accounts, so a handful of decisions can move the model; classes are balanced as
in the original fit (each class holds half of the weight).

**Threshold** (:func:`choose_threshold`), on the training subjects' new risks: among the
cut points between their risks (and the current threshold), take those of least cost,
``DECISION_WEIGHT x (decided subjects on the wrong side) + (simulator-labelled negatives
flagged beyond as many as the current model flags)``, and of those the one closest to the
current threshold in log-odds. So the threshold moves only as far as needed to classify
the decided subjects as decided without raising the false-positive count on labelled
negatives; it never moves just to gain recall on truth labels (a low-FPR operating point
cannot be re-estimated from one scan's few hundred negatives).

>>> import numpy as np
>>> choose_threshold(np.array([-1.0, 2.0, 3.0]), np.array([0, 1, 1]),
...                  np.array([False, True, False]), np.array([-1.0, 2.0, 3.0]), 0.99)
0.6224593312018546
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from distillwatch.calibrate.data import Array, BoolArray, signs_of
from distillwatch.calibrate.verdicts import logit
from distillwatch.verdicts.model import RiskModel, fit_logistic, sigmoid

IntArray = npt.NDArray[np.int_]

#: one analyst decision counts as this many simulator-labelled subjects
DECISION_WEIGHT = 10.0
#: how much evidence the current weights are worth (in effective labels) in the penalty
PRIOR_STRENGTH = 20.0
#: projected gradient descent steps (the problem is small: signals x labelled subjects)
ITERS = 4000
#: thresholds stay within these log-odds, so that 0 < threshold < 1 survives the round trip
MAX_LOGIT = 20.0


def label_weights(y: IntArray, decided: BoolArray) -> Array:
    """Per-subject weights: decisions x :data:`DECISION_WEIGHT`, each class summing to 0.5.

    >>> label_weights(np.array([1, 0, 0]), np.array([True, True, False])).round(4).tolist()
    [0.5, 0.4545, 0.0455]
    """
    raw = np.where(decided, DECISION_WEIGHT, 1.0)
    out = np.zeros(len(y), dtype=np.float64)
    for cls in (0, 1):
        m = y == cls
        if m.any():
            out[m] = 0.5 * raw[m] / raw[m].sum()
    return out


def refit(
    x: Array,
    y: IntArray,
    decided: BoolArray,
    offset: Array,
    current: RiskModel,
    signals: Sequence[str],
) -> tuple[float, dict[str, float]]:
    """New ``(bias, weights)`` for ``signals`` from labelled rows (see the module doc).

    With no label against the current model's risks, the result stays close to it:

    >>> cur = RiskModel(-4.0, {"volume": 6.0, "automation": 2.0}, 0.5)
    >>> x = np.array([[0.0, 0.0], [1.0, 1.0]]); y = np.array([0, 1])
    >>> b, w = refit(x, y, np.array([False, False]), np.zeros(2), cur, ["volume", "automation"])
    >>> round(b, 1), {k: round(v, 1) for k, v in w.items()}
    (-4.0, {'volume': 6.0, 'automation': 2.0})
    """
    w0 = np.array([current.weights.get(s, 0.0) for s in signals], dtype=np.float64)
    raw = np.where(decided, DECISION_WEIGHT, 1.0)
    kappa = PRIOR_STRENGTH / float(raw.sum())
    n = len(y)
    lipschitz = 0.25 * (float((x * x).sum(axis=1).max(initial=0.0)) + 1.0)
    b, w = fit_logistic(
        x,
        y,
        l2=kappa * n,
        iters=ITERS,
        lr=1.0 / (lipschitz + kappa),
        sample_weight=label_weights(y, decided),
        signs=signs_of(signals),
        w0=w0,
        b0=current.bias,
        offset=offset,
    )
    # Rounded as written to the config (6 decimals), so what is reported is what is written.
    return round(b, 6) + 0.0, {s: round(float(v), 6) + 0.0 for s, v in zip(signals, w, strict=True)}


def choose_threshold(
    logits: Array,
    y: IntArray,
    decided: BoolArray,
    before_logits: Array,
    current_threshold: float,
) -> float:
    """The operating point for new log-odds ``logits`` of training subjects (module doc);
    ``before_logits`` are the same subjects' log-odds under the current model."""
    c0 = logit(current_threshold)
    truth_neg = (y == 0) & ~decided
    budget = int((before_logits[truth_neg] >= c0).sum())
    values = np.unique(np.clip(logits, -MAX_LOGIT, MAX_LOGIT))
    cands = np.concatenate(
        [[c0], (values[1:] + values[:-1]) / 2.0, values[:1] - 1.0, values[-1:] + 1.0]
    )
    cands = np.clip(cands, -MAX_LOGIT, MAX_LOGIT)

    def above(group: BoolArray) -> npt.NDArray[np.int64]:
        """How many of ``group`` have log-odds >= each candidate."""
        s = np.sort(logits[group])
        return np.asarray(len(s) - np.searchsorted(s, cands, side="left"), dtype=np.int64)

    dec_pos, dec_neg = decided & (y == 1), decided & (y == 0)
    decided_wrong = (int(dec_pos.sum()) - above(dec_pos)) + above(dec_neg)
    excess_fp = np.maximum(above(truth_neg) - budget, 0)
    cost = DECISION_WEIGHT * decided_wrong + excess_fp
    best = np.flatnonzero(cost == cost.min())
    pick = best[np.argmin(np.abs(cands[best] - c0))]
    if pick == 0:  # the current threshold itself, exactly as configured
        return current_threshold
    return float(sigmoid(np.array([cands[pick]]))[0])

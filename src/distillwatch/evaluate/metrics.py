"""Ranking and clustering metrics, written with numpy (no scikit-learn).

>>> auroc([0.1, 0.4, 0.4, 0.8], [False, False, True, True])
0.875
>>> round(adjusted_rand_index([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]), 4)
0.2424
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt


def midranks(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """1-based ranks of *values*, tied values sharing the mean of their ranks.

    >>> midranks([3.0, 1.0, 3.0]).tolist()
    [2.5, 1.0, 2.5]
    """
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    _, first, counts = np.unique(x[order], return_index=True, return_counts=True)
    group_rank = first + (counts + 1) / 2.0
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat(group_rank, counts)
    return ranks


def auroc(scores: npt.ArrayLike, positive: npt.ArrayLike) -> float | None:
    """Area under the ROC curve: the chance a random positive outranks a random
    negative, ties counting one half (Mann-Whitney U with mid-ranks). None when either
    class is empty."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    rank_sum = float(midranks(s)[y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def recall_at_fpr(scores: npt.ArrayLike, positive: npt.ArrayLike, max_fpr: float) -> float | None:
    """Best recall of a threshold rule ``score > t`` whose false-positive rate stays at or
    below *max_fpr* (tied scores are flagged together). None when a class is empty.

    >>> recall_at_fpr([0.9, 0.8, 0.7, 0.1], [True, True, False, False], 0.0)
    1.0
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    allowed = int(np.floor(max_fpr * n_neg + 1e-9))
    neg_sorted = np.sort(s[~y])[::-1]
    # the threshold must sit at or above the (allowed+1)-th highest negative score
    threshold = neg_sorted[allowed] if allowed < n_neg else -np.inf
    return float((s[y] > threshold).sum()) / n_pos


def _pairs(counts: npt.NDArray[np.int64]) -> float:
    c = counts.astype(np.float64)
    return float((c * (c - 1) / 2.0).sum())


def adjusted_rand_index(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float | None:
    """Adjusted Rand index of two partitions of the same items (Hubert & Arabie 1985).

    1 for identical partitions (also when both are all-singletons or one block), about 0
    for independent ones; None with fewer than two items.
    """
    if len(truth) != len(predicted):
        raise ValueError("both partitions must label the same items")
    n = len(truth)
    if n < 2:
        return None
    _, a = np.unique(np.asarray([str(t) for t in truth]), return_inverse=True)
    _, b = np.unique(np.asarray([str(p) for p in predicted]), return_inverse=True)
    table = np.zeros((int(a.max()) + 1, int(b.max()) + 1), dtype=np.int64)
    np.add.at(table, (a, b), 1)
    index = _pairs(table)
    sum_a = _pairs(table.sum(axis=1))
    sum_b = _pairs(table.sum(axis=0))
    expected = sum_a * sum_b / (n * (n - 1) / 2.0)
    maximum = (sum_a + sum_b) / 2.0
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)

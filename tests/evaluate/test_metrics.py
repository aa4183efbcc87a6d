"""AUROC, ARI and recall-at-FPR on small cases with known answers."""

from __future__ import annotations

import itertools
import random

import pytest

from distillwatch.evaluate.metrics import adjusted_rand_index, auroc, midranks, recall_at_fpr


def _pairwise_auc(scores, labels):
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auroc_counts_ties_as_one_half():
    assert auroc([0.1, 0.4, 0.4, 0.8], [0, 0, 1, 1]) == pytest.approx(0.875)
    assert auroc([0.5, 0.5, 0.5], [0, 1, 1]) == pytest.approx(0.5)


def test_auroc_extremes_and_undefined_cases():
    assert auroc([0.9, 0.8, 0.1], [1, 1, 0]) == 1.0
    assert auroc([0.1, 0.2, 0.9], [1, 1, 0]) == 0.0
    assert auroc([0.1, 0.2], [1, 1]) is None
    assert auroc([0.1, 0.2], [0, 0]) is None


@pytest.mark.parametrize("seed", range(5))
def test_auroc_matches_the_pairwise_definition_with_many_ties(seed):
    rng = random.Random(seed)
    scores = [rng.choice([0.0, 0.1, 0.5, 0.5, 0.9, 1.0]) for _ in range(60)]
    labels = [rng.random() < 0.3 for _ in range(60)]
    assert auroc(scores, labels) == pytest.approx(_pairwise_auc(scores, labels))


def test_midranks_average_tied_positions():
    assert midranks([10, 20, 20, 20, 5]).tolist() == [2.0, 4.0, 4.0, 4.0, 1.0]


def test_ari_identical_partitions_score_one_whatever_the_names():
    assert adjusted_rand_index(["a", "a", "b", "b", "c"], [7, 7, 3, 3, 1]) == 1.0
    assert adjusted_rand_index([1, 2, 3], ["x", "y", "z"]) == 1.0
    assert adjusted_rand_index([1, 1, 1], [2, 2, 2]) == 1.0


def test_ari_textbook_examples():
    # scikit-learn user guide example: 0.24242...
    assert adjusted_rand_index([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) == pytest.approx(
        0.2424242424
    )
    # one cluster against all singletons carries no agreement
    assert adjusted_rand_index([0, 0, 0, 0], [0, 1, 2, 3]) == pytest.approx(0.0)
    # worse than chance is negative
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)


def test_ari_is_symmetric_and_checks_lengths():
    a = [0, 0, 1, 1, 2, 2, 2]
    b = [1, 1, 1, 0, 0, 2, 2]
    assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_index(b, a))
    assert adjusted_rand_index([1], [1]) is None
    with pytest.raises(ValueError, match="same items"):
        adjusted_rand_index([1, 2], [1])


def test_recall_at_fpr_respects_the_budget():
    scores = [0.9, 0.8, 0.7, 0.6, 0.95, 0.5, 0.4, 0.3]
    labels = [1, 1, 1, 1, 0, 0, 0, 0]
    assert recall_at_fpr(scores, labels, 0.0) == 0.0
    assert recall_at_fpr(scores, labels, 0.25) == 1.0
    tied = recall_at_fpr([0.5, 0.5, 0.1], [1, 0, 0], 0.0)
    assert tied == 0.0

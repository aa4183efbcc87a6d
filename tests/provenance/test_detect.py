"""The test statistic: exact null distribution, calibrated on unrelated keys, powerful on marks."""

from __future__ import annotations

import math
import random

import pytest

from distillwatch.provenance.detect import holm, observe, pmf_tail, test_key, test_keys, weight
from distillwatch.provenance.keys import ProvenanceKey
from distillwatch.provenance.lexicon import Group, Lexicon
from distillwatch.provenance.mark import mark_text


def tag(i: int) -> str:
    """Letters for a number (lexicon words are letters only)."""
    return "".join("abcdefghij"[int(d)] for d in str(i))


LEX = Lexicon(
    tuple(
        Group(
            i, "synonym", tuple((f"{w}{tag(i)}",) for w in ("alpha", "beta", "gamma")[: 2 + i % 2])
        )
        for i in range(40)
    ),
    1,
)


def random_text(rng: random.Random, n: int) -> str:
    """Words from a fixed vocabulary with lexicon words at ~1 in 4 (variant by preference)."""
    out = []
    for _ in range(n):
        if rng.random() < 0.25:
            g = rng.randrange(40)
            k = 2 + g % 2
            stem = ("alpha", "beta", "gamma")[0 if rng.random() < 0.7 else rng.randrange(k)]
            out.append(f"{stem}{tag(g)}")
        else:
            out.append(f"w{tag(rng.randrange(300))}")
    return " ".join(out)


def test_pmf_tail_matches_brute_force():
    # two-way positions of weight 4, 2, 1 and three-way ones of weight 1 and 2: enumerate
    classes = {(2, 4): 2, (2, 2): 1, (2, 1): 2, (3, 1): 2, (3, 2): 1}
    items = [(1 / k, w) for (k, w), n in classes.items() for _ in range(n)]
    dist: dict[int, float] = {}
    for mask in range(1 << len(items)):
        p, total = 1.0, 0
        for i, (q, w) in enumerate(items):
            hit = mask >> i & 1
            p *= q if hit else 1 - q
            total += w * hit
        dist[total] = dist.get(total, 0.0) + p
    top = sum(w for _, w in items)
    for s in range(top + 2):
        want = sum(v for t, v in dist.items() if t >= s)
        assert pmf_tail(classes, s) == pytest.approx(want, abs=1e-12)


def test_weights_favour_rare_positions():
    assert [weight(c) for c in (1, 2, 3, 4, 100)] == [4, 2, 1, 1, 1]


def test_holm_is_monotone_and_never_below_raw():
    raw = [0.001, 0.2, 0.01, 0.04]
    adj = holm(raw)
    assert all(a >= r for a, r in zip(adj, raw, strict=True))
    order = sorted(range(4), key=raw.__getitem__)
    assert [adj[i] for i in order] == sorted(adj)
    assert adj[0] == pytest.approx(0.004)


def test_unrelated_keys_are_calibrated():
    rng = random.Random(7)
    texts = [random_text(rng, 120) for _ in range(150)]
    observed = observe(texts, LEX, 2)
    ps = [
        test_key(observed, ProvenanceKey(f"u{i}", rng.randbytes(32)), LEX).p_value
        for i in range(300)
    ]
    assert sum(p < 0.05 for p in ps) <= 0.05 * 300 + 3 * math.sqrt(300 * 0.05)
    assert sum(p < 0.5 for p in ps) > 100  # not degenerate either


def test_marked_text_is_detected_and_other_keys_are_not():
    rng = random.Random(3)
    key, other = ProvenanceKey("mine", rng.randbytes(32)), ProvenanceKey("other", rng.randbytes(32))
    texts = [mark_text(random_text(rng, 120), key, LEX).text for _ in range(60)]
    mine, theirs = test_keys(texts, [key, other], LEX)
    assert mine.p_value < 1e-12 and mine.match_rate == 1.0
    assert theirs.p_value > 1e-3
    assert mine.p_adjusted == pytest.approx(min(1.0, 2 * mine.p_value))


def test_repeated_positions_count_once_and_ledger_restricts():
    key = ProvenanceKey("k", bytes(32))
    texts = [f"wb alpha{tag(1)} wc beta{tag(3)}"] * 50
    result = test_keys(texts, [key], LEX)[0]
    assert result.positions == 2 and result.occurrences == 100
    _, _, digest = key.position(1, "^ wb", 2)
    restricted = test_key(observe(texts, LEX, 2), key, LEX, ledger={digest})
    assert restricted.positions == 1 and restricted.ledger

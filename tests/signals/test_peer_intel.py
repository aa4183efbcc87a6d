"""peer_intel: scores, evidence, and the rule that peers' intel never flags alone."""

from __future__ import annotations

import numpy as np
import pytest

from distillwatch.intel.match import AccountMatch, Matches
from distillwatch.signals.peer_intel import PeerIntel, bounded_peer_risk

IND = "indicator--0b1c2d3e-0000-4000-8000-000000000001"


def _frame(*rows):
    return {c: np.array([float(r[c]) for r in rows]) for c in PeerIntel.inputs}


def test_positive_scores_high_and_negative_low():
    s = PeerIntel().score(_frame(PeerIntel.positive, PeerIntel.negative))
    assert s[0] >= 0.6 and s[1] <= 0.15


def test_conformance_range_determinism_and_inputs_unmutated():
    # the shared conformance suite covers registered signals; this one is not yet registered
    assert set(PeerIntel.inputs) <= set(PeerIntel.positive) & set(PeerIntel.negative)
    rng = np.random.default_rng(3)
    frame = {
        c: rng.uniform(0, 1, 200) * rng.choice([1, 10, 1000, 1e6], 200) for c in PeerIntel.inputs
    }
    frame[PeerIntel.inputs[0]][:5] = np.nan
    before = {c: v.copy() for c, v in frame.items()}
    a, b = PeerIntel().score(frame), PeerIntel().score(frame)
    assert a.shape == (200,) and np.all((a >= 0) & (a <= 1))
    np.testing.assert_array_equal(a, b)
    for c in PeerIntel.inputs:
        np.testing.assert_array_equal(np.nan_to_num(frame[c]), np.nan_to_num(before[c]))


def test_each_kind_alone_orders_by_strength():
    rows = []
    for col in ("pi_payment", "pi_ip_address", "pi_ip_prefix", "pi_hosting"):
        row = {c: 0.0 for c in PeerIntel.inputs} | {col: 1.0, "pi_confidence": 100.0}
        rows.append(row)
    s = PeerIntel().score(_frame(*rows))
    assert s[0] > s[1] > s[2] > s[3] > 0


def test_no_intel_columns_means_zero():
    f = {"subject": np.array(["a", "b"], dtype=object), "n_requests": np.array([3.0, 4.0])}
    assert PeerIntel().score(f).tolist() == [0.0, 0.0]


def test_evidence_names_the_indicator_and_publisher():
    m = Matches(
        accounts={
            "a1": AccountMatch(
                account_id="a1",
                n_requests=100,
                n_requests_matched=90,
                template_share=0.9,
                indicator_ids=(IND,),
                infra_kinds=("payment-fingerprint",),
                n_payment=1,
                n_ip_address=0,
                n_ip_prefix=0,
                n_hosting=0,
                max_confidence=75,
                publishers=("Peer Labs",),
                campaigns=("DW-CAMPAIGN-0000BEEF",),
            )
        }
    )
    f = m.features(["a0", "a1"])
    sig = PeerIntel()
    scores = sig.score(f)
    assert scores[0] == 0.0 and scores[1] >= 0.6
    ev = sig.evidence(f, 1)
    d = ev.as_dict()
    assert d["indicator_ids"] == (IND,) and d["publishers"] == ("Peer Labs",)
    assert d["infra"] == ("payment-fingerprint",) and d["template_requests"] == 90
    text = sig.summary(ev)
    assert IND in text and "Peer Labs" in text and "90%" in text
    # evidence without the string columns (as the conformance suite builds frames) still works
    assert sig.evidence(_frame(PeerIntel.positive), 0).indicator_ids == ()


@pytest.mark.parametrize("weight_times_score", [0.5, 3.0, 50.0])
def test_peer_intel_alone_raises_risk_but_never_flags(weight_times_score):
    bias, threshold = -6.41, 0.987
    risk, used = bounded_peer_risk([bias], [weight_times_score], threshold=threshold, cap=60.0)
    assert risk[0] < threshold
    assert risk[0] > 1 / (1 + np.exp(-bias))
    assert used[0] > 0


def test_an_account_already_suspect_can_be_pushed_over_the_threshold():
    threshold = 0.987
    own = np.array([1.5, -1.5])  # own risk 0.82 (above the 0.25 floor) and 0.18 (below)
    # -1.5 + 6.0 would be 0.989, over the threshold: the floor holds it under
    risk, used = bounded_peer_risk(own, [3.0, 6.0], threshold=threshold, floor=0.25)
    assert risk[0] >= threshold > risk[1]
    assert used[0] == pytest.approx(3.0)
    assert used[1] < 6.0
    capped, _ = bounded_peer_risk([1.5], [10.0], threshold=threshold, cap=1.0)
    assert capped[0] < threshold


def test_bad_floor_is_refused():
    with pytest.raises(ValueError, match="floor"):
        bounded_peer_risk([0.0], [1.0], threshold=0.5, floor=0.6)

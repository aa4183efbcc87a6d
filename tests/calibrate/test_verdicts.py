"""Verdicts recomputed from stored scores."""

from __future__ import annotations

import numpy as np
import pytest

from distillwatch.calibrate.data import scan_data
from distillwatch.calibrate.verdicts import Models, agreement, logit, recompute
from distillwatch.results import SignalHit
from distillwatch.verdicts.model import RiskModel


@pytest.fixture
def models() -> Models:
    return Models(
        RiskModel(-4.0, {"volume": 6.0, "automation": 2.0}, 0.5),
        RiskModel(-4.0, {"linkage": 8.0}, 0.5),
    )


def test_final_risk_is_the_larger_of_own_and_campaign(result_factory, models):
    accounts = [
        ("quiet", {"automation": 0.5}, True, "C-1"),  # own -3, campaign +4
        ("loud", {"volume": 1.0}, True, "C-1"),  # own +2
        ("single", {"volume": 0.5}, False, "C-s"),  # own -1, its own campaign
        ("none", {"automation": 1.0}, False, None),  # own -2
    ]
    campaigns = [("C-1", ["quiet", "loud"], {"linkage": 1.0}), ("C-s", ["single"], {})]
    d = scan_data("s", result_factory(accounts, campaigns))
    r = recompute(d, models)
    np.testing.assert_allclose(r.own_logit, [-3.0, 2.0, -1.0, -2.0])
    np.testing.assert_allclose(r.final_logit, [4.0, 4.0, -1.0, -2.0])
    assert r.flagged.tolist() == [True, True, False, False]
    np.testing.assert_allclose(r.campaign_logit, [4.0, -1.0])  # single: its account's own
    assert r.campaign_flagged.tolist() == [True, False]


def test_a_campaign_is_flagged_when_a_member_is(result_factory, models):
    accounts = [("a", {"volume": 1.0}, True, "C-1"), ("b", {}, False, "C-1")]
    d = scan_data("s", result_factory(accounts, [("C-1", ["a", "b"], {})]))
    r = recompute(d, models)
    assert r.campaign_logit[0] < logit(0.5)
    assert r.campaign_flagged[0]


def test_unfitted_signals_add_their_stored_contribution(result_factory, models):
    result = result_factory([("a", {"volume": 0.5}, False, None)])
    result.accounts[0].hits.append(SignalHit("peer_intel", 1.0, 1.5, {}))
    result.accounts[0].hits.append(SignalHit("campaign", 1.0, 9.0, {}))  # not a signal
    r = recompute(scan_data("s", result), models)
    assert r.own_logit[0] == pytest.approx(-1.0 + 1.5)


def test_agreement_counts_stored_flags_reproduced(result_factory, models):
    result = result_factory(
        [("a", {"volume": 1.0}, True, None), ("b", {"volume": 1.0}, False, None)]
    )
    result.accounts[0].own_risk = float(1 / (1 + np.exp(-2.0)))
    d = scan_data("s", result)
    ag = agreement(d, recompute(d, models))
    assert (ag.n_accounts, ag.same_flag, ag.same_own_risk) == (2, 1, 1)

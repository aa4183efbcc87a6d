"""Per-account tallies of peers' intel matches, and the columns the signal reads."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from distillwatch.cli.main import intel_pair
from distillwatch.errors import UsageError
from distillwatch.online.peers import MAX_KEPT, PeerTally, columns


def match(**kw: object) -> SimpleNamespace:
    base = {
        "n_requests_matched": 0,
        "n_payment": 0,
        "n_ip_address": 0,
        "n_ip_prefix": 0,
        "n_hosting": 0,
        "max_confidence": 0,
        "indicator_ids": (),
        "publishers": (),
        "campaigns": (),
    }
    return SimpleNamespace(**{**base, **kw})


def test_tally_accumulates_batches_and_survives_json():
    t = PeerTally()
    t.add(match(n_requests_matched=3, n_hosting=1, max_confidence=40, indicator_ids=("i1",)))
    t.add(match(n_requests_matched=2, n_payment=1, max_confidence=85, indicator_ids=("i1", "i2")))
    assert (t.n_template, t.confidence, t.ids) == (5, 85, ["i1", "i2"])
    assert t.infra == {"pi_payment": 1, "pi_ip_address": 0, "pi_ip_prefix": 0, "pi_hosting": 1}
    assert PeerTally.from_json(t.to_json()) == t
    t.add(match(indicator_ids=tuple(f"x{i}" for i in range(50))))
    assert len(t.ids) == MAX_KEPT


def test_columns_share_over_the_subjects_requests():
    a = PeerTally(n_template=30, infra={"pi_hosting": 1}, confidence=50)
    b = PeerTally(n_template=10, infra={"pi_payment": 2}, confidence=90)
    one = columns([a], 60)
    assert one["pi_template_share"] == 0.5 and one["pi_hosting"] == 1.0
    both = columns([a, None, b], 200)
    assert both["pi_template_share"] == 0.2 and both["pi_template_n"] == 40.0
    assert both["pi_confidence"] == 90.0 and both["pi_payment"] == 2.0
    assert columns([None], 0)["pi_template_share"] == 0.0


def test_intel_options_need_both_halves(tmp_path):
    assert intel_pair(None, None) is None
    assert intel_pair(tmp_path, tmp_path / "k") == (tmp_path, tmp_path / "k")
    with pytest.raises(UsageError, match="--intel needs --key-file"):
        intel_pair(tmp_path, None)
    with pytest.raises(UsageError, match="only used with --intel"):
        intel_pair(None, tmp_path / "k")
    with pytest.raises(UsageError, match="not a directory"):
        intel_pair(tmp_path / "missing", tmp_path / "k")

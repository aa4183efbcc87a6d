"""Decisions and truth to labels: precedence, campaign majority, bad truth files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from distillwatch.calibrate.data import scan_data
from distillwatch.calibrate.labels import check_truth, label_scan
from distillwatch.cases.model import Decision
from distillwatch.errors import UsageError
from distillwatch.evaluate.tables import TruthRow

T = datetime(2026, 11, 29, tzinfo=UTC)


def dec(kind: str, sid: str, what: str) -> dict[tuple[str, str], Decision]:
    return {(kind, sid): Decision("s", kind, sid, what, "ana", "", T)}


def truth(**labels: str) -> dict[str, TruthRow]:
    return {a: TruthRow(lab, "p", "", "") for a, lab in labels.items()}


@pytest.fixture
def data(result_factory):
    accounts = [(a, {"volume": 0.5}, True, "C-1") for a in ("a", "b", "c")]
    accounts += [(a, {"volume": 0.5}, True, "C-2") for a in ("d", "e")]
    accounts.append(("f", {}, False, None))
    campaigns = [("C-1", ["a", "b", "c"], {}), ("C-2", ["d", "e"], {})]
    return scan_data("s", result_factory(accounts, campaigns))


def test_own_decision_then_campaign_decision_then_truth(data):
    decisions = {**dec("campaign", "C-1", "dismiss"), **dec("account", "b", "confirm")}
    labels = label_scan(data, decisions, truth(a="attack", b="benign", c="attack", f="attack"))
    got = {data.account_ids[i]: (lab.value, lab.source) for i, lab in labels.account.items()}
    assert got["a"] == (0, "campaign decision")
    assert got["b"] == (1, "decision")
    assert got["c"] == (0, "campaign decision")
    assert got["f"] == (1, "truth")
    assert labels.campaign[0].value == 0 and labels.campaign[0].decided


def test_escalation_gives_no_label_and_keeps_the_account_out_of_its_campaigns(data):
    decisions = {**dec("campaign", "C-1", "confirm"), **dec("account", "a", "escalate")}
    labels = label_scan(data, decisions, None)
    rows = {data.account_ids[i] for i in labels.account}
    assert rows == {"b", "c"}
    with_truth = label_scan(data, decisions, truth(a="benign"))
    a = data.account_ids.index("a")
    assert with_truth.account[a].source == "truth"  # truth still speaks for it


def test_campaign_truth_is_the_majority_of_its_accounts(data):
    labels = label_scan(data, {}, truth(a="attack", b="attack", c="benign", d="attack", e="benign"))
    assert labels.campaign[0].value == 1 and labels.campaign[0].source == "truth"
    assert 1 not in labels.campaign  # a tie gives no label


def test_decisions_on_unknown_subjects_are_listed(data):
    labels = label_scan(data, dec("campaign", "C-nope", "confirm"), None)
    assert labels.unknown == ["campaign C-nope"]
    assert not labels.account and not labels.campaign


def test_truth_naming_other_accounts_is_refused(data):
    with pytest.raises(UsageError, match="not contain"):
        check_truth(data, truth(a="attack", zz="benign"), Path("t.csv"))
    check_truth(data, truth(a="attack"), Path("t.csv"))  # a subset is fine

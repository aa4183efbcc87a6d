"""evaluate() on a hand-made scan and truth."""

from __future__ import annotations

import pytest

from distillwatch.errors import UsageError
from distillwatch.evaluate import evaluate

TRUTH = """account_id,label,persona,campaign_id,actor_id
a1,attack,hydra,hydra-1,actor-3
a2,attack,hydra,hydra-1,actor-3
a3,attack,hydra,hydra-1,actor-3
a4,attack,cot_harvest,cot-1,actor-1
a5,attack,cot_harvest,cot-1,actor-1
b1,benign,developer,,
b2,benign,developer,,
b3,benign,casual_chat,,
b4,benign,casual_chat,,
b5,benign,casual_chat,,
"""

SCAN = """account_id,risk,flagged,campaign_id,signals
a1,0.95,true,K1,cot
a2,0.90,true,K1,cot
a3,0.20,false,,
a4,0.80,true,K2,x;y
a5,0.70,true,,x
b1,0.85,true,K1,linkage
b2,0.10,false,,
b3,0.05,false,,
b4,0.05,FALSE,,
zz,0.50,true,K9,
"""


@pytest.fixture
def metrics(tmp_path):
    (tmp_path / "accounts.csv").write_text(SCAN)
    (tmp_path / "truth.csv").write_text(TRUTH)
    return evaluate(tmp_path / "accounts.csv", tmp_path / "truth.csv")


def test_confusion_counts_recall_fpr_precision(metrics):
    m = metrics
    assert (m.n_attack, m.n_benign) == (5, 5)
    assert (m.true_positives, m.false_negatives) == (4, 1)
    assert (m.false_positives, m.true_negatives) == (1, 4)
    assert m.recall == pytest.approx(0.8)
    assert m.fpr == pytest.approx(0.2)
    assert m.precision == pytest.approx(0.8)


def test_missing_accounts_count_as_risk_zero_and_warn(metrics):
    assert metrics.n_missing == 1  # b5
    assert metrics.n_unknown == 1  # zz
    assert any("missing" in w for w in metrics.warnings)
    # positives: .95 .9 .2 .8 .7; negatives: .85 .1 .05 .05 0 (b5 missing)
    wins = 5 + 5 + 4 + 4 + 4  # a1, a2 beat all; a3, a4, a5 beat all but one
    assert metrics.auroc == pytest.approx(wins / 25)


def test_campaign_recall_and_ari_with_singletons(metrics):
    camps = {c.campaign_id: c for c in metrics.campaigns}
    assert camps["hydra-1"].n_flagged == 2 and camps["hydra-1"].recall == pytest.approx(2 / 3)
    assert camps["cot-1"].n_predicted_campaigns == 2
    # flagged attack: a1,a2 (K1 / hydra) a4 (K2 / cot) a5 (singleton / cot)
    # true [h,h,c,c] vs pred [K1,K1,K2,s]: index 1, sums 2 and 1, expected 1/3, max 1.5
    assert metrics.n_ari_accounts == 4
    assert metrics.ari == pytest.approx((1 - 1 / 3) / (1.5 - 1 / 3))


def test_false_positives_per_benign_persona(metrics):
    fps = {p.persona: p for p in metrics.benign_personas}
    assert fps["developer"].n_flagged == 1 and fps["developer"].fpr == pytest.approx(0.5)
    assert fps["casual_chat"].n_accounts == 3 and fps["casual_chat"].n_flagged == 0


def test_recall_at_target_fpr_uses_risk(metrics):
    # 0.2% of 5 benign allows none: threshold at the top benign score 0.85
    assert metrics.recall_at_target_fpr == pytest.approx(2 / 5)


@pytest.mark.parametrize(
    ("scan", "message"),
    [
        ("account_id,risk,flagged\na1,0.5,true\n", "campaign_id"),
        ("account_id,risk,flagged,campaign_id\na1,high,true,\n", "not a number"),
        ("account_id,risk,flagged,campaign_id\na1,0.5,maybe,\n", "true/false"),
    ],
)
def test_bad_scan_files_are_usage_errors(tmp_path, scan, message):
    (tmp_path / "accounts.csv").write_text(scan)
    (tmp_path / "truth.csv").write_text(TRUTH)
    with pytest.raises(UsageError, match=message):
        evaluate(tmp_path / "accounts.csv", tmp_path / "truth.csv")


def test_missing_files_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        evaluate(tmp_path / "accounts.csv", tmp_path / "truth.csv")

"""The calibrated config file."""

from __future__ import annotations

import pytest

from distillwatch.calibrate.write import config_text
from distillwatch.config import load_scan_config
from distillwatch.errors import UsageError
from distillwatch.verdicts.model import RiskModel


def _models():
    cfg = load_scan_config()
    account = RiskModel(
        -5.25, {k: v + 0.125 if v > 0 else v for k, v in cfg.weights.items()}, 0.9460903159577506
    )
    campaign = RiskModel(-6.5, dict(cfg.campaign_weights), 0.99)
    return account, campaign


def test_the_file_loads_as_a_scan_config_with_these_models(tmp_path):
    account, campaign = _models()
    path = tmp_path / "calibrated.toml"
    path.write_text(config_text(account, campaign, ["made by a test", "", "second line"]))
    text = path.read_text()
    assert text.startswith("# made by a test\n#\n# second line\n")
    cfg = load_scan_config(path)
    assert (cfg.bias, cfg.threshold) == (account.bias, account.threshold)
    assert (cfg.campaign_bias, cfg.campaign_threshold) == (campaign.bias, campaign.threshold)
    assert cfg.weights == dict(account.weights)
    assert cfg.campaign_weights == dict(campaign.weights)


def test_other_tables_of_the_base_config_are_carried_over(tmp_path):
    base = tmp_path / "current.toml"
    base.write_text(
        "[signals.volume]\nreq_lo = 50.0\n\n[graph]\nmember_min_risk = 0.6\n\n"
        '[model]\nbias = -1.0\n\n[extra_table]\nname = "a \\"quoted\\" name"\nlist = [1, 2]\n'
    )
    account, campaign = _models()
    path = tmp_path / "calibrated.toml"
    path.write_text(config_text(account, campaign, ["x"], base=base))
    cfg = load_scan_config(path)
    assert cfg.signal_params["volume"]["req_lo"] == 50.0
    assert cfg.graph["member_min_risk"] == 0.6
    assert cfg.extra["extra_table"] == {"name": 'a "quoted" name', "list": [1, 2]}
    assert cfg.bias == account.bias  # [model] is the calibrated one, not the base's


def test_a_base_config_with_loose_keys_is_refused(tmp_path):
    base = tmp_path / "bad.toml"
    base.write_text("bias = 1.0\n")
    account, campaign = _models()
    with pytest.raises(UsageError, match="outside any table"):
        config_text(account, campaign, [], base=base)

"""The risk models the online scorer uses.

Online, an account is judged on a prefix of its traffic (its first hour, its first day...)
rather than a whole week, so its signal scores are distributed differently than in a
batch scan. ``config/online.toml`` holds models fitted on snapshots of training replays
(``tools/fit_online.py``); without it the scan's models (``config/model.toml``) are used.

>>> from distillwatch.config import load_scan_config
>>> acc, camp = online_models(load_scan_config())
>>> 0.0 < acc.threshold < 1.0 and 0.0 < camp.threshold < 1.0
True
"""

from __future__ import annotations

from typing import Any

from distillwatch.config import ScanConfig
from distillwatch.errors import ConfigError
from distillwatch.verdicts.model import RiskModel


def _number(table: dict[str, Any], key: str) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"online.{key} must be a number")
    return float(value)


def online_models(cfg: ScanConfig) -> tuple[RiskModel, RiskModel]:
    """(account model, campaign model) for online scoring."""
    table = cfg.extra.get("online")
    if not isinstance(table, dict):
        return (
            RiskModel(cfg.bias, cfg.weights, cfg.threshold),
            RiskModel(cfg.campaign_bias, cfg.campaign_weights, cfg.campaign_threshold),
        )
    for key in ("threshold", "campaign_threshold"):
        if not 0.0 < _number(table, key) < 1.0:
            raise ConfigError(f"online.{key} must be between 0 and 1")
    weights = {k: float(v) for k, v in dict(table.get("weights", {})).items()}
    cweights = {k: float(v) for k, v in dict(table.get("campaign_weights", {})).items()}
    return (
        RiskModel(_number(table, "bias"), weights, _number(table, "threshold")),
        RiskModel(_number(table, "campaign_bias"), cweights, _number(table, "campaign_threshold")),
    )

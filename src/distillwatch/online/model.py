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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from distillwatch.config import ScanConfig
from distillwatch.errors import ConfigError
from distillwatch.verdicts.model import RiskModel


def _number(table: dict[str, Any], key: str) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"online.{key} must be a number")
    return float(value)


def _setting(
    table: object, key: str, default: float, valid: Callable[[float], bool], rule: str
) -> float:
    """``online.<key>`` (``default`` when absent), refused unless ``valid``."""
    if not isinstance(table, dict) or key not in table:
        return default
    value = _number(table, key)
    if not valid(value):
        raise ConfigError(f"online.{key} must be {rule}")
    return value


@dataclass(frozen=True)
class OnlineModels:
    """The early models, and the scan's models for subjects observed long enough."""

    account: RiskModel
    campaign: RiskModel
    #: hours after which the scan's models also judge a subject (0: never)
    long_horizon_h: float = 0.0
    long_account: RiskModel | None = None
    long_campaign: RiskModel | None = None
    #: hours of a subject's traffic the scan's model must keep it over the threshold
    #: before that alone flags it (0: it counts towards ``confirm`` like the others)
    long_hold_h: float = 0.0
    #: a group of linked accounts is judged as a campaign only when at least this share
    #: of its accounts are linked by more than prompt templates (0: every group)
    group_min_infra: float = 0.0
    #: re-scorings in a row at or over the threshold before a subject is flagged
    confirm: int = 1
    #: hours before which the early-hours models also judge a subject (0: no such models)
    early_h: float = 0.0
    early_account: RiskModel | None = None
    early_campaign: RiskModel | None = None


def load_online_models(cfg: ScanConfig) -> OnlineModels:
    """:func:`online_models` plus the scan's models for the long horizon."""
    acc, camp = online_models(cfg)
    table = cfg.extra.get("online")
    horizon = _setting(table, "long_horizon_h", 0.0, lambda v: v >= 0, ">= 0 (0 switches it off)")
    confirm = int(
        _setting(table, "confirm", 1, lambda v: int(v) >= 1, ">= 1 (1: flag at the first crossing)")
    )
    hold = _setting(table, "long_hold_h", 0.0, lambda v: v >= 0, ">= 0 (0: no hold)")
    infra = _setting(
        table,
        "group_min_infra",
        0.0,
        lambda v: 0.0 <= v <= 1.0,
        "between 0 and 1 (0: every group)",
    )
    early_h, early_acc, early_camp = _early_models(table, acc, camp)
    long_acc = long_camp = None
    if horizon > 0:
        long_acc = RiskModel(cfg.bias, cfg.weights, cfg.threshold)
        long_camp = RiskModel(cfg.campaign_bias, cfg.campaign_weights, cfg.campaign_threshold)
    return OnlineModels(
        acc,
        camp,
        horizon,
        long_acc,
        long_camp,
        hold,
        infra,
        confirm,
        early_h,
        early_acc,
        early_camp,
    )


def _early_models(
    table: object, acc: RiskModel, camp: RiskModel
) -> tuple[float, RiskModel | None, RiskModel | None]:
    """``[online.early]``: models fitted on the first hours only, on the main threshold.

    A subject observed for less than ``until_h`` hours is judged by both the main and the
    early models, and the higher risk counts. Their biases are stored already moved so
    that the main models' thresholds apply (``tools/fit_online.py`` gives the early models
    their own share of the false-positive budget).
    """
    early = table.get("early") if isinstance(table, dict) else None
    if early is None:
        return 0.0, None, None
    if not isinstance(early, dict):
        raise ConfigError("online.early must be a table (until_h, bias, campaign_bias, ...)")
    until = _number(early, "until_h")
    if until <= 0:
        raise ConfigError("online.early.until_h must be > 0 (remove [online.early] to drop it)")
    weights = {k: float(v) for k, v in dict(early.get("weights", {})).items()}
    cweights = {k: float(v) for k, v in dict(early.get("campaign_weights", {})).items()}
    return (
        until,
        RiskModel(_number(early, "bias"), weights, acc.threshold),
        RiskModel(_number(early, "campaign_bias"), cweights, camp.threshold),
    )


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

"""Configuration as data: signal parameters, risk weights, graph weights, ATLAS mapping.

Files ship inside the package and are validated when loaded; a user file given with
``--config`` overrides the defaults table by table.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from distillwatch.errors import ConfigError


def load_toml(name: str) -> dict[str, Any]:
    """Load a packaged TOML file by name, e.g. ``load_toml("model.toml")``."""
    try:
        text = resources.files("distillwatch.config").joinpath(name).read_text("utf-8")
        return tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"packaged config {name} cannot be read: {exc}; reinstall") from exc


def _numbers(table: Any, where: str) -> dict[str, float]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of numbers")
    out: dict[str, float] = {}
    for k, v in table.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ConfigError(f"{where}.{k} must be a number, got {v!r}")
        out[k] = float(v)
    return out


def _weights(table: Any, where: str) -> dict[str, float]:
    from distillwatch.signals.registry import SIGNALS

    weights = _numbers(table, where)
    for sid, w in weights.items():
        if sid not in SIGNALS:
            raise ConfigError(f"{where}.{sid} names no signal; known: {', '.join(SIGNALS)}")
        if SIGNALS[sid].lowers_risk and w > 0:
            raise ConfigError(f"{where}.{sid} must be <= 0 ({sid} is evidence against extraction)")
        if not SIGNALS[sid].lowers_risk and w < 0:
            raise ConfigError(f"{where}.{sid} must be >= 0 (this signal can only raise risk)")
    return weights


@dataclass(frozen=True)
class ScanConfig:
    signal_params: dict[str, dict[str, float]]
    bias: float
    weights: dict[str, float]
    threshold: float
    campaign_bias: float
    campaign_weights: dict[str, float]
    campaign_threshold: float
    link_weights: dict[str, float]
    graph: dict[str, float]
    hosting_asns: list[int]
    extra: dict[str, Any] = field(default_factory=dict)


def load_scan_config(path: Path | None = None) -> ScanConfig:
    """The packaged defaults, overridden table by table by ``path`` if given."""
    from distillwatch.signals.registry import SIGNALS

    data = {**load_toml("signals.toml"), **load_toml("model.toml")}
    if resources.files("distillwatch.config").joinpath("online.toml").is_file():
        data.update(load_toml("online.toml"))  # the online scorer's models (online/model.py)
    if path is not None:
        try:
            user = tomllib.loads(path.read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config {path} cannot be read: {exc}") from exc
        for key, value in user.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
    params_raw = data.get("signals", {})
    params: dict[str, dict[str, float]] = {}
    for sid, table in params_raw.items():
        if sid not in SIGNALS:
            raise ConfigError(f"[signals.{sid}] names no signal; known: {', '.join(SIGNALS)}")
        known = SIGNALS[sid].defaults
        for k in table:
            if k not in known:
                raise ConfigError(f"signals.{sid}.{k} is not a parameter of {sid}: {list(known)}")
        params[sid] = _numbers(table, f"signals.{sid}")
    model = data.get("model", {})
    weights = _weights(model.get("weights", {}), "model.weights")
    campaign_weights = _weights(model.get("campaign_weights", {}), "model.campaign_weights")
    scalars = _numbers(
        {k: v for k, v in model.items() if k not in ("weights", "campaign_weights")}, "model"
    )
    for key in ("bias", "threshold", "campaign_bias", "campaign_threshold"):
        if key not in scalars:
            raise ConfigError(f"model.{key} is missing")
    for key in ("threshold", "campaign_threshold"):
        if not 0.0 < scalars[key] < 1.0:
            raise ConfigError(f"model.{key} must be between 0 and 1")
    asns = data.get("hosting_asns", {}).get("asns", [])
    if not all(isinstance(a, int) for a in asns):
        raise ConfigError("hosting_asns.asns must be a list of integers")
    return ScanConfig(
        signal_params=params,
        bias=scalars["bias"],
        weights=weights,
        threshold=scalars["threshold"],
        campaign_bias=scalars["campaign_bias"],
        campaign_weights=campaign_weights,
        campaign_threshold=scalars["campaign_threshold"],
        link_weights=_numbers(data.get("links", {}), "links"),
        graph=_numbers(data.get("graph", {}), "graph"),
        hosting_asns=list(asns),
        extra={k: v for k, v in data.items() if k not in {"signals", "model", "links", "graph"}},
    )

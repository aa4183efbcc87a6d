"""The calibrated config: a TOML file ``scan --config`` and ``load_scan_config`` read.

It holds ``[model]`` (bias, threshold, campaign_bias, campaign_threshold) with
``[model.weights]`` and ``[model.campaign_weights]`` (every fitted signal, since a user
file replaces the packaged ``[model]`` table key by key and the weight tables whole),
under a comment header saying when and from what it was made and the held-out metrics
before and after. The other tables of the ``--config`` the calibration started from
(signal parameters, graph settings, ...) are carried over, so the scores the new weights
were fitted on stay the scores a scan with this file computes.

>>> from distillwatch.verdicts.model import RiskModel
>>> text = model_toml(RiskModel(-5.0, {"volume": 2.5}, 0.98), RiskModel(-6.0, {}, 0.99))
>>> import tomllib; tomllib.loads(text)["model"]["weights"]
{'volume': 2.5}
>>> toml_value([1, "a", {"b": True}])
'[1, "a", { b = true }]'
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from distillwatch.errors import OutputError, UsageError
from distillwatch.verdicts.model import RiskModel

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key)


def toml_value(value: Any) -> str:
    """A TOML literal for a value ``tomllib`` can give (no dates: none in our configs)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise UsageError(f"cannot carry {type(value).__name__} value {value!r} over into the config")


def _table(name: str, table: Mapping[str, Any]) -> list[str]:
    lines = [f"[{name}]"]
    subs = []
    for k, v in table.items():
        if isinstance(v, dict):
            subs.append((k, v))
        else:
            lines.append(f"{toml_key(k)} = {toml_value(v)}")
    out = [*lines, ""]
    for k, v in subs:
        out += _table(f"{name}.{toml_key(k)}", v)
    return out


def model_toml(account: RiskModel, campaign: RiskModel) -> str:
    """``[model]`` and its weight tables."""
    model: dict[str, Any] = {
        "bias": float(account.bias),
        "threshold": float(account.threshold),
        "campaign_bias": float(campaign.bias),
        "campaign_threshold": float(campaign.threshold),
        "weights": {k: float(v) for k, v in account.weights.items()},
        "campaign_weights": {k: float(v) for k, v in campaign.weights.items()},
    }
    return "\n".join(_table("model", model))


def config_text(
    account: RiskModel,
    campaign: RiskModel,
    header: Sequence[str],
    base: Path | None = None,
) -> str:
    """The whole file: ``header`` as comments, the other tables of ``base``, ``[model]``."""
    lines = ["# " + h if h else "#" for h in header]
    lines.append("")
    if base is not None:
        try:
            data = tomllib.loads(base.read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"config {base} cannot be read: {exc}") from exc
        loose = {k: v for k, v in data.items() if not isinstance(v, dict)}
        if loose:
            raise UsageError(
                f"config {base} has top-level keys outside any table ({', '.join(loose)}); "
                "scan configs hold tables only"
            )
        kept = [k for k in data if k != "model"]
        if kept:
            lines.append(f"# carried over unchanged from {base}: {', '.join(kept)}")
            lines.append("")
        for k in kept:
            lines += _table(toml_key(k), data[k])
    text = "\n".join(lines) + model_toml(account, campaign)
    _check(text, account, campaign)
    return text


def _check(text: str, account: RiskModel, campaign: RiskModel) -> None:
    """The written text must read back as exactly these models."""
    try:
        model = tomllib.loads(text)["model"]
    except (tomllib.TOMLDecodeError, KeyError) as exc:  # pragma: no cover - a bug if hit
        raise OutputError(f"the calibrated config does not read back: {exc}") from exc
    same = (
        model["bias"] == account.bias
        and model["threshold"] == account.threshold
        and model["campaign_bias"] == campaign.bias
        and model["campaign_threshold"] == campaign.threshold
        and model["weights"] == dict(account.weights)
        and model["campaign_weights"] == dict(campaign.weights)
    )
    if not same:  # pragma: no cover - a bug if hit
        raise OutputError("the calibrated config does not read back as the fitted models")

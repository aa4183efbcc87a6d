"""Reading the simulator's data files (``sim/data/*.toml``) with clear errors.

>>> "persona" in load_data("personas.toml")
True
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

from distillwatch.errors import ConfigError


def load_data(name: str) -> dict[str, Any]:
    """Parse one TOML file shipped in ``distillwatch/sim/data``."""
    ref = resources.files("distillwatch.sim").joinpath("data", name)
    try:
        return tomllib.loads(ref.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"simulator data file {name} is missing; reinstall distillwatch") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"simulator data file {name} is not valid TOML: {exc}") from exc


def as_float(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what}: expected a number, got {value!r}")
    return float(value)


def as_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{what}: expected an integer, got {value!r}")
    return value


def as_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{what}: expected a string, got {value!r}")
    return value


def as_float_range(value: Any, what: str) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(f"{what}: expected [lo, hi], got {value!r}")
    lo, hi = as_float(value[0], what), as_float(value[1], what)
    if hi < lo:
        raise ConfigError(f"{what}: lo {lo} is above hi {hi}")
    return lo, hi


def as_int_range(value: Any, what: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(f"{what}: expected [lo, hi], got {value!r}")
    lo, hi = as_int(value[0], what), as_int(value[1], what)
    if hi < lo:
        raise ConfigError(f"{what}: lo {lo} is above hi {hi}")
    return lo, hi


def as_str_list(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{what}: expected a non-empty list of strings, got {value!r}")
    return tuple(as_str(v, what) for v in value)


def as_table(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{what}: expected a table, got {value!r}")
    return value


def as_weights(value: Any, what: str) -> dict[str, float]:
    table = as_table(value, what)
    return {str(k): as_float(v, f"{what}.{k}") for k, v in table.items()}


def as_probability(value: Any, what: str) -> float:
    p = as_float(value, what)
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"{what}: probability {p} must be in [0, 1]")
    return p

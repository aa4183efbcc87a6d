"""The model catalogue of the simulated provider (``sim/data/models.toml``).

The scan may read the same table (``load_models()``) to know each model's output limit,
for example to tell requests that ask for the maximum output.

>>> models = load_models()
>>> sorted(m.kind for m in models.values())
['main', 'mini', 'new', 'reasoning']
>>> models["lumen-r1"].max_output_tokens > models["lumen-4"].max_output_tokens
True
"""

from __future__ import annotations

from dataclasses import dataclass

from distillwatch.errors import ConfigError
from distillwatch.sim.tomldata import as_float, as_int, as_str, as_table, load_data

MODEL_KINDS = ("main", "mini", "reasoning", "new")


@dataclass(frozen=True)
class ModelSpec:
    """One model the provider serves."""

    name: str
    kind: str
    max_output_tokens: int
    #: large max_tokens values clients commonly send (the limit and a value near it)
    high_limits: tuple[int, ...]
    #: bills hidden reasoning tokens
    reasoning: bool
    #: days after the window start when the model first becomes available
    released_after_days: float


def load_models(file_name: str = "models.toml") -> dict[str, ModelSpec]:
    """All models by name, validated."""
    raw = load_data(file_name).get("model")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{file_name}: expected one or more [[model]] tables")
    models: dict[str, ModelSpec] = {}
    for i, entry in enumerate(raw):
        table = as_table(entry, f"{file_name} model #{i}")
        what = f"{file_name} model {table.get('name', i)!r}"
        kind = as_str(table.get("kind"), f"{what}.kind")
        if kind not in MODEL_KINDS:
            raise ConfigError(f"{what}.kind must be one of {', '.join(MODEL_KINDS)}")
        limit = as_int(table.get("max_output_tokens"), f"{what}.max_output_tokens")
        highs = table.get("high_limits", [limit])
        if not isinstance(highs, list) or not highs:
            raise ConfigError(f"{what}.high_limits must be a non-empty list")
        high_limits = tuple(as_int(h, f"{what}.high_limits") for h in highs)
        if limit <= 0 or any(not 0 < h <= limit for h in high_limits):
            raise ConfigError(f"{what}: limits must be positive and high_limits <= the maximum")
        spec = ModelSpec(
            name=as_str(table.get("name"), f"{what}.name"),
            kind=kind,
            max_output_tokens=limit,
            high_limits=high_limits,
            reasoning=bool(table.get("reasoning", False)),
            released_after_days=as_float(
                table.get("released_after_days", -1.0), f"{what}.released_after_days"
            ),
        )
        if spec.name in models:
            raise ConfigError(f"{file_name}: model {spec.name!r} is listed twice")
        models[spec.name] = spec
    kinds = [m.kind for m in models.values()]
    for needed in MODEL_KINDS:
        if kinds.count(needed) != 1:
            raise ConfigError(f"{file_name}: needs exactly one model of kind {needed!r}")
    return models

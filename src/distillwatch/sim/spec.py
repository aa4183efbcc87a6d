"""Persona parameters (``sim/data/personas.toml``) as validated dataclasses.

>>> specs, profiles = load_personas()
>>> specs["hydra"].label, len(profiles["flat"])
('attack', 24)
>>> specs["casual_chat"].max_tokens.values[0] is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillwatch.errors import ConfigError
from distillwatch.sim.choice import Weighted
from distillwatch.sim.tomldata import (
    as_float,
    as_float_range,
    as_int,
    as_int_range,
    as_probability,
    as_str,
    as_table,
    as_weights,
    load_data,
)

LABELS = ("benign", "attack")
NETWORK_KINDS = ("residential", "mobile", "hosting", "university")
UA_FAMILIES = ("browser", "sdk", "server")
#: a max_tokens choice: None (not sent), "max", "high" or a number
TokenChoice = int | str | None


@dataclass(frozen=True)
class CampaignSpec:
    campaign_id: str
    actor_id: str
    accounts: tuple[int, int]


class Extra:
    """Typed access to a persona's ``extra`` table."""

    def __init__(self, persona: str, table: dict[str, Any]) -> None:
        self.persona = persona
        self.table = table

    def _get(self, key: str) -> Any:
        if key not in self.table:
            raise ConfigError(f"personas.toml: persona {self.persona!r} needs extra.{key}")
        return self.table[key]

    def _what(self, key: str) -> str:
        return f"personas.toml {self.persona}.extra.{key}"

    def number(self, key: str) -> float:
        return as_float(self._get(key), self._what(key))

    def probability(self, key: str) -> float:
        return as_probability(self._get(key), self._what(key))

    def range(self, key: str) -> tuple[float, float]:
        return as_float_range(self._get(key), self._what(key))

    def int_range(self, key: str) -> tuple[int, int]:
        return as_int_range(self._get(key), self._what(key))

    def integer(self, key: str) -> int:
        return as_int(self._get(key), self._what(key))

    def weights(self, key: str) -> Weighted[str]:
        return Weighted.from_mapping(as_weights(self._get(key), self._what(key)), self._what(key))

    def raw(self, key: str) -> Any:
        return self._get(key)


@dataclass(frozen=True)
class PersonaSpec:
    """Generic parameters shared by every persona (see personas.toml for meanings)."""

    name: str
    label: str
    accounts: int
    campaigns: tuple[CampaignSpec, ...]
    signup_channel: Weighted[str]
    created_days_before: tuple[float, float]
    fresh_share: float
    bursts: tuple[int, int]
    card_share: float
    card_size: tuple[int, int]
    network: Weighted[str]
    ipv6_share: float
    user_agents: Weighted[str]
    api_keys: tuple[int, int]
    profile: str
    requests_per_day: tuple[float, float]
    active_day_prob: tuple[float, float]
    models: Weighted[str]
    max_tokens: Weighted[TokenChoice]
    temperature: Weighted[float | None]
    top_p: Weighted[float | None]
    n: Weighted[int]
    logprobs: float
    top_logprobs: Weighted[int]
    stream: float
    tools: Weighted[int]
    multi_turn: float
    system_prompt: float
    conversation_ids: float
    status_429: float
    status_500: float
    extra: Extra

    @property
    def is_attack(self) -> bool:
        return self.label == "attack"


def _token_choices(value: Any, what: str) -> Weighted[TokenChoice]:
    pairs: list[tuple[TokenChoice, float]] = []
    for key, weight in as_weights(value, what).items():
        choice: TokenChoice
        if key == "none":
            choice = None
        elif key in ("max", "high"):
            choice = key
        elif key.isdigit():
            choice = int(key)
        else:
            raise ConfigError(f"{what}: {key!r} is not none, max, high or a number")
        pairs.append((choice, weight))
    return Weighted.from_pairs(pairs, what)


def _float_choices(value: Any, what: str) -> Weighted[float | None]:
    pairs: list[tuple[float | None, float]] = []
    for key, weight in as_weights(value, what).items():
        try:
            pairs.append((None if key == "none" else float(key), weight))
        except ValueError as exc:
            raise ConfigError(f"{what}: {key!r} is not none or a number") from exc
    return Weighted.from_pairs(pairs, what)


def _int_choices(value: Any, what: str) -> Weighted[int]:
    pairs: list[tuple[int, float]] = []
    for key, weight in as_weights(value, what).items():
        if not key.isdigit():
            raise ConfigError(f"{what}: {key!r} is not a whole number")
        pairs.append((int(key), weight))
    return Weighted.from_pairs(pairs, what)


def _keyed(value: Any, allowed: tuple[str, ...], what: str) -> Weighted[str]:
    weights = as_weights(value, what)
    unknown = sorted(set(weights) - set(allowed))
    if unknown:
        raise ConfigError(f"{what}: unknown {', '.join(unknown)}; use {', '.join(allowed)}")
    return Weighted.from_mapping(weights, what)


def _campaigns(value: Any, what: str) -> tuple[CampaignSpec, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{what}: an attack persona needs a non-empty campaigns list")
    out = []
    for i, entry in enumerate(value):
        table = as_table(entry, f"{what}[{i}]")
        out.append(
            CampaignSpec(
                campaign_id=as_str(table.get("id"), f"{what}[{i}].id"),
                actor_id=as_str(table.get("actor"), f"{what}[{i}].actor"),
                accounts=as_int_range(table.get("accounts"), f"{what}[{i}].accounts"),
            )
        )
    return tuple(out)


def _persona(name: str, t: dict[str, Any], profiles: dict[str, list[float]]) -> PersonaSpec:
    w = f"personas.toml {name}"

    def need(key: str) -> Any:
        if key not in t:
            raise ConfigError(f"{w}: missing {key}")
        return t[key]

    label = as_str(need("label"), f"{w}.label")
    if label not in LABELS:
        raise ConfigError(f"{w}.label must be benign or attack")
    profile = as_str(need("profile"), f"{w}.profile")
    if profile not in profiles:
        raise ConfigError(f"{w}.profile {profile!r} is not in [profiles]")
    cards = as_table(need("card_sharing"), f"{w}.card_sharing")
    is_attack = label == "attack"
    return PersonaSpec(
        name=name,
        label=label,
        accounts=0 if is_attack else as_int(need("accounts"), f"{w}.accounts"),
        campaigns=_campaigns(need("campaigns"), f"{w}.campaigns") if is_attack else (),
        signup_channel=Weighted.from_mapping(as_weights(need("signup_channel"), w), w),
        created_days_before=as_float_range(need("created_days_before"), f"{w}.created"),
        fresh_share=as_probability(t.get("fresh_share", 0.0), f"{w}.fresh_share"),
        bursts=as_int_range(t.get("bursts", [0, 0]), f"{w}.bursts"),
        card_share=as_probability(cards.get("share"), f"{w}.card_sharing.share"),
        card_size=as_int_range(cards.get("size"), f"{w}.card_sharing.size"),
        network=_keyed(need("network"), NETWORK_KINDS, f"{w}.network"),
        ipv6_share=as_probability(need("ipv6_share"), f"{w}.ipv6_share"),
        user_agents=_keyed(need("user_agents"), UA_FAMILIES, f"{w}.user_agents"),
        api_keys=as_int_range(need("api_keys"), f"{w}.api_keys"),
        profile=profile,
        requests_per_day=as_float_range(need("requests_per_day"), f"{w}.requests_per_day"),
        active_day_prob=as_float_range(need("active_day_prob"), f"{w}.active_day_prob"),
        models=Weighted.from_mapping(as_weights(need("models"), f"{w}.models"), f"{w}.models"),
        max_tokens=_token_choices(need("max_tokens"), f"{w}.max_tokens"),
        temperature=_float_choices(need("temperature"), f"{w}.temperature"),
        top_p=_float_choices(need("top_p"), f"{w}.top_p"),
        n=_int_choices(need("n"), f"{w}.n"),
        logprobs=as_probability(need("logprobs"), f"{w}.logprobs"),
        top_logprobs=_int_choices(need("top_logprobs"), f"{w}.top_logprobs"),
        stream=as_probability(need("stream"), f"{w}.stream"),
        tools=_int_choices(need("tools"), f"{w}.tools"),
        multi_turn=as_probability(need("multi_turn"), f"{w}.multi_turn"),
        system_prompt=as_probability(need("system_prompt"), f"{w}.system_prompt"),
        conversation_ids=as_probability(need("conversation_ids"), f"{w}.conversation_ids"),
        status_429=as_probability(need("status_429"), f"{w}.status_429"),
        status_500=as_probability(need("status_500"), f"{w}.status_500"),
        extra=Extra(name, as_table(t.get("extra", {}), f"{w}.extra")),
    )


def load_personas(
    file_name: str = "personas.toml",
) -> tuple[dict[str, PersonaSpec], dict[str, list[float]]]:
    """Persona specs by name, and the hourly activity profiles by name."""
    data = load_data(file_name)
    profiles: dict[str, list[float]] = {}
    for pname, values in as_table(data.get("profiles"), f"{file_name} [profiles]").items():
        if not isinstance(values, list) or len(values) != 24:
            raise ConfigError(f"{file_name} profile {pname!r} needs 24 hourly weights")
        profiles[pname] = [as_float(v, f"{file_name} profile {pname}") for v in values]
    personas = as_table(data.get("persona"), f"{file_name} [persona]")
    specs = {
        name: _persona(name, as_table(table, f"{file_name} {name}"), profiles)
        for name, table in personas.items()
    }
    return specs, profiles

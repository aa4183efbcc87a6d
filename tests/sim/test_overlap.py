"""No single field gives the label away: attacks differ only in combinations."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

FIELDS = (
    "user_agent",
    "asn",
    "country",
    "signup_channel",
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "n",
    "logprobs",
    "top_logprobs",
    "stream",
    "tools",
    "n_messages",
    "system_prompt",
    "finish_reason",
    "status",
)


@pytest.mark.parametrize("field", FIELDS)
def test_every_attack_value_is_also_used_by_benign_accounts(dataset, field):
    values: dict[str, set[object]] = defaultdict(set)
    for e in dataset.events:
        values[dataset.label(e)].add(e[field])
    assert values["attack"], field
    assert values["attack"] <= values["benign"], values["attack"] - values["benign"]


def test_identifier_formats_do_not_depend_on_the_label(dataset):
    shapes: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for e in dataset.events:
        shape = tuple(
            f"{str(e[f]).split('_')[0]}:{len(str(e[f]))}"
            for f in ("account_id", "org_id", "api_key_id", "request_id", "payment_fingerprint")
        )
        shapes[dataset.label(e)].add(shape)
    assert shapes["attack"] <= shapes["benign"]


def test_shared_cards_and_fresh_accounts_exist_on_both_sides(dataset):
    holders: dict[str, set[str]] = defaultdict(set)
    created: dict[str, str] = {}
    for e in dataset.events:
        if e["payment_fingerprint"]:
            holders[e["payment_fingerprint"]].add(e["account_id"])
        created[e["account_id"]] = e["account_created_at"]
    shared = Counter()
    for accounts in holders.values():
        if len(accounts) >= 3:
            for a in accounts:
                shared[dataset.truth[a]["label"]] += 1
    assert shared["attack"] > 0 and shared["benign"] > 0
    fresh = Counter(dataset.truth[a]["label"] for a, ts in created.items() if ts >= "2026-10-26")
    assert fresh["attack"] > 0 and fresh["benign"] > 0


def test_step_by_step_wording_is_not_attack_only(dataset):
    phrase = "step by step"
    users = Counter(dataset.label(e) for e in dataset.events if phrase in e["prompt"].lower())
    assert users["attack"] > 0 and users["benign"] > 0


def _values(spec, name):
    return set(getattr(spec, name).values)


@pytest.mark.parametrize(
    "name",
    [
        "signup_channel",
        "network",
        "user_agents",
        "models",
        "max_tokens",
        "temperature",
        "top_p",
        "n",
        "top_logprobs",
        "tools",
    ],
)
def test_attack_parameter_choices_are_benign_choices_too(name):
    """Scale-independent version of the check above, on the persona tables."""
    from distillwatch.sim.spec import load_personas

    specs, _ = load_personas()
    benign = set().union(*(_values(s, name) for s in specs.values() if not s.is_attack))
    for spec in specs.values():
        if spec.is_attack:
            assert _values(spec, name) <= benign, (spec.name, _values(spec, name) - benign)

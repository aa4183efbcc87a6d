"""Small pieces of the simulator: rendering, corpora lookup, data validation, grammars."""

from __future__ import annotations

import random

import pytest

from distillwatch.errors import ConfigError, UsageError
from distillwatch.sim.calls import Call, Params, render
from distillwatch.sim.choice import Weighted
from distillwatch.sim.corpora import CORPUS_FILES, ENV_VAR, find_corpora_dir
from distillwatch.sim.models import load_models
from distillwatch.sim.network import Endpoint
from distillwatch.sim.personas import PERSONAS
from distillwatch.sim.phrasing import load_phrasings
from distillwatch.sim.spec import load_personas

EP = Endpoint("73.1.2.3", 7922, "US")


def _call(model, **params):
    return Call(
        ts=1.5,
        model=model,
        prompt="x" * 400,
        endpoint=EP,
        user_agent="curl/8.5.0",
        api_key="key_1",
        params=Params(**params),
        answer_chars=4000,
    )


def _render(call, seed=0, p429=0.0, p500=0.0):
    return render(
        call, load_models()[call.model], random.Random(seed), {"account_id": "a"}, p429, p500
    )


def test_render_hits_the_limit_with_finish_reason_length():
    event = _render(_call("lumen-4", max_tokens=50))
    assert event["finish_reason"] == "length" and event["completion_tokens"] == 50
    free = _render(_call("lumen-4", max_tokens=None))
    assert free["finish_reason"] == "stop" and 50 < free["completion_tokens"] < 16384


def test_render_reasoning_tokens_only_on_reasoning_models():
    assert _render(_call("lumen-r1"))["reasoning_tokens"] > 0
    assert _render(_call("lumen-4"))["reasoning_tokens"] is None


def test_render_n_bills_every_completion_and_errors_bill_nothing():
    one = _render(_call("lumen-4", n=1), seed=3)["completion_tokens"]
    four = _render(_call("lumen-4", n=4), seed=3)["completion_tokens"]
    assert 3 * one <= four <= 4 * one
    failed = _render(_call("lumen-4"), p429=1.0)
    assert failed["status"] == 429 and failed["completion_tokens"] == 0
    assert failed["finish_reason"] is None
    assert _render(_call("lumen-4"), p500=1.0)["status"] == 500


def test_prompt_tokens_are_about_a_quarter_of_the_characters():
    event = _render(_call("lumen-4"))
    assert 100 <= event["prompt_tokens"] <= 110


def test_corpora_lookup_order_and_errors(tmp_path, monkeypatch):
    real = find_corpora_dir(None)
    monkeypatch.setenv(ENV_VAR, str(real))
    assert find_corpora_dir(None) == real
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(UsageError, match="lacks"):
        find_corpora_dir(None)
    with pytest.raises(UsageError, match="--corpora"):
        find_corpora_dir(tmp_path)
    for name in CORPUS_FILES:
        (tmp_path / name).write_bytes((real / name).read_bytes())
    assert find_corpora_dir(tmp_path) == tmp_path


def test_weights_are_validated():
    with pytest.raises(ConfigError, match="must be >= 0"):
        Weighted.from_mapping({"a": -1.0})
    with pytest.raises(ConfigError, match="positive"):
        Weighted.from_mapping({"a": 0.0})
    w = Weighted.from_mapping({"a": 1.0, "b": 3.0})
    picks = [w.pick(random.Random(i)) for i in range(400)]
    assert 0.15 < picks.count("a") / 400 < 0.35


def test_every_persona_in_the_data_has_a_behaviour():
    specs, profiles = load_personas()
    assert set(specs) == set(PERSONAS)
    assert all(len(p) == 24 for p in profiles.values())
    attack = [s for s in specs.values() if s.is_attack]
    assert {c.campaign_id for s in attack for c in s.campaigns}
    assert len({c.actor_id for s in attack for c in s.campaigns}) < sum(
        len(s.campaigns) for s in attack
    )


def test_models_table_has_the_four_kinds_with_limits():
    models = load_models()
    by_kind = {m.kind: m for m in models.values()}
    assert by_kind["reasoning"].max_output_tokens == max(
        m.max_output_tokens for m in models.values()
    )
    assert by_kind["new"].released_after_days > 0
    assert all(m.released_after_days < 0 for k, m in by_kind.items() if k != "new")


@pytest.mark.parametrize("language", ["en", "es", "fr", "de", "pt", "ru", "ja", "zh"])
def test_extraction_grammar_generates_many_phrasings_per_language(language):
    ph = load_phrasings()
    rng = random.Random(language)
    prompts = {ph.extraction_prompt(rng, language, "TASK") for _ in range(300)}
    assert len(prompts) > 100
    assert all("TASK" in p and "{" not in p.replace("TASK", "") for p in prompts)

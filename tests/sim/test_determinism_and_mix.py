"""Same seed, same bytes; --mix changes account counts; unknown names are refused."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from distillwatch.errors import UsageError
from distillwatch.sim import SimConfig, parse_mix, simulate
from distillwatch.sim.corpora import find_corpora_dir
from distillwatch.sim.engine import build_accounts
from distillwatch.sim.timefmt import parse_day
from distillwatch.sim.world import World


def _run(tmp_path, name, seed):
    out = tmp_path / name
    simulate(SimConfig(out=out, seed=seed, days=2, scale=0.03))
    return (out / "events.jsonl.gz").read_bytes(), (out / "truth.csv").read_bytes()


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    first = _run(tmp_path, "a", 5)
    assert first == _run(tmp_path, "b", 5)
    assert first[0] != _run(tmp_path, "c", 6)[0]


@pytest.fixture(scope="module")
def world():
    return World.build(
        seed=3, start=parse_day("2026-11-02"), days=7, corpora_dir=find_corpora_dir(None)
    )


def _counts(world, tmp_path, mix):
    config = SimConfig(out=tmp_path, scale=0.2, mix=mix)
    return Counter(a.persona for _, a in build_accounts(world, config))


def test_mix_multiplies_or_removes_personas(world, tmp_path):
    base = _counts(world, tmp_path, {})
    mixed = _counts(world, tmp_path, {"hydra": 0.0, "batch_classifier": 2.0})
    assert base["hydra"] > 0 and mixed["hydra"] == 0
    assert mixed["batch_classifier"] == 2 * base["batch_classifier"]
    unchanged = set(base) - {"hydra", "batch_classifier"}
    assert all(mixed[p] == base[p] for p in unchanged)


def test_scale_multiplies_account_counts(world, tmp_path):
    small = _counts(world, tmp_path, {})
    big = Counter(a.persona for _, a in build_accounts(world, SimConfig(out=tmp_path, scale=0.4)))
    assert big["casual_chat"] == 2 * small["casual_chat"]


def test_attack_account_total_at_scale_one(world, tmp_path):
    accounts = [a for _, a in build_accounts(world, SimConfig(out=tmp_path))]
    attack = sum(1 for a in accounts if a.label == "attack")
    assert 280 <= attack <= 420
    assert 2500 <= len(accounts) - attack <= 3300


def test_unknown_mix_name_lists_the_valid_ones():
    with pytest.raises(UsageError, match=r"valid: .*hydra"):
        parse_mix("hydra=1,nosuch=2", ["hydra", "casual_chat"])
    with pytest.raises(UsageError, match="MULT >= 0"):
        parse_mix("hydra=-1", ["hydra"])
    assert parse_mix(" ", ["hydra"]) == {}


def test_accounts_do_not_depend_on_draw_order(world, tmp_path):
    a = build_accounts(world, SimConfig(out=tmp_path, scale=0.1))
    random.seed(123)
    b = build_accounts(world, SimConfig(out=tmp_path, scale=0.1))
    assert [x.account_id for _, x in a] == [x.account_id for _, x in b]

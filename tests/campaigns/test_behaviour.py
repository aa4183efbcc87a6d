"""Attribution by behaviour: template profiles join one operator's separate card groups."""

from __future__ import annotations

import random

import ibis
import pyarrow as pa
import pytest

from distillwatch.campaigns.behaviour import (
    Profiles,
    SameOperator,
    merge_by_behaviour,
    similar_pairs,
    template_profiles,
)


def _events(spec: dict[str, tuple[list[int], list[int]]], seed: int = 0) -> ibis.Table:
    """Events of accounts drawing head/tail templates from their own pools."""
    rng = random.Random(seed)
    rows: list[tuple[str, int, int]] = []
    for account, (heads, tails) in spec.items():
        for _ in range(60):
            rows.append((account, rng.choice(heads), rng.choice(tails)))
    return ibis.memtable(
        pa.table(
            {
                "account_id": [r[0] for r in rows],
                "head_tid": [r[1] for r in rows],
                "tail_tid": [r[2] for r in rows],
            }
        )
    )


# Shared corpus tasks (heads 1000-1049) that benign users ask as well; each operator has
# its own wrappers (tails).
CORPUS = list(range(1000, 1050))
OP_A = (CORPUS, [1, 2, 3, 4])
OP_B = (CORPUS, [11, 12, 13])
BENIGN = {f"user{i}": (CORPUS, [500 + i]) for i in range(40)}


def test_card_groups_of_one_operator_merge_and_others_do_not():
    ev = _events({"a1": OP_A, "a2": OP_A, "a3": OP_A, "b1": OP_B, "b2": OP_B, **BENIGN})
    groups = {"G1": ["a1", "a2"], "G2": ["a3"], "G3": ["b1", "b2"]}
    merged, used = merge_by_behaviour(ev, groups, SameOperator())
    assert sorted(sorted(m) for m in merged) == [["a1", "a2", "a3"], ["b1", "b2"]]
    assert [(u.left, u.right) for u in used] == [("G1", "G2")]
    assert used[0].similarity["template"] > 0.9
    # the wrappers carry the similarity, not the corpus tasks everyone asks
    assert used[0].keys and all(f == "template" and k[0] == "t" for f, k in used[0].keys)


def test_common_templates_carry_no_weight():
    # two operators that only share corpus tasks used by every account in the input
    ev = _events({"a1": (CORPUS, [1]), "b1": (CORPUS, [2]), **BENIGN})
    profiles = template_profiles(ev, {"A": ["a1"], "B": ["b1"]})
    assert similar_pairs(profiles, 0.05) == []


def test_profiles_are_unit_length():
    ev = _events({"a1": OP_A, "b1": OP_B, **BENIGN})
    prof = template_profiles(ev, {"A": ["a1"], "B": ["b1"]}).to_pyarrow().to_pylist()
    for subject in ("A", "B"):
        norm = sum(r["w"] ** 2 for r in prof if r["subject"] == subject)
        assert norm == pytest.approx(1.0)  # one family here: template


def test_threshold_above_one_switches_the_step_off():
    ev = _events({"a1": OP_A, "a2": OP_A, **BENIGN})
    off = SameOperator(template=2.0, config=2.0, agent=2.0, linked_factor=1.0)
    merged, used = merge_by_behaviour(ev, {"G1": ["a1"], "G2": ["a2"]}, off)
    assert sorted(merged) == [["a1"], ["a2"]] and used == []


def test_single_linkage_chains_through_a_middle_group():
    # a uses wrappers {1,2}, b {2,3}, c {3,4}: a~b and b~c but a and c share nothing
    ev = _events(
        {"a": ([1000], [1, 2]), "b": ([1000], [2, 3]), "c": ([1000], [3, 4]), **BENIGN},
    )
    rule = SameOperator(template=0.3)
    merged, used = merge_by_behaviour(ev, {"A": ["a"], "B": ["b"], "C": ["c"]}, rule)
    assert sorted(sorted(m) for m in merged) == [["a", "b", "c"]]
    assert len(used) == 2


def _client_events() -> ibis.Table:
    """a and b: different prompts, same client (rare config and agent); c: other client."""
    rows = []
    for account, head, config, agent in (
        ("a", 1, (4096, 0.3), "tool/1.2"),
        ("b", 2, (4096, 0.3), "tool/1.2"),
        ("c", 3, (512, 1.0), "other/9"),
    ):
        rows += [(account, head, head + 100, *config, agent)] * 30
    rows += [(f"user{i}", 1000, 1000, None, None, "browser") for i in range(20)]
    names = ["account_id", "head_tid", "tail_tid", "max_tokens", "temperature", "user_agent"]
    return ibis.memtable(pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}))


def test_same_client_config_and_agent_merge_without_shared_templates():
    ev = _client_events()
    merged, used = merge_by_behaviour(ev, {"A": ["a"], "B": ["b"], "C": ["c"]}, SameOperator())
    assert sorted(sorted(m) for m in merged) == [["a", "b"], ["c"]]
    assert used[0].similarity["config"] == 1.0 and used[0].similarity["agent"] == 1.0
    assert used[0].similarity.get("template", 0.0) == 0.0


def test_config_alone_is_not_enough():
    ev = _client_events()
    no_agent = SameOperator(agent=2.0)
    merged, _ = merge_by_behaviour(ev, {"A": ["a"], "B": ["b"]}, no_agent)
    assert sorted(merged) == [["a"], ["b"]]


def test_weak_link_lowers_the_bar():
    # a and b share one of two wrappers each: template similarity about 0.5
    ev = _events({"a": ([1000], [1, 2]), "b": ([1000], [2, 3]), **BENIGN})
    strict = SameOperator(template=0.8, linked_factor=0.5)
    merged, _ = merge_by_behaviour(ev, {"A": ["a"], "B": ["b"]}, strict)
    assert sorted(merged) == [["a"], ["b"]]
    merged, used = merge_by_behaviour(ev, {"A": ["a"], "B": ["b"]}, strict, [("B", "A")])
    assert sorted(merged[0]) == ["a", "b"] and used[0].linked


def test_only_the_asked_pairs_are_compared_with_the_same_result():
    ev = _events({"a1": OP_A, "a2": OP_A, "a3": OP_A, "b1": OP_B, "b2": OP_B, **BENIGN})
    groups = {"G1": ["a1", "a2"], "G2": ["a3"], "G3": ["b1", "b2"], "G4": ["b1"]}
    profiles = template_profiles(ev, groups)
    every = {(x.left, x.right): x for x in similar_pairs(profiles, 0.05)}
    assert ("G1", "G2") in every and ("G3", "G4") in every
    assert ("G1", "G3") not in every  # under the floor
    # asked in either order; a pair under the floor is not reported; others not computed
    asked = similar_pairs(profiles, 0.05, only=[("G2", "G1"), ("G1", "G3")])
    assert [(x.left, x.right) for x in asked] == [("G1", "G2")]
    assert asked[0] == every[("G1", "G2")]
    again = similar_pairs(profiles, 0.05, only=[("G4", "G3")])
    assert again == [every[("G3", "G4")]]
    assert similar_pairs(profiles, 0.05, only=[]) == []


def test_sparse_similarities_equal_a_plain_sum_over_shared_keys():
    rng = random.Random(7)
    rows = []
    for g in range(30):
        for family, pool in (("template", 40), ("config", 6), ("agent", 4)):
            keys = rng.sample(range(pool), rng.randint(1, min(pool, 8)))
            w = [rng.random() for _ in keys]
            norm = sum(x * x for x in w) ** 0.5
            rows += [(f"G{g:02d}", family, f"k{k}", x / norm) for k, x in zip(keys, w, strict=True)]
    table = pa.table(
        {n: [r[i] for r in rows] for i, n in enumerate(("subject", "family", "key", "w"))}
    )
    vec: dict[tuple[str, str], dict[str, float]] = {}
    for subject, family, key, w in rows:
        vec.setdefault((subject, family), {})[key] = w
    expected: dict[tuple[str, str], dict[str, float]] = {}
    subjects = sorted({r[0] for r in rows})
    for i, a in enumerate(subjects):
        for b in subjects[i + 1 :]:
            sims = {}
            for family in ("template", "config", "agent"):
                va, vb = vec.get((a, family), {}), vec.get((b, family), {})
                shared = set(va) & set(vb)
                if shared:
                    sims[family] = round(min(1.0, sum(va[k] * vb[k] for k in shared)), 6)
            if sims and max(sims.values()) >= 0.5:
                expected[(a, b)] = sims
    prof = Profiles(table)
    got = prof.similarities(0.5)
    assert got.keys() == expected.keys() and len(got) > 10
    for pair, sims in expected.items():
        assert got[pair] == pytest.approx(sims, abs=2e-6)
    a, b = next(iter(expected))
    contrib = sorted(
        (-vec[(a, f)][k] * vec[(b, f)][k], f, k)
        for f in ("template", "config", "agent")
        for k in set(vec.get((a, f), {})) & set(vec.get((b, f), {}))
    )
    assert prof.top_keys(a, b) == tuple((f, k) for _, f, k in contrib[:3])
    # the same pairs when asked one by one
    assert prof.similarities(0.5, only=list(expected)) == got

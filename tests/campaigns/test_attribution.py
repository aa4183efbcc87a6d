"""From flagged accounts and clusters to campaigns: seeds, weak links, behaviour."""

from __future__ import annotations

import ibis
import pyarrow as pa

from distillwatch.campaigns.attribution import (
    attribute,
    campaign_id,
    group_strength,
    seed_groups,
    weak_links,
)


def _members(rows: list[tuple[str, str]]) -> pa.Table:
    return pa.table(
        {"account_id": [a for a, _ in rows], "subject": [s for _, s in rows]},
        schema=pa.schema([("account_id", pa.string()), ("subject", pa.string())]),
    )


def _edges(rows: list[tuple[str, str, float]]) -> pa.Table:
    return pa.table(
        {"a": [r[0] for r in rows], "b": [r[1] for r in rows], "weight": [r[2] for r in rows]},
        schema=pa.schema([("a", pa.string()), ("b", pa.string()), ("weight", pa.float64())]),
    )


IDS = [f"x{i}" for i in range(12)]
NO_MEMBERS = _members([])


def test_risky_cluster_is_a_campaign_even_with_few_flags():
    members = _members([(a, "K1") for a in IDS[:4]])
    flagged = [i == 0 for i in range(len(IDS))]
    seeds = seed_groups(IDS, flagged, {"K1": 0.9}, members, campaign_threshold=0.5)
    assert seeds == {campaign_id(IDS[:4]): IDS[:4]}


def test_unflagged_low_risk_cluster_is_not_a_campaign():
    members = _members([(a, "K1") for a in IDS[:4]])
    flagged = [i == 0 for i in range(len(IDS))]
    seeds = seed_groups(IDS, flagged, {"K1": 0.1}, members, campaign_threshold=0.5)
    assert list(seeds.values()) == [["x0"]]


def test_one_coincidental_link_does_not_link_two_large_groups():
    seeds = {"A": IDS[:6], "B": IDS[6:]}
    flagged = set(IDS)
    assert weak_links(seeds, flagged, _edges([("x0", "x6", 0.35)])) == set()
    many = _edges([(f"x{i}", f"x{i + 6}", 0.35) for i in range(3)])
    assert weak_links(seeds, flagged, many) == {("A", "B")}


def test_a_single_account_is_linked_by_one_weak_link_but_not_below_it():
    seeds = {"A": IDS[:6], "B": ["x6"]}
    flagged = set(IDS[:7])
    assert weak_links(seeds, flagged, _edges([("x0", "x6", 0.31)])) == {("A", "B")}
    assert weak_links(seeds, flagged, _edges([("x0", "x6", 0.29)])) == set()
    # links to unflagged accounts say nothing
    assert weak_links(seeds, flagged - {"x0"}, _edges([("x0", "x6", 0.31)])) == set()


def _ev(templates: dict[str, tuple[int, int]]) -> ibis.Table:
    rows = [(a, h, t) for a, (h, t) in templates.items() for _ in range(20)]
    return ibis.memtable(
        pa.table(
            {
                "account_id": [r[0] for r in rows],
                "head_tid": [r[1] for r in rows],
                "tail_tid": [r[2] for r in rows],
            }
        )
    )


def test_weak_link_without_alike_behaviour_does_not_merge():
    # two operators renting the same cloud on the same day: linked, different tooling
    ev = _ev({"x0": (1, 2), "x1": (1, 2), "x6": (3, 4), "x7": (3, 4), "x11": (9, 9)})
    members = _members([("x0", "K1"), ("x1", "K1"), ("x6", "K2"), ("x7", "K2")])
    flagged = [a in {"x0", "x1", "x6", "x7"} for a in IDS]
    edges = _edges([("x0", "x6", 0.35), ("x1", "x7", 0.35), ("x0", "x7", 0.35)])
    groups, merges = attribute(ev, IDS, flagged, {}, members, edges, campaign_threshold=0.5)
    assert sorted(groups.values()) == [["x0", "x1"], ["x6", "x7"]] and merges == {}


def test_separate_card_groups_with_one_tooling_merge_with_evidence():
    ev = _ev({"x0": (1, 2), "x1": (1, 2), "x6": (1, 2), "x7": (1, 2), "x11": (9, 9)})
    members = _members([("x0", "K1"), ("x1", "K1"), ("x6", "K2"), ("x7", "K2")])
    flagged = [a in {"x0", "x1", "x6", "x7"} for a in IDS]
    groups, merges = attribute(ev, IDS, flagged, {}, members, _edges([]), campaign_threshold=0.5)
    assert list(groups.values()) == [["x0", "x1", "x6", "x7"]]
    [(link, n_left, n_right)] = merges[campaign_id(["x0", "x1", "x6", "x7"])]
    assert (n_left, n_right) == (2, 2) and link.similarity["template"] == 1.0
    assert not link.linked


def test_group_strength_is_internal_weight_per_account():
    edges = _edges([("a", "b", 1.0), ("b", "c", 0.5), ("c", "z", 9.0)])
    assert group_strength(edges, {"G": ["a", "b", "c"]}) == {"G": 0.5}

"""Splitting clusters at bridges between dense groups."""

from __future__ import annotations

import itertools

import pyarrow as pa

from distillwatch.campaigns.blocks import split_at_bridges


def _clique(names: list[str]) -> list[tuple[str, str, float]]:
    return [(a, b, 1.0) for a, b in itertools.combinations(names, 2)]


def _tables(
    edges: list[tuple[str, str, float]], subjects: dict[str, str]
) -> tuple[pa.Table, pa.Table]:
    e = pa.table(
        {"a": [x[0] for x in edges], "b": [x[1] for x in edges], "weight": [x[2] for x in edges]}
    )
    m = pa.table({"account_id": list(subjects), "subject": list(subjects.values())})
    return e, m


TEAM = ["d1", "d2", "d3", "d4"]
FARM = ["h1", "h2", "h3", "h4", "h5"]


def test_a_bridge_between_two_dense_groups_is_cut():
    edges, members = _tables(
        _clique(TEAM) + _clique(FARM) + [("d1", "h1", 0.6)], {a: "K0" for a in TEAM + FARM}
    )
    blocks = split_at_bridges(edges, members, min_edge_weight=0.45)
    assert sorted(blocks.values()) == [TEAM, FARM]
    assert set(blocks) == {"K0/0", "K0/1"}


def test_two_edges_between_groups_keep_them_together():
    edges, members = _tables(
        _clique(TEAM) + _clique(FARM) + [("d1", "h1", 0.6), ("d2", "h2", 0.6)],
        {a: "K0" for a in TEAM + FARM},
    )
    assert split_at_bridges(edges, members, min_edge_weight=0.45) == {}


def test_small_sides_and_weak_edges_are_not_cut():
    # a pendant pair hanging off the farm stays: fewer than min_side accounts on one side
    edges, members = _tables(
        [*_clique(FARM), ("h1", "p1", 1.0), ("p1", "p2", 1.0)],
        {a: "K0" for a in [*FARM, "p1", "p2"]},
    )
    assert split_at_bridges(edges, members, min_edge_weight=0.45) == {}
    # a bridge below the graph's edge weight is no bridge: nothing is cut
    edges, members = _tables(
        _clique(TEAM) + _clique(FARM) + [("d1", "h1", 0.3)], {a: "K0" for a in TEAM + FARM}
    )
    assert split_at_bridges(edges, members, min_edge_weight=0.45) == {}


def test_edges_across_clusters_do_not_count():
    subjects = {**{a: "K0" for a in TEAM}, **{a: "K1" for a in FARM}}
    edges, members = _tables(_clique(TEAM) + _clique(FARM) + [("d1", "h1", 0.6)], subjects)
    assert split_at_bridges(edges, members, min_edge_weight=0.45) == {}

"""From flagged accounts and clusters to detected campaigns.

1. *Seeds* (:func:`seed_groups`): a linkage cluster is a campaign when its own risk
   reaches the campaign threshold or most of its accounts are flagged; every other
   flagged account starts as a campaign of its own.
2. *Weak links* (:func:`weak_links`): pairs of seeds where enough flagged accounts share
   a link of at least ``attribution_edge_weight`` (a proxy range, a creation burst): too
   weak to cluster on, and on its own not proof either (two operators rent the same cloud
   on the same day), but it lowers the bar of the next step.
3. *Behaviour* (:mod:`distillwatch.campaigns.behaviour`): seeds are merged when they run
   the same tooling (alike prompt templates, or the same client configuration and agent).

>>> import ibis, pyarrow as pa
>>> ev = ibis.memtable(pa.table({"account_id": ["a", "b", "c", "d"], "head_tid": [1, 1, 2, 3],
...                              "tail_tid": [5, 5, 6, 7]}))
>>> edges = pa.table({"a": ["a"], "b": ["c"], "weight": [0.4]})
>>> members = pa.table({"account_id": pa.array([], pa.string()),
...                     "subject": pa.array([], pa.string())})
>>> groups, used = attribute(ev, ["a", "b", "c", "d"], [True, True, True, False], {},
...                          members, edges, campaign_threshold=0.5)
>>> sorted(groups.values())
[['a', 'b'], ['c']]
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import ibis.expr.types as ir
import pyarrow as pa

from distillwatch.campaigns.behaviour import BehaviourLink, SameOperator, merge_by_behaviour


def campaign_id(accounts: Sequence[str]) -> str:
    """Stable id of a group of accounts (the same members give the same id)."""
    digest = hashlib.blake2b("\n".join(sorted(accounts)).encode(), digest_size=5).hexdigest()
    return f"C-{digest}"


def members_table(groups: Mapping[str, Sequence[str]]) -> pa.Table:
    """``account_id, subject`` rows of a grouping."""
    rows = [(a, s) for s, accs in groups.items() for a in accs]
    return pa.table(
        {"account_id": [a for a, _ in rows], "subject": [s for _, s in rows]},
        schema=pa.schema([("account_id", pa.string()), ("subject", pa.string())]),
    )


def seed_groups(
    ids: Sequence[str],
    flagged: Sequence[bool],
    cluster_risk: Mapping[str, float],
    members: pa.Table,
    *,
    campaign_threshold: float,
) -> dict[str, list[str]]:
    """Step 1: campaign clusters (by ``cluster_risk`` or a flagged majority) and every
    other flagged account on its own, keyed by :func:`campaign_id`."""
    index = {a: i for i, a in enumerate(ids)}
    clusters: dict[str, list[str]] = {}
    for a, s in zip(
        members.column("account_id").to_pylist(), members.column("subject").to_pylist(), strict=True
    ):
        clusters.setdefault(s, []).append(a)
    seeds: list[list[str]] = []
    for s, accs in clusters.items():
        n_flag = sum(bool(flagged[index[a]]) for a in accs)
        if cluster_risk.get(s, 0.0) >= campaign_threshold or n_flag * 2 > len(accs):
            seeds.append(sorted(accs))
    placed = {a for accs in seeds for a in accs}
    seeds += [[a] for i, a in enumerate(ids) if flagged[i] and a not in placed]
    return {campaign_id(accs): accs for accs in seeds}


def weak_links(
    seeds: Mapping[str, Sequence[str]],
    flagged_accounts: set[str],
    edges: pa.Table,
    *,
    weak_edge_weight: float = 0.3,
    min_share: float = 0.2,
) -> set[tuple[str, str]]:
    """Step 2: pairs of seeds (sorted names) with at least ``max(3, min_share * smaller
    size)`` flagged account pairs linked by ``weak_edge_weight`` (one for a single account)."""
    node = {a: s for s, accs in seeds.items() for a in accs}
    cross: dict[tuple[str, str], int] = {}
    for a, b, w in zip(
        edges.column("a").to_pylist(),
        edges.column("b").to_pylist(),
        edges.column("weight").to_pylist(),
        strict=True,
    ):
        na, nb = node.get(a), node.get(b)
        if w < weak_edge_weight or na is None or nb is None or na == nb:
            continue
        if a in flagged_accounts and b in flagged_accounts:
            key = (min(na, nb), max(na, nb))
            cross[key] = cross.get(key, 0) + 1
    out = set()
    for (x, y), n in cross.items():
        smaller = min(len(seeds[x]), len(seeds[y]))
        if n >= max(3.0, min_share * smaller) or (smaller == 1 and n >= 1):
            out.add((x, y))
    return out


def attribute(
    ev: ir.Table,
    ids: Sequence[str],
    flagged: Sequence[bool],
    cluster_risk: Mapping[str, float],
    members: pa.Table,
    edges: pa.Table,
    *,
    campaign_threshold: float,
    weak_edge_weight: float = 0.3,
    min_share: float = 0.2,
    rule: SameOperator | None = None,
) -> tuple[dict[str, list[str]], dict[str, list[tuple[BehaviourLink, int, int]]]]:
    """Detected campaigns, and per campaign the merges that joined its parts with the sizes
    of the two sides.

    ``ev`` has ``account_id``, ``head_tid``, ``tail_tid`` and optionally the config and
    ``user_agent`` columns; ``edges`` are the linkage graph's ``a, b, weight`` rows.
    """
    seeds = seed_groups(ids, flagged, cluster_risk, members, campaign_threshold=campaign_threshold)
    flagged_accounts = {a for a, f in zip(ids, flagged, strict=True) if f}
    linked = weak_links(
        seeds, flagged_accounts, edges, weak_edge_weight=weak_edge_weight, min_share=min_share
    )
    merged, used = merge_by_behaviour(ev, seeds, rule or SameOperator(), linked)
    groups = {campaign_id(accs): sorted(accs) for accs in merged}
    where = {a: s for s, accs in groups.items() for a in accs}
    merges: dict[str, list[tuple[BehaviourLink, int, int]]] = {}
    for link in used:
        sizes = len(seeds[link.left]), len(seeds[link.right])
        merges.setdefault(where[seeds[link.left][0]], []).append((link, *sizes))
    return groups, merges


def group_strength(edges: pa.Table, groups: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Summed internal edge weight per group divided by its size."""
    where = {a: s for s, accs in groups.items() for a in accs}
    total: dict[str, float] = {}
    for a, b, w in zip(
        edges.column("a").to_pylist(),
        edges.column("b").to_pylist(),
        edges.column("weight").to_pylist(),
        strict=True,
    ):
        sa = where.get(a)
        if sa is not None and sa == where.get(b):
            total[sa] = total.get(sa, 0.0) + float(w)
    return {s: total.get(s, 0.0) / len(accs) for s, accs in groups.items()}

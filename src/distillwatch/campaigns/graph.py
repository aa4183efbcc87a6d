"""The account linkage graph and its clusters.

Two accounts are linked by every attribute they share. Each shared attribute adds
``base_weight[kind] * min(1, sqrt(k0 / k))`` to the pair, where ``k`` is the number of
accounts in the whole input sharing that value: a payment card on 6 or even 40 fresh
accounts is rare and strong, a campus NAT shared by 300 students is weak (each pair gets a
fifth of the weight), and a value shared by more than
``max_sharing`` accounts adds nothing (it also keeps the pair count bounded). Pairs whose
summed weight reaches ``min_edge_weight`` become edges; clusters are the connected
components of that graph, split further by Leiden (modularity) when large and loose.

>>> import ibis, pyarrow as pa
>>> attrs = pa.table({"account_id": ["a", "b", "c", "d"], "kind": ["payment"] * 4,
...                   "value": ["card1", "card1", "card1", "card2"]})
>>> edges, _ = link_pairs(ibis.memtable(attrs), {"payment": 1.0})
>>> sorted(edges.to_pyarrow().column("a").to_pylist())
['a', 'a', 'b']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import igraph as ig
import numpy as np
import pyarrow as pa


def link_pairs(
    attrs: ir.Table,
    base_weights: Mapping[str, float],
    *,
    max_sharing: int = 200,
    rarity_k0: float = 12.0,
) -> tuple[ir.Table, ir.Table]:
    """Weighted account pairs ``a, b, weight, kinds`` and the weighted attribute table."""
    kinds = ibis.memtable(
        pa.table({"kind": list(base_weights), "base": [float(v) for v in base_weights.values()]})
    )
    counts = attrs.group_by(["kind", "value"]).aggregate(k=attrs.account_id.nunique())
    shared = counts.filter((counts.k >= 2) & (counts.k <= max_sharing)).join(kinds, "kind")
    shared = shared.mutate(
        w=shared.base * ibis.least(1.0, (rarity_k0 / shared.k.cast("float64")).sqrt())
    )
    weighted = attrs.join(shared, ["kind", "value"])
    left = weighted.select(a="account_id", kind="kind", value="value", w="w", base="base")
    right = weighted.select(b="account_id", kind2="kind", value2="value")
    pairs = left.join(
        right, (left.kind == right.kind2) & (left.value == right.value2) & (left.a < right.b)
    )
    # Several values of one kind (e.g. many shared /24s of a rotating proxy pool) count
    # at most as much as one rare value of that kind: one kind alone never outweighs it.
    per_kind = pairs.group_by(["a", "b", "kind"]).aggregate(w=pairs.w.sum(), base=pairs.base.max())
    per_kind = per_kind.mutate(w=ibis.least(per_kind.w, per_kind.base))
    edges = per_kind.group_by(["a", "b"]).aggregate(
        weight=per_kind.w.sum(), kinds=per_kind.kind.collect()
    )
    return edges, weighted


@dataclass(frozen=True)
class Clusters:
    """Cluster membership: ``labels[i]`` is the cluster of ``accounts[i]`` (-1: none)."""

    accounts: list[str]
    labels: np.ndarray
    #: summed weight of the cluster's internal edges divided by its size
    strength: dict[int, float]


def cluster_accounts(
    edges: pa.Table,
    *,
    min_edge_weight: float = 0.45,
    leiden_min_size: int = 40,
    leiden_resolution: float = 0.05,
    seed: int = 0,
) -> Clusters:
    """Connected components of strong edges, large loose ones split by Leiden."""
    strong = edges.filter(pa.compute.greater_equal(edges["weight"], min_edge_weight))
    a = strong["a"].to_pylist()
    b = strong["b"].to_pylist()
    w = strong["weight"].to_numpy()
    names = sorted(set(a) | set(b))
    index = {name: i for i, name in enumerate(names)}
    g = ig.Graph(n=len(names), edges=[(index[x], index[y]) for x, y in zip(a, b, strict=True)])
    g.es["weight"] = w.tolist()
    labels = np.full(len(names), -1, dtype=np.int64)
    next_label = 0
    for comp in g.connected_components():
        if len(comp) < 2:
            continue
        parts: list[list[int]] = [list(comp)]
        if len(comp) >= leiden_min_size:
            sub = g.induced_subgraph(comp)
            import random

            random.seed(seed)
            part = sub.community_leiden(
                objective_function="modularity",
                weights="weight",
                resolution=leiden_resolution,
                n_iterations=-1,
            )
            parts = [[comp[v] for v in members] for members in part if len(members) >= 2]
        for members in parts:
            labels[members] = next_label
            next_label += 1
    strength: dict[int, float] = {}
    for e in g.es:
        la, lb = labels[e.source], labels[e.target]
        if la == lb and la >= 0:
            strength[int(la)] = strength.get(int(la), 0.0) + float(e["weight"])
    sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.array([])
    strength = {k: v / float(sizes[k]) for k, v in strength.items()}
    return Clusters(accounts=names, labels=labels, strength=strength)

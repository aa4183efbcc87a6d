"""Blocks: the parts of a cluster that hang together by more than one coincidence.

A cluster is a connected component of strong edges, so a single edge can join two dense
groups: a hydra's card groups are chained that way (a shared proxy /24 and a user agent
created in the same hour), and so, by coincidence, can an honest developer team be
chained to a harvesting cluster. The structure cannot tell them apart; the blocks'
own evidence can. :func:`split_at_bridges` cuts every bridge (an edge whose removal
disconnects its cluster) with at least ``min_side`` accounts on each side; the resulting
parts are the blocks. The pipeline lets a block inherit its cluster's risk only when the
block looks like part of a campaign on its own (its own campaign risk) or runs the same
tooling as the rest of the cluster (:class:`~distillwatch.campaigns.behaviour.SameOperator`).

>>> import pyarrow as pa
>>> team = [("d1", "d2"), ("d2", "d3"), ("d1", "d3")]
>>> farm = [("h1", "h2"), ("h2", "h3"), ("h1", "h3")]
>>> edges = pa.table({"a": [a for a, _ in team + farm] + ["d1"],
...                   "b": [b for _, b in team + farm] + ["h1"], "weight": [1.0] * 7})
>>> members = pa.table({"account_id": ["d1", "d2", "d3", "h1", "h2", "h3"], "subject": ["K0"] * 6})
>>> sorted(sorted(b) for b in split_at_bridges(edges, members, min_edge_weight=0.5).values())
[['d1', 'd2', 'd3'], ['h1', 'h2', 'h3']]
"""

from __future__ import annotations

import igraph as ig
import pyarrow as pa


def split_at_bridges(
    edges: pa.Table, members: pa.Table, *, min_edge_weight: float, min_side: int = 3
) -> dict[str, list[str]]:
    """Blocks of every cluster that has more than one, keyed ``<subject>/<n>``.

    ``members`` maps ``account_id`` to a cluster ``subject``; ``edges`` are the graph's
    ``a, b, weight`` rows (only those of at least ``min_edge_weight`` inside one cluster
    count). Clusters without such a bridge are left out of the result.
    """
    subject = dict(
        zip(
            members.column("account_id").to_pylist(),
            members.column("subject").to_pylist(),
            strict=True,
        )
    )
    names = sorted(subject)
    index = {a: i for i, a in enumerate(names)}
    pairs = [
        (index[a], index[b])
        for a, b, w in zip(
            edges.column("a").to_pylist(),
            edges.column("b").to_pylist(),
            edges.column("weight").to_pylist(),
            strict=True,
        )
        if w >= min_edge_weight and a in index and b in index and subject[a] == subject[b]
    ]
    g = ig.Graph(n=len(names), edges=pairs)
    cut = []
    for eid in g.bridges():
        src, dst = g.es[eid].tuple
        h = g.copy()
        h.delete_edges([eid])
        parts = h.connected_components().membership
        if min(parts.count(parts[src]), parts.count(parts[dst])) >= min_side:
            cut.append(eid)
    if not cut:
        return {}
    g.delete_edges(cut)
    by_subject: dict[str, list[list[str]]] = {}
    for comp in g.connected_components():
        accs = [names[v] for v in comp]
        by_subject.setdefault(subject[accs[0]], []).append(sorted(accs))
    out: dict[str, list[str]] = {}
    for s, blocks in sorted(by_subject.items()):
        if len(blocks) < 2:
            continue
        for n, accs in enumerate(sorted(blocks)):
            out[f"{s}/{n}"] = accs
    return out

"""Accounts linked as their shared attributes appear, one request at a time.

The batch scan links two accounts when the attributes they share (payment fingerprint,
organisation, /24 prefix, hosting ASN with creation day, user agent with creation hour, a
dominating prompt template; ``campaigns/attributes.py``) weigh at least
``min_edge_weight``, each kind at its base weight discounted by rarity
(``weight * min(1, sqrt(k0 / k))`` for a value on ``k`` accounts, nothing beyond
``max_sharing``), one kind counting at most its base weight. Here the same rule is applied
when an account first shows a value, with ``k`` as it is at that moment; linked accounts
are merged in a union-find whose groups are the online campaigns. A link is never undone
(a value that later becomes common stops making new links).

>>> g = Linkage({"payment": 1.0, "ip_prefix": 0.35}, min_edge_weight=0.45)
>>> g.add("a", "payment", "card-1"); g.add("b", "payment", "card-1")
[]
['a']
>>> g.add("c", "ip_prefix", "10.0.0.0/24"); g.add("a", "ip_prefix", "10.0.0.0/24")
[]
[]
>>> sorted(g.members(g.find("b"))), g.find("c") == g.find("a")
(['a', 'b'], False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: values per (account, kind) remembered, so a rotating proxy pool cannot grow state forever
MAX_VALUES_PER_KIND = 256


class Linkage:
    """Attribute index, pair weights and union-find of accounts."""

    def __init__(
        self,
        base_weights: Mapping[str, float],
        *,
        min_edge_weight: float = 0.45,
        max_sharing: int = 200,
        rarity_k0: float = 12.0,
    ) -> None:
        self.base = dict(base_weights)
        self.min_edge_weight = min_edge_weight
        self.max_sharing = max_sharing
        self.rarity_k0 = rarity_k0
        self.holders: dict[str, list[str]] = {}  # "kind\x1fvalue" -> accounts
        self.seen: dict[str, dict[str, set[str]]] = {}  # account -> kind -> values
        self.pairs: dict[str, dict[str, float]] = {}  # "a\x1fb" -> kind -> weight
        self.parent: dict[str, str] = {}
        self.groups: dict[str, list[str]] = {}  # root -> members
        self.internal: dict[str, float] = {}  # root -> summed weight of linking pairs

    # ------------------------------------------------------------------ union-find

    def find(self, a: str) -> str:
        parent = self.parent
        root = a
        while parent.get(root, root) != root:
            root = parent[root]
        while a != root:
            nxt = parent.get(a, a)
            parent[a] = root
            a = nxt
        return root

    def members(self, root: str) -> list[str]:
        return self.groups.get(root, [root])

    def _union(self, a: str, b: str, weight: float) -> str:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            self.internal[ra] = self.internal.get(ra, 0.0) + weight
            return ra
        ga, gb = self.members(ra), self.members(rb)
        if len(ga) < len(gb):
            ra, rb, ga, gb = rb, ra, gb, ga
        self.parent[rb] = ra
        self.groups[ra] = ga + gb
        self.groups.pop(rb, None)
        self.internal[ra] = self.internal.get(ra, 0.0) + self.internal.pop(rb, 0.0) + weight
        return ra

    def strength(self, root: str) -> float:
        """Summed weight of the group's links divided by its size (as ``Clusters.strength``)."""
        return self.internal.get(root, 0.0) / max(len(self.members(root)), 1)

    # ------------------------------------------------------------------ attributes

    def add(self, account: str, kind: str, value: str) -> list[str]:
        """Record that ``account`` shows ``value``; return the accounts it newly linked to."""
        if kind not in self.base or not value:
            return []
        mine = self.seen.setdefault(account, {}).setdefault(kind, set())
        if value in mine or len(mine) >= MAX_VALUES_PER_KIND:
            return []
        mine.add(value)
        key = f"{kind}\x1f{value}"
        holders = self.holders.setdefault(key, [])
        if len(holders) >= self.max_sharing:  # too common to link anyone (a NAT, a browser)
            return []
        holders.append(account)
        k = len(holders)
        if k < 2:
            return []
        base = self.base[kind]
        w = base * min(1.0, math.sqrt(self.rarity_k0 / k))
        linked: list[str] = []
        for other in holders[:-1]:
            if other == account:
                continue
            pair = f"{min(account, other)}\x1f{max(account, other)}"
            kinds = self.pairs.setdefault(pair, {})
            before = sum(kinds.values())
            kinds[kind] = min(kinds.get(kind, 0.0) + w, base)
            total = sum(kinds.values())
            if total >= self.min_edge_weight > before:
                self._union(account, other, total)
                linked.append(other)
        return linked

    # ------------------------------------------------------------------ persistence

    def to_json(self) -> dict[str, Any]:
        return {
            "holders": self.holders,
            "seen": {a: {k: sorted(v) for k, v in kinds.items()} for a, kinds in self.seen.items()},
            "pairs": self.pairs,
            "parent": self.parent,
            "groups": self.groups,
            "internal": self.internal,
        }

    def load_json(self, d: Mapping[str, Any]) -> None:
        self.holders = {k: list(v) for k, v in d["holders"].items()}
        self.seen = {a: {k: set(v) for k, v in kinds.items()} for a, kinds in d["seen"].items()}
        self.pairs = {k: dict(v) for k, v in d["pairs"].items()}
        self.parent = dict(d["parent"])
        self.groups = {k: list(v) for k, v in d["groups"].items()}
        self.internal = dict(d["internal"])

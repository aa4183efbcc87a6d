"""Accounts linked as their shared attributes appear, one request at a time.

The batch scan links two accounts when the attributes they share (payment fingerprint,
organisation, /24 prefix, hosting ASN with creation day, user agent with creation hour, a
dominating prompt template; ``campaigns/attributes.py``) weigh at least
``min_edge_weight``, each kind at its base weight discounted by rarity
(``weight * min(1, sqrt(k0 / k))`` for a value on ``k`` accounts, nothing beyond
``max_sharing``), one kind counting at most its base weight. Here the same rule is applied
when an account first shows a value, with ``k`` as it is at that moment; linked accounts
are merged in a union-find whose groups are the online campaigns. A value that later
becomes common stops making new links, and :meth:`Linkage.regroup` (called before a group
is re-scored) re-checks a group's links with every value's count as it is now, splitting
the group where they no longer hold: a benchmark's prompt format that the first few
evaluation researchers share links them at full weight, and it is only once the format
turns out common that the batch scan's rule (which sees the whole window) discounts it.
Likewise a template links an account only while it dominates the account's traffic, as in
the scan: :meth:`Linkage.withdraw` takes back one that stopped dominating (an evaluation
team's accounts each start with one benchmark's format and move on to others).
``regroup`` also records, per group, the share of its accounts linked to another member
without counting templates (``infra_share``): the scorer does not judge a group held
together by prompt formats alone as a campaign.

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

from distillwatch.unionfind import DisjointSets

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
        self.counts: dict[str, int] = {}  # "kind\x1fvalue" -> accounts, beyond max_sharing too
        self.seen: dict[str, dict[str, set[str]]] = {}  # account -> kind -> values
        self.pairs: dict[str, dict[str, float]] = {}  # "a\x1fb" -> kind -> weight
        self.parent: dict[str, str] = {}
        self.groups: dict[str, list[str]] = {}  # root -> members
        self.internal: dict[str, float] = {}  # root -> summed weight of linking pairs
        #: root -> share of the group's accounts linked to another member by more than
        #: prompt templates, as of the group's last :meth:`regroup` (not persisted: a group
        #: is regrouped before every score)
        self.infra_share: dict[str, float] = {}

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
        self.infra_share.pop(rb, None)
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
        self.counts[key] = self.counts.get(key, 0) + 1
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

    def count(self, kind: str, value: str) -> int:
        """Accounts showing ``value`` now (beyond ``max_sharing`` too)."""
        return self.counts.get(f"{kind}\x1f{value}", 0)

    def withdraw(self, account: str, kind: str, value: str) -> None:
        """Record that ``account`` no longer shows ``value`` (a prompt template that stopped
        dominating its traffic): it stops counting for the value's rarity and for the
        account's links, which :meth:`regroup` then re-checks. Showing it again re-adds it."""
        mine = self.seen.get(account, {}).get(kind)
        if not mine or value not in mine:
            return
        mine.discard(value)
        key = f"{kind}\x1f{value}"
        left = self.counts.get(key, 0) - 1
        if left > 0:
            self.counts[key] = left
        else:
            self.counts.pop(key, None)
        holders = self.holders.get(key, [])
        if account not in holders:
            return
        holders.remove(account)
        if not holders:
            self.holders.pop(key, None)
        for other in holders:  # the pair's weight of this kind, from what both show now
            pair = f"{min(account, other)}\x1f{max(account, other)}"
            kinds = self.pairs.get(pair)
            if kinds is None or kind not in kinds:
                continue
            shared = mine & self.seen.get(other, {}).get(kind, set())
            weight = sum(self._weight_now(f"{kind}\x1f{v}") for v in shared)
            if weight > 0.0:
                kinds[kind] = min(weight, self.base[kind])
            else:
                kinds.pop(kind)

    def _weight_now(self, key: str) -> float:
        """A value's link weight with the number of accounts showing it now."""
        k = self.counts.get(key, 0)
        if k < 2 or k > self.max_sharing:
            return 0.0
        return self.base[key.split("\x1f", 1)[0]] * min(1.0, math.sqrt(self.rarity_k0 / k))

    def regroup(self, root: str) -> list[str]:
        """Re-check the links inside ``root``'s group with today's value counts and split it
        into the parts that still hold together; returns the roots of the parts (``[root]``
        when nothing changed). Single accounts left over become their own roots."""
        members = self.members(root)
        if len(members) < 2:
            return [root]
        inside = set(members)
        per_pair: dict[tuple[str, str], dict[str, float]] = {}
        for a in members:
            for kind, values in self.seen.get(a, {}).items():
                for value in values:
                    key = f"{kind}\x1f{value}"
                    w = self._weight_now(key)
                    if w <= 0.0:
                        continue
                    for b in self.holders.get(key, ()):
                        if b > a and b in inside:
                            kinds = per_pair.setdefault((a, b), {})
                            kinds[kind] = kinds.get(kind, 0.0) + w
        sets = DisjointSets(members)
        weights: dict[tuple[str, str], float] = {}
        infra: set[str] = set()  # accounts linked by more than templates
        for pair, kinds in per_pair.items():
            capped = {kind: min(w, self.base[kind]) for kind, w in kinds.items()}
            total = sum(capped.values())
            if total >= self.min_edge_weight:
                weights[pair] = total
                sets.union(*pair)
                if total - capped.get("template", 0.0) >= self.min_edge_weight:
                    infra.update(pair)
        parts: dict[str, list[str]] = {}
        for a in members:  # in group order, so each part keeps its members' order
            parts.setdefault(sets.find(a), []).append(a)
        if len(parts) == 1:
            self.infra_share[root] = len(infra) / len(members)
            return [root]
        internal: dict[str, float] = {}  # by the parts' own roots
        for (a, _), w in weights.items():
            top = sets.find(a)
            internal[top] = internal.get(top, 0.0) + w
        roots = []
        for top, part in parts.items():
            new_root = root if root in part else part[0]  # the old root keeps its part
            roots.append(new_root)
            for a in part:
                self.parent[a] = new_root
            if len(part) > 1:
                self.groups[new_root] = part
                self.internal[new_root] = internal.get(top, 0.0)
                self.infra_share[new_root] = sum(a in infra for a in part) / len(part)
            else:
                self.groups.pop(new_root, None)
                self.internal.pop(new_root, None)
                self.infra_share.pop(new_root, None)
        return roots

    # ------------------------------------------------------------------ persistence

    def to_json(self) -> dict[str, Any]:
        return {
            "holders": self.holders,
            "counts": self.counts,
            "seen": {a: {k: sorted(v) for k, v in kinds.items()} for a, kinds in self.seen.items()},
            "pairs": self.pairs,
            "parent": self.parent,
            "groups": self.groups,
            "internal": self.internal,
        }

    def load_json(self, d: Mapping[str, Any]) -> None:
        self.holders = {k: list(v) for k, v in d["holders"].items()}
        # state saved before counts were kept: the holders are the count
        self.counts = {k: int(v) for k, v in d.get("counts", {}).items()} or {
            k: len(v) for k, v in self.holders.items()
        }
        self.seen = {a: {k: set(v) for k, v in kinds.items()} for a, kinds in d["seen"].items()}
        self.pairs = {k: dict(v) for k, v in d["pairs"].items()}
        self.parent = dict(d["parent"])
        self.groups = {k: list(v) for k, v in d["groups"].items()}
        self.internal = dict(d["internal"])

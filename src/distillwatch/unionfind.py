"""Disjoint sets of string ids whose root is always the smallest id of the set.

>>> s = DisjointSets()
>>> s.union("b", "c"), s.union("a", "c"), s.union("a", "b")
(True, True, False)
>>> s.find("c")
'a'
"""

from __future__ import annotations

from collections.abc import Iterable


class DisjointSets:
    """Union-find with path halving; ids join lazily on first use."""

    def __init__(self, items: Iterable[str] = ()) -> None:
        self.parent: dict[str, str] = {a: a for a in items}

    def find(self, a: str) -> str:
        parent = self.parent
        parent.setdefault(a, a)
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(self, a: str, b: str) -> bool:
        """Join the sets of ``a`` and ``b``; False if they were already one."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True

"""Bounded-memory summaries the online state is made of.

- :class:`Distinct`: a k-minimum-values sketch of 64-bit hashes, exact below ``k`` values,
  an unbiased estimate above; a campaign's sketch is built from its accounts' values.
- :class:`TopCounts`: counts of the most frequent keys (Space-Saving: when full, the least
  counted key is replaced and the newcomer inherits its count, an over-estimate bounded by
  that count).

>>> d = Distinct(k=64)
>>> for i in range(1000):
...     d.add(i * 0x9E3779B97F4A7C15)
>>> 800 < d.estimate() < 1250
True
>>> t = TopCounts(cap=2)
>>> for key in "aabbbc":
...     _ = t.add(key)
>>> t.counts
{'b': 3, 'c': 3}
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

_MASK = (1 << 64) - 1
_SPACE = float(1 << 64)


class Distinct:
    """k smallest distinct 64-bit hash values seen (KMV)."""

    __slots__ = ("k", "values")

    def __init__(self, k: int = 256, values: Iterable[int] = ()) -> None:
        self.k = k
        self.values: list[int] = sorted(set(v & _MASK for v in values))[:k]

    def add(self, h: int) -> None:
        v = h & _MASK
        vals = self.values
        if len(vals) >= self.k and v >= vals[-1]:
            return
        i = bisect.bisect_left(vals, v)
        if i < len(vals) and vals[i] == v:
            return
        vals.insert(i, v)
        if len(vals) > self.k:
            vals.pop()

    def estimate(self) -> float:
        vals = self.values
        if len(vals) < self.k:
            return float(len(vals))
        return (self.k - 1) / ((vals[-1] + 1) / _SPACE)

    def to_json(self) -> list[int]:
        return list(self.values)

    @classmethod
    def from_json(cls, data: list[int], k: int = 256) -> Distinct:
        return cls(k, data)


class TopCounts:
    """Counts of at most ``cap`` keys (Space-Saving)."""

    __slots__ = ("cap", "counts")

    def __init__(self, cap: int = 64, counts: dict[Any, int] | None = None) -> None:
        self.cap = cap
        self.counts: dict[Any, int] = dict(counts or {})

    def add(self, key: Any, n: int = 1) -> int:
        """Count ``key`` and return its (possibly over-estimated) count."""
        c = self.counts
        if key in c:
            c[key] += n
        elif len(c) < self.cap:
            c[key] = n
        else:
            low = min(c, key=c.__getitem__)
            c[key] = c.pop(low) + n
        return c[key]

    def merged(self, other: TopCounts) -> TopCounts:
        out = TopCounts(max(self.cap, other.cap), self.counts)
        for key, n in other.counts.items():
            out.add(key, n)
        return out

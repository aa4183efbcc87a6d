"""Seeded random helpers: weighted choices and log-uniform ranges.

Everything random in the simulator goes through a :class:`random.Random` owned by one
account or campaign, so the output depends only on the seed.

>>> import random
>>> w = Weighted.from_mapping({"a": 1.0, "b": 0.0})
>>> w.pick(random.Random(1))
'a'
>>> 2.0 <= loguniform(random.Random(1), (2.0, 8.0)) <= 8.0
True
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from distillwatch.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Weighted(Generic[T]):
    """A fixed weighted choice among values."""

    values: tuple[T, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[T, float]], what: str = "weights") -> Weighted[T]:
        values: list[T] = []
        cumulative: list[float] = []
        total = 0.0
        for value, weight in pairs:
            if weight < 0 or not math.isfinite(weight):
                raise ConfigError(f"{what}: weight {weight!r} of {value!r} must be >= 0")
            if weight == 0:
                continue
            total += weight
            values.append(value)
            cumulative.append(total)
        if not values:
            raise ConfigError(f"{what}: at least one weight must be positive")
        return cls(tuple(values), tuple(c / total for c in cumulative))

    @classmethod
    def from_mapping(cls, mapping: Mapping[T, float], what: str = "weights") -> Weighted[T]:
        return cls.from_pairs(mapping.items(), what)

    @classmethod
    def uniform(cls, values: Sequence[T], what: str = "choices") -> Weighted[T]:
        return cls.from_pairs(((v, 1.0) for v in values), what)

    def pick(self, rng: random.Random) -> T:
        """One value drawn with the stored weights."""
        i = bisect.bisect_right(self.cumulative, rng.random())
        return self.values[min(i, len(self.values) - 1)]


def loguniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    """A value drawn log-uniformly in [lo, hi] (uniformly when lo <= 0)."""
    lo, hi = bounds
    if hi <= lo:
        return lo
    if lo <= 0:
        return rng.uniform(lo, hi)
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def randint_range(rng: random.Random, bounds: tuple[int, int]) -> int:
    """An integer drawn uniformly in [lo, hi]."""
    lo, hi = bounds
    return lo if hi <= lo else rng.randint(lo, hi)


def chance(rng: random.Random, p: float) -> bool:
    """True with probability p."""
    return p > 0 and rng.random() < p


def hex_id(rng: random.Random, n_hex: int) -> str:
    """n_hex random lowercase hex digits."""
    return f"{rng.getrandbits(4 * n_hex):0{n_hex}x}"

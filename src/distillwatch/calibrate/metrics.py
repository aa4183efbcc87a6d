"""Counts and rates that compare the current model with the refitted one.

>>> import numpy as np
>>> c = Confusion.of(np.array([1, 1, 0, 0]), np.array([True, False, True, False]))
>>> c.precision, c.recall, c.fpr, c.f1
(0.5, 0.5, 0.5, 0.5)
>>> Confusion.of(np.array([1, 0]), np.array([False, False])).precision is None
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from distillwatch.calibrate.data import BoolArray

#: held-out metrics are shown only with at least this many labelled subjects of each class
MIN_PER_CLASS = 3


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass(frozen=True)
class Confusion:
    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def of(cls, y: npt.NDArray[np.int_], flagged: BoolArray) -> Confusion:
        pos = y == 1
        return cls(
            tp=int((pos & flagged).sum()),
            fp=int((~pos & flagged).sum()),
            fn=int((pos & ~flagged).sum()),
            tn=int((~pos & ~flagged).sum()),
        )

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def fpr(self) -> float | None:
        return _ratio(self.fp, self.fp + self.tn)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def rates(self) -> dict[str, float | None]:
        return {"precision": self.precision, "recall": self.recall, "fpr": self.fpr, "f1": self.f1}


@dataclass(frozen=True)
class HeldOut:
    """Held-out quality of one kind of subject (accounts or campaigns), before and after."""

    kind: str
    n_pos: int
    n_neg: int
    before: Confusion
    after: Confusion

    @property
    def enough(self) -> bool:
        """Whether there are enough labelled held-out subjects for the rates to mean much."""
        return min(self.n_pos, self.n_neg) >= MIN_PER_CLASS

    @classmethod
    def of(cls, kind: str, y: npt.NDArray[np.int_], before: BoolArray, after: BoolArray) -> HeldOut:
        return cls(
            kind=kind,
            n_pos=int((y == 1).sum()),
            n_neg=int((y == 0).sum()),
            before=Confusion.of(y, before),
            after=Confusion.of(y, after),
        )


@dataclass(frozen=True)
class Agreeing:
    """Decided subjects of one kind whose verdict is what the analysts decided."""

    kind: str
    n: int
    before: int
    after: int


@dataclass(frozen=True)
class Side:
    """Labelled subjects of one kind on one side of the split, by where the label came from."""

    decided: int
    truth: int

    @property
    def total(self) -> int:
        return self.decided + self.truth

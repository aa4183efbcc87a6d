"""What every signal is: an id, the feature columns it reads, a typed evidence record, a
vectorised score in [0, 1] over a table of subjects, and its own test cases.

A signal scores *subjects* (accounts or campaigns) from a :class:`Features` mapping of
column name to numpy array, one entry per subject. Thresholds are parameters loaded from
``config/signals.toml``; a signal never decides whether to flag (``verdicts/`` does).

>>> import numpy as np
>>> ramp(np.array([0.0, 0.5, 2.0]), 0.0, 1.0).tolist()
[0.0, 0.5, 1.0]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Features = Mapping[str, npt.NDArray[Any]]


@dataclass(frozen=True)
class Evidence:
    """Base of each signal's typed evidence; subclasses add their fields."""

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def ramp(x: npt.NDArray[Any], lo: float, hi: float) -> Array:
    """0 below ``lo``, 1 above ``hi``, linear between (NaN counts as 0)."""
    arr = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=lo)
    return np.asarray(np.clip((arr - lo) / (hi - lo), 0.0, 1.0), dtype=np.float64)


def log_ramp(x: npt.NDArray[Any], lo: float, hi: float) -> Array:
    """:func:`ramp` on a log scale (for volumes spanning orders of magnitude)."""
    arr = np.maximum(np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0), 1e-9)
    return ramp(np.log(arr), float(np.log(lo)), float(np.log(hi)))


def support(n: npt.NDArray[Any], n0: float) -> Array:
    """How much a share measured on ``n`` requests can be trusted: n / (n + n0)."""
    arr = np.asarray(n, dtype=np.float64)
    return np.asarray(arr / (arr + n0), dtype=np.float64)


def noisy_or(*parts: Array) -> Array:
    out = np.ones_like(parts[0])
    for p in parts:
        out = out * (1.0 - p)
    return np.asarray(1.0 - out, dtype=np.float64)


def col(f: Features, name: str) -> Array:
    return np.nan_to_num(np.asarray(f[name], dtype=np.float64), nan=0.0)


class Signal(ABC):
    """A detector over subject features. Subclasses set the class variables below."""

    id: ClassVar[str]
    title: ClassVar[str]
    #: feature columns read by :meth:`score` and :meth:`evidence`
    inputs: ClassVar[tuple[str, ...]]
    #: True for evidence against extraction: the risk model gives it a weight <= 0
    lowers_risk: ClassVar[bool] = False
    #: False: its weight is configuration (``[peer]`` in signals.toml), not fitted by
    #: tools/fit_model.py, because the simulator has no such evidence to fit it on
    fitted: ClassVar[bool] = True
    #: ATLAS technique ids this signal's evidence supports
    techniques: ClassVar[tuple[str, ...]] = ()
    #: parameter defaults; ``config/signals.toml`` may override them
    defaults: ClassVar[Mapping[str, float]] = {}
    #: one subject's features that must score high, and one that must score low
    positive: ClassVar[Mapping[str, float]]
    negative: ClassVar[Mapping[str, float]]

    def __init__(self, params: Mapping[str, float] | None = None) -> None:
        self.params = {**self.defaults, **(params or {})}

    def p(self, name: str) -> float:
        return float(self.params[name])

    @abstractmethod
    def score(self, f: Features) -> Array:
        """One score in [0, 1] per subject; higher means more like extraction."""

    @abstractmethod
    def evidence(self, f: Features, i: int) -> Evidence:
        """The typed evidence behind subject ``i``'s score."""

    @abstractmethod
    def summary(self, ev: Any) -> str:
        """One line for an analyst, from this signal's evidence."""

"""Everything a persona may read while it generates traffic (built once per run).

>>> from distillwatch.sim.corpora import find_corpora_dir
>>> w = World.build(seed=1, start=parse_day("2026-11-02"), days=7,
...                 corpora_dir=find_corpora_dir(None))
>>> round((w.release_ts - w.start) / DAY, 3), w.new_model
(3.375, 'lumen-5')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distillwatch.sim.choice import Weighted
from distillwatch.sim.corpora import Corpora
from distillwatch.sim.models import ModelSpec, load_models
from distillwatch.sim.network import Network, load_network
from distillwatch.sim.phrasing import Phrasings, load_phrasings
from distillwatch.sim.spec import PersonaSpec, load_personas
from distillwatch.sim.timefmt import DAY, parse_day

__all__ = ["DAY", "World", "parse_day"]


@dataclass
class World:
    seed: int
    #: epoch seconds of the window start (UTC midnight) and end
    start: float
    end: float
    days: int
    models: dict[str, ModelSpec]
    new_model: str
    #: when the new model becomes available (epoch seconds)
    release_ts: float
    network: Network
    phrasings: Phrasings
    corpora: Corpora
    specs: dict[str, PersonaSpec]
    hours: dict[str, Weighted[int]]

    @classmethod
    def build(cls, seed: int, start: float, days: int, corpora_dir: Path) -> World:
        models = load_models()
        new = next(m for m in models.values() if m.kind == "new")
        release_days = new.released_after_days
        if days < 2 * release_days:
            release_days = days / 2
        specs, profiles = load_personas()
        hours = {
            name: Weighted.from_pairs(enumerate(weights), f"profile {name}")
            for name, weights in profiles.items()
        }
        return cls(
            seed=seed,
            start=float(start),
            end=float(start) + days * DAY,
            days=days,
            models=models,
            new_model=new.name,
            release_ts=float(start) + release_days * DAY,
            network=load_network(),
            phrasings=load_phrasings(),
            corpora=Corpora.load(corpora_dir),
            specs=specs,
            hours=hours,
        )

    def day_start(self, day: int) -> float:
        return self.start + day * DAY

    def weekday(self, day: int) -> int:
        """0 = Monday of the UTC day *day*."""
        return int((self.day_start(day) // DAY + 3) % 7)

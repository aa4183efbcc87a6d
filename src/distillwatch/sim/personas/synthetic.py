"""synthetic_data (attack): data-generation meta-prompts over seed tasks (write N new
instructions like these examples, rewrite into a harder version, evolve this prompt)."""

from __future__ import annotations

import random

from distillwatch.sim.corpora import Task
from distillwatch.sim.personas.base import Account, Turn, effort
from distillwatch.sim.personas.harvester import Harvester


class SyntheticData(Harvester):
    name = "synthetic_data"

    def turn(self, rng: random.Random, account: Account, deck: list[Task]) -> Turn:
        corpora = self.world.corpora
        pool = corpora.seed if rng.random() < 0.6 else corpora.singles()
        examples = rng.sample(pool, 3)
        listing = "\n".join(f"{i}. {t.text}" for i, t in enumerate(examples, 1))
        k = int(rng.choice(self.spec.extra.raw("k")))
        template = rng.choice(self.world.phrasings.synthetic_templates)
        text = template.format(examples=listing, task=examples[0].text, k=k)
        return Turn(text, 300 * (k if "{k}" in template else 2), effort(rng, 1.0, 2.0))

"""rubric_harvest (attack): grading and rubric prompts around question + response pairs
from the corpora (harvests reward-model style judgements)."""

from __future__ import annotations

import random

from distillwatch.sim.corpora import Task
from distillwatch.sim.personas.base import Account, Turn, effort
from distillwatch.sim.personas.harvester import Harvester


class RubricHarvest(Harvester):
    name = "rubric_harvest"

    def turn(self, rng: random.Random, account: Account, deck: list[Task]) -> Turn:
        pair = rng.choice(self.world.corpora.pairs)
        template = rng.choice(self.world.phrasings.rubric_templates)
        text = template.format(question=pair.question, answer=pair.answer)
        return Turn(text, 900, effort(rng, 1.5, 3.5))

"""cot_harvest (attack): fresh accounts in bursts on a few hosting /24s, cards shared by
3-10 accounts, one step-by-step reasoning wrapper per campaign around diverse tasks from
all corpora (no repeats within an account), max_tokens at or near the model limit,
round the clock, single turn, some logprobs and n > 1."""

from __future__ import annotations

import random

from distillwatch.sim.corpora import Task
from distillwatch.sim.personas.base import Account, Turn, diverse_task, effort
from distillwatch.sim.personas.harvester import Harvester


class CotHarvest(Harvester):
    name = "cot_harvest"

    def turn(self, rng: random.Random, account: Account, deck: list[Task]) -> Turn:
        wrappers = self.world.phrasings.cot_wrappers
        wrapper = wrappers[account.traits["group"]["index"] % len(wrappers)]
        task = diverse_task(rng, self.world, deck, self.spec.extra.probability("corpus_share"))
        return Turn(wrapper.format(task=task.text), task.answer_chars, effort(rng, 3.0, 6.0))

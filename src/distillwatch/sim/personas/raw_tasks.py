"""raw_tasks (attack): bare diverse tasks with no telling words, maximum output, single
turn, machine-regular timing, hosting networks, shared cards."""

from __future__ import annotations

import random

from distillwatch.sim.corpora import Task
from distillwatch.sim.personas.base import Account, Turn, diverse_task, regular_times
from distillwatch.sim.personas.harvester import Harvester


class RawTasks(Harvester):
    name = "raw_tasks"

    def turn(self, rng: random.Random, account: Account, deck: list[Task]) -> Turn:
        task = diverse_task(rng, self.world, deck, self.spec.extra.probability("corpus_share"))
        return Turn(task.text, task.answer_chars, 1.3)

    def times(self, rng: random.Random, account: Account, day: int, n: int) -> list[float]:
        interval = 86400.0 / n
        t0 = self.world.day_start(day) + rng.uniform(0, interval)
        return regular_times(rng, t0, n, interval, self.spec.extra.number("jitter"))

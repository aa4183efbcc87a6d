"""heavy_single_topic: people sending many prompts about one subject."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from distillwatch.sim.calls import Call
from distillwatch.sim.choice import loguniform
from distillwatch.sim.personas.base import Account, Persona, Turn
from distillwatch.sim.sources import TaskSource


class HeavySingleTopic(Persona):
    name = "heavy_single_topic"

    def customize(
        self, rng: random.Random, account: Account, group: dict[str, Any], index: int
    ) -> None:
        corpora = self.world.corpora
        if rng.random() < 0.75:
            account.traits["topic"] = "t0:" + rng.choice(sorted(corpora.by_dataset))
        else:
            apps = sorted(a for a, tasks in corpora.user.items() if len(tasks) >= 5)
            account.traits["topic"] = "user:" + rng.choice(apps)

    def activity(self, account: Account, rng: random.Random) -> Iterator[list[Call]]:
        spec, world = self.spec, self.world
        ph = world.phrasings
        noise = spec.extra.probability("noise")
        source = TaskSource.parse(world.corpora, account.traits["topic"])
        p_active = rng.uniform(*spec.active_day_prob)
        rate = loguniform(rng, spec.requests_per_day)
        profiles = self.profiles(rng)

        def single(r: random.Random) -> Turn:
            task = source.draw(r)
            return Turn(ph.humanize(r, task.text, noise), task.answer_chars)

        def conversation(r: random.Random) -> list[Turn]:
            return [Turn.of(t) for t in source.conversation(r, ph.followups)]

        endpoint = self.roaming(rng, account, spec.extra.probability("roaming"))

        yield from self.human_days(
            rng, account, p_active, rate, single, conversation, profiles, endpoint_fn=endpoint
        )

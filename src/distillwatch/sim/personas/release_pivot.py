"""release_pivot (attack): reasoning-extraction prompts that move to the new model within
24 h of the campaign's first use of it (first use a few hours after release)."""

from __future__ import annotations

import random
from typing import Any

from distillwatch.sim.corpora import Task
from distillwatch.sim.personas.base import HOUR, Account, Turn, diverse_task, effort
from distillwatch.sim.personas.harvester import Harvester
from distillwatch.sim.spec import CampaignSpec


class ReleasePivot(Harvester):
    name = "release_pivot"

    def group_traits(
        self, rng: random.Random, campaign: CampaignSpec | None, count: int
    ) -> dict[str, Any]:
        group = super().group_traits(rng, campaign, count)
        x = self.spec.extra
        group["pivot_ts"] = (
            self.world.release_ts + rng.uniform(*x.range("pivot_delay_hours")) * HOUR
        )
        group["pivot_share"] = rng.uniform(*x.range("pivot_share"))
        return group

    def pick_model(self, rng: random.Random, account: Account, ts: float) -> str:
        group = account.traits["group"]
        since = ts - group["pivot_ts"]
        if since >= 0:
            share = group["pivot_share"] * min(1.0, 0.3 + 0.7 * since / (24 * HOUR))
            if rng.random() < share:
                return self.world.new_model
        return self.spec.models.pick(rng)

    def turn(self, rng: random.Random, account: Account, deck: list[Task]) -> Turn:
        ph = self.world.phrasings
        task = diverse_task(rng, self.world, deck, 0.5)
        if rng.random() < self.spec.extra.probability("extraction_share"):
            text = ph.extraction_prompt(rng, "en", task.text)
        else:
            text = rng.choice(ph.pivot_templates).format(task=task.text)
        return Turn(text, task.answer_chars, effort(rng, 3.0, 6.0))

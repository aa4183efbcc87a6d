"""paraphrase_multilingual (attack): every prompt wrapped in a freshly generated
paraphrase of a reasoning-extraction request (write out / reveal / translate / encode the
hidden reasoning) in one of eight languages."""

from __future__ import annotations

import random
from typing import Any

from distillwatch.sim.corpora import Task
from distillwatch.sim.personas.base import Account, Turn, diverse_task, effort
from distillwatch.sim.personas.harvester import Harvester


class ParaphraseMultilingual(Harvester):
    name = "paraphrase_multilingual"

    def customize(
        self, rng: random.Random, account: Account, group: dict[str, Any], index: int
    ) -> None:
        super().customize(rng, account, group, index)
        languages = self.spec.extra.weights("languages")
        account.traits["languages"] = [languages.pick(rng) for _ in range(rng.randint(1, 3))]

    def turn(self, rng: random.Random, account: Account, deck: list[Task]) -> Turn:
        task = diverse_task(rng, self.world, deck, 0.5)
        language = rng.choice(account.traits["languages"])
        text = self.world.phrasings.extraction_prompt(rng, language, task.text)
        return Turn(text, task.answer_chars, effort(rng, 3.0, 6.0))

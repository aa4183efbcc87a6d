"""casual_chat: people chatting on some days, in their local evening, multi-turn."""

from __future__ import annotations

import random
from collections.abc import Iterator

from distillwatch.sim.calls import Call
from distillwatch.sim.choice import chance, loguniform
from distillwatch.sim.personas.base import Account, Persona, Turn
from distillwatch.sim.sources import TaskSource

#: language a user of this country sometimes asks answers in
LANGUAGE_OF = {
    "DE": "de",
    "FR": "fr",
    "ES": "es",
    "MX": "es",
    "BR": "pt",
    "IT": "it",
    "JP": "ja",
    "TW": "zh",
    "SG": "zh",
}


class CasualChat(Persona):
    name = "casual_chat"

    def activity(self, account: Account, rng: random.Random) -> Iterator[list[Call]]:
        spec, world = self.spec, self.world
        ph, corpora = world.phrasings, world.corpora
        noise = spec.extra.probability("noise")
        lang_p = spec.extra.probability("language_request")
        step_p = spec.extra.probability("stepwise")
        language = LANGUAGE_OF.get(account.country)
        source = TaskSource.parse(corpora, spec.extra.raw("source"))
        p_active = rng.uniform(*spec.active_day_prob)
        rate = loguniform(rng, spec.requests_per_day)
        profiles = self.profiles(rng)

        def decorate(r: random.Random, text: str) -> str:
            text = ph.humanize(r, text, noise)
            if language and chance(r, lang_p):
                text = f"{text}\n{ph.language_request(r, language)}"
            elif chance(r, step_p):
                text = f"{text} {r.choice(ph.stepwise)}"
            return text

        def single(r: random.Random) -> Turn:
            task = source.draw(r)
            return Turn(decorate(r, task.text), task.answer_chars)

        def conversation(r: random.Random) -> list[Turn]:
            path = r.choice(corpora.conversations)
            turns = [Turn(decorate(r, t.text), t.answer_chars) for t in path]
            if chance(r, 0.3):
                turns.append(Turn(r.choice(ph.followups)))
            return turns

        endpoint = self.roaming(rng, account, spec.extra.probability("roaming"))

        yield from self.human_days(
            rng, account, p_active, rate, single, conversation, profiles, endpoint_fn=endpoint
        )

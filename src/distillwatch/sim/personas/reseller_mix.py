"""reseller_mix (attack): a reseller whose real customer traffic (like an aggregator's)
hides 20-40% harvesting traffic: wrapped diverse tasks asking for written-out reasoning,
high max_tokens, sent through a few of its keys round the clock."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace

from distillwatch.sim.calls import Call
from distillwatch.sim.choice import loguniform, randint_range
from distillwatch.sim.personas.aggregator import Aggregator
from distillwatch.sim.personas.base import (
    Account,
    ParamProfile,
    Turn,
    dealt_deck,
    diverse_task,
    effort,
    poisson_times,
)


class ResellerMix(Aggregator):
    name = "reseller_mix"

    def activity(self, account: Account, rng: random.Random) -> Iterator[list[Call]]:
        spec, world = self.spec, self.world
        x, ph = spec.extra, world.phrasings
        mix = x.weights("mix")
        rate = loguniform(rng, spec.requests_per_day)
        share = rng.uniform(*x.range("harvest_share"))
        n_keys = min(randint_range(rng, x.int_range("harvest_keys")), len(account.api_keys))
        harvest_keys = account.api_keys[:n_keys]
        models = x.weights("harvest_models")
        harvest = [
            replace(p, max_tokens=rng.choice(("high", "max")), tools=0, stream=False)
            for p in self.profiles(rng, (2, 3))
        ]
        deck = dealt_deck(rng, world)
        key_profiles: dict[str, ParamProfile] = {}
        for day in range(world.days):
            n = self.daily_count(rng, rate)
            n_harvest = round(n * share)
            calls: list[Call] = []
            while len(calls) < n - n_harvest:
                ts = self.local_time(rng, account, day, spec.profile)
                calls.extend(self.customer_calls(rng, account, ts, mix, key_profiles))
            t0 = world.day_start(day)
            for ts in poisson_times(rng, t0, t0 + 86400.0, n_harvest):
                task = diverse_task(rng, world, deck, 0.4)
                text = rng.choice(ph.reseller_wrappers).format(task=task.text)
                model = models.pick(rng)
                params = rng.choice(harvest).resolve(rng, world.models[model])
                calls.append(
                    self.make_call(
                        rng,
                        account,
                        ts,
                        model,
                        Turn(text, task.answer_chars, effort(rng)),
                        params,
                        api_key=rng.choice(harvest_keys),
                    )
                )
            yield calls

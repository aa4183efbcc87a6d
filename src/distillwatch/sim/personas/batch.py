"""batch_classifier: huge templated T0 jobs at temperature 0 with small max_tokens,
round the clock at a very regular pace, from cloud machines with several API keys."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from distillwatch.sim.calls import Call
from distillwatch.sim.choice import loguniform, randint_range
from distillwatch.sim.personas.base import Account, Persona, Turn, regular_times


class BatchClassifier(Persona):
    name = "batch_classifier"

    def customize(
        self, rng: random.Random, account: Account, group: dict[str, Any], index: int
    ) -> None:
        templates = self.world.corpora.t0_templates()
        k = randint_range(rng, self.spec.extra.int_range("templates"))
        account.traits["templates"] = rng.sample(templates, k)

    def activity(self, account: Account, rng: random.Random) -> Iterator[list[Call]]:
        spec, world = self.spec, self.world
        x, corpora = spec.extra, world.corpora
        templates: list[str] = account.traits["templates"]
        # one fixed configuration, model and system prompt per template (the job's code)
        jobs = {
            t: (self.profiles(rng, (1, 1))[0], spec.models.pick(rng), self.system_prompt(rng))
            for t in templates
        }
        rate = loguniform(rng, spec.requests_per_day)
        p_active = rng.uniform(*spec.active_day_prob)
        interval = loguniform(rng, x.range("interval_seconds"))
        jitter = x.number("jitter")
        for day in range(world.days):
            if rng.random() >= p_active:
                yield []
                continue
            calls: list[Call] = []
            n_jobs = randint_range(rng, x.int_range("jobs_per_day"))
            total = self.daily_count(rng, rate)
            for _ in range(n_jobs):
                template = rng.choice(templates)
                profile, model, system = jobs[template]
                key = rng.choice(account.api_keys)
                endpoint = rng.choice(account.endpoints)
                t0 = world.day_start(day) + rng.uniform(0, 20 * 3600)
                spec_model = world.models[model]
                for ts in regular_times(rng, t0, max(1, total // n_jobs), interval, jitter):
                    item = corpora.t0_item(rng, template)
                    calls.append(
                        self.make_call(
                            rng,
                            account,
                            ts,
                            model,
                            Turn.of(item),
                            profile.resolve(rng, spec_model),
                            endpoint=endpoint,
                            api_key=key,
                            system_prompt=system,
                            n_messages=2 if system else 1,
                        )
                    )
            yield calls

"""eval_researcher: re-runs one fixed benchmark (a subset of the self-instruct seed
tasks) several times, in bursts, with chain-of-thought instructions in some runs, high
max_tokens and sometimes logprobs or several samples. Looks like reasoning harvesting
except that the same prompts come back run after run."""

from __future__ import annotations

import random
from collections.abc import Iterator

from distillwatch.sim.calls import Call
from distillwatch.sim.choice import chance, loguniform, randint_range
from distillwatch.sim.personas.base import Account, Persona, Turn, effort


class EvalResearcher(Persona):
    name = "eval_researcher"

    def activity(self, account: Account, rng: random.Random) -> Iterator[list[Call]]:
        spec, world = self.spec, self.world
        x, ph = spec.extra, world.phrasings
        size = randint_range(rng, x.int_range("benchmark_size"))
        seed = world.corpora.seed
        benchmark = rng.sample(seed, min(size, len(seed)))
        fmt = rng.choice(ph.eval_formats)
        early = chance(rng, x.probability("early_adopter_share"))
        n_runs = randint_range(rng, x.int_range("runs"))
        run_days = sorted(rng.randrange(world.days) for _ in range(n_runs))
        by_day: dict[int, list[Call]] = {}
        for day in run_days:
            ts = self.local_time(rng, account, day, spec.profile)
            model = spec.models.pick(rng)
            if early and ts >= world.release_ts and rng.random() < 0.6:
                model = world.new_model
            profile = self.profiles(rng, (1, 1))[0]
            cot = rng.choice(ph.eval_cot) if chance(rng, x.probability("cot_run_share")) else ""
            system = self.system_prompt(rng)
            gap = 1.0 / loguniform(rng, x.range("requests_per_second"))
            endpoint = rng.choice(account.endpoints)
            key = rng.choice(account.api_keys)
            spec_model = world.models[model]
            calls = by_day.setdefault(day, [])
            for task in benchmark:
                text = fmt.format(task=task.text)
                turn = Turn(
                    f"{text} {cot}" if cot else text,
                    task.answer_chars,
                    effort(rng, 2.0, 4.0) if cot else 1.0,
                )
                calls.append(
                    self.make_call(
                        rng,
                        account,
                        ts,
                        model,
                        turn,
                        profile.resolve(rng, spec_model),
                        endpoint=endpoint,
                        api_key=key,
                        system_prompt=system,
                        n_messages=2 if system else 1,
                    )
                )
                ts += gap * rng.uniform(0.5, 1.5)
        for day in range(world.days):
            yield by_day.get(day, [])

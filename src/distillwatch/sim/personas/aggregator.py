"""aggregator: an API reseller forwarding many customers' traffic of every kind (chat,
development, batch jobs, chain-of-thought, evals, homework) through many keys, round the
clock, from a few servers. Hard negative for coverage-based detectors."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from distillwatch.sim.calls import Call
from distillwatch.sim.choice import Weighted, chance, loguniform, randint_range
from distillwatch.sim.network import Endpoint
from distillwatch.sim.personas.base import (
    Account,
    ParamProfile,
    Persona,
    Turn,
    effort,
    sample_profile,
)


class Aggregator(Persona):
    name = "aggregator"

    def customize(
        self, rng: random.Random, account: Account, group: dict[str, Any], index: int
    ) -> None:
        net, x = self.world.network, self.spec.extra
        servers: list[Endpoint] = []
        for _ in range(rng.randint(1, 2)):
            subnet = net.subnet(
                rng, net.pick_asn(rng, "hosting"), chance(rng, self.spec.ipv6_share)
            )
            servers.extend(
                subnet.endpoint(rng) for _ in range(randint_range(rng, x.int_range("servers")))
            )
        account.endpoints = tuple(servers)
        account.traits["batch_templates"] = rng.sample(self.world.corpora.t0_templates(), 4)

    def customer_calls(
        self,
        rng: random.Random,
        account: Account,
        ts: float,
        mix: Weighted[str],
        key_profiles: dict[str, ParamProfile],
    ) -> list[Call]:
        """One customer request (a whole conversation for chat customers)."""
        world, ph, corpora = self.world, self.world.phrasings, self.world.corpora
        key = rng.choice(account.api_keys)
        profile = key_profiles.get(key)
        if profile is None:
            profile = key_profiles[key] = sample_profile(rng, self.spec)
        new_share = self.spec.extra.probability("new_model_share")
        model = self.model(rng, ts, new_share)
        kind = mix.pick(rng)
        spec_model = world.models[model]
        if kind == "chat":
            if rng.random() < 0.4:
                turns = [Turn.of(t) for t in rng.choice(corpora.conversations)]
            else:
                turns = [Turn.of(rng.choice(corpora.lottery))]
            return self.session(rng, account, ts, turns, model, profile, self.system_prompt(rng))
        if kind == "batch":
            template = rng.choice(account.traits["batch_templates"])
            turn = Turn.of(corpora.t0_item(rng, template))
            params = profile.resolve(rng, spec_model)
            params.temperature, params.max_tokens = 0.0, rng.choice((16, 32, 64))
            params.stream = False
            return [self.make_call(rng, account, ts, model, turn, params, api_key=key)]
        task = rng.choice(corpora.seed if kind == "eval" else corpora.singles())
        if kind == "cot":
            turn = Turn(f"{task.text}\n\n{rng.choice(ph.eval_cot)}", task.answer_chars, effort(rng))
        elif kind == "eval":
            text = rng.choice(ph.eval_formats).format(task=task.text)
            turn = Turn(text, task.answer_chars)
        elif kind == "homework":
            turn = Turn(f"{task.text}\n{rng.choice(ph.stepwise)}", task.answer_chars, 3.0)
        else:
            turn = Turn.of(task)
        system = self.system_prompt(rng)
        return [
            self.make_call(
                rng,
                account,
                ts,
                model,
                turn,
                profile.resolve(rng, spec_model),
                api_key=key,
                system_prompt=system,
                n_messages=2 if system else 1,
                conversation_id=self.conversation_id(rng, account),
            )
        ]

    def activity(self, account: Account, rng: random.Random) -> Iterator[list[Call]]:
        spec, world = self.spec, self.world
        mix = spec.extra.weights("mix")
        rate = loguniform(rng, spec.requests_per_day)
        key_profiles: dict[str, ParamProfile] = {}
        for day in range(world.days):
            n = self.daily_count(rng, rate)
            calls: list[Call] = []
            while len(calls) < n:
                ts = self.local_time(rng, account, day, spec.profile)
                calls.extend(self.customer_calls(rng, account, ts, mix, key_profiles))
            yield calls

"""app_backend: one product per account with one system prompt; its end users' prompts
arrive smoothly all day from a few servers; multi-turn conversations per end user."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from distillwatch.sim.calls import Call
from distillwatch.sim.choice import chance, loguniform, randint_range
from distillwatch.sim.personas.base import Account, Persona, Turn, effort
from distillwatch.sim.phrasing import AppSpec
from distillwatch.sim.sources import TaskSource


class AppBackend(Persona):
    name = "app_backend"

    def customize(
        self, rng: random.Random, account: Account, group: dict[str, Any], index: int
    ) -> None:
        ph, net = self.world.phrasings, self.world.network
        app = ph.apps[index % len(ph.apps)]
        brand = ph.brands[index % len(ph.brands)]
        account.traits["app"] = app
        account.traits["system"] = app.system.replace("{brand}", brand)
        info = net.pick_asn(rng, "hosting")
        subnet = net.subnet(rng, info, v6=chance(rng, self.spec.ipv6_share))
        n_servers = randint_range(rng, self.spec.extra.int_range("servers"))
        account.endpoints = tuple(subnet.endpoint(rng) for _ in range(n_servers))
        account.sends_conversation_ids = True

    def activity(self, account: Account, rng: random.Random) -> Iterator[list[Call]]:
        spec, world = self.spec, self.world
        app: AppSpec = account.traits["app"]
        system: str = account.traits["system"]
        source = TaskSource.parse(world.corpora, app.source)
        followups = world.phrasings.followups
        model = spec.models.pick(rng)
        profile = self.profiles(rng, (1, 1))[0]
        rate = loguniform(rng, spec.requests_per_day)
        factor = 2.5 if app.kind == "tutor" else 1.0

        for day in range(world.days):
            n = self.daily_count(rng, rate)
            calls: list[Call] = []
            while len(calls) < n:
                ts = self.local_time(rng, account, day, spec.profile)
                if chance(rng, app.multi_turn):
                    tasks = source.conversation(rng, followups)
                else:
                    tasks = [source.draw(rng)]
                turns = [Turn.of(t, effort(rng, 2.0, 3.5) if factor > 1 else 1.0) for t in tasks]
                calls.extend(
                    self.session(rng, account, ts, turns[: n - len(calls)], model, profile, system)
                )
            yield calls

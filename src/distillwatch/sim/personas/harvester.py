"""Shared shape of automated harvesting campaigns: campaign-wide infrastructure (a few
/24s in hosting networks, one client library, a couple of script configurations),
round-the-clock request times, one prompt builder per persona."""

from __future__ import annotations

import random
from abc import abstractmethod
from collections.abc import Iterator
from typing import Any

from distillwatch.sim.calls import Call
from distillwatch.sim.choice import chance, loguniform, randint_range
from distillwatch.sim.corpora import Task
from distillwatch.sim.network import Subnet
from distillwatch.sim.personas.base import (
    Account,
    ParamProfile,
    Persona,
    Turn,
    dealt_deck,
    poisson_times,
)
from distillwatch.sim.spec import CampaignSpec


class Harvester(Persona):
    """Base of the automated attack personas; subclasses implement :meth:`turn`."""

    def group_traits(
        self, rng: random.Random, campaign: CampaignSpec | None, count: int
    ) -> dict[str, Any]:
        spec, net = self.spec, self.world.network
        subnets: list[Subnet] = []
        if "prefixes" in spec.extra.table:
            n = randint_range(rng, spec.extra.int_range("prefixes"))
            asns = [net.pick_asn(rng, "hosting") for _ in range(rng.randint(1, 3))]
            subnets = [
                net.subnet(rng, rng.choice(asns), chance(rng, spec.ipv6_share)) for _ in range(n)
            ]
        family = spec.user_agents.pick(rng)
        agents = sorted({net.pick_user_agent(rng, family) for _ in range(2)})
        index = next((i for i, c in enumerate(spec.campaigns) if campaign and c == campaign), 0)
        return {
            "subnets": subnets,
            "agents": agents,
            "profiles": self.profiles(rng, (2, 3)),
            "index": index,
        }

    def customize(
        self, rng: random.Random, account: Account, group: dict[str, Any], index: int
    ) -> None:
        subnets: list[Subnet] = group["subnets"]
        if subnets:
            account.endpoints = tuple(
                rng.choice(subnets).endpoint(rng) for _ in range(rng.randint(1, 3))
            )
        account.user_agents = (rng.choice(group["agents"]),)

    @abstractmethod
    def turn(self, rng: random.Random, account: Account, deck: list[Task]) -> Turn:
        """The next prompt this account sends."""

    def pick_model(self, rng: random.Random, account: Account, ts: float) -> str:
        return self.spec.models.pick(rng)

    def times(self, rng: random.Random, account: Account, day: int, n: int) -> list[float]:
        t0 = self.world.day_start(day)
        return poisson_times(rng, t0, t0 + 86400.0, n)

    def activity(self, account: Account, rng: random.Random) -> Iterator[list[Call]]:
        spec, world = self.spec, self.world
        group = account.traits["group"]
        profiles: list[ParamProfile] = group["profiles"]
        p_active = rng.uniform(*spec.active_day_prob)
        rate = loguniform(rng, spec.requests_per_day)
        deck = dealt_deck(rng, world)
        for day in range(world.days):
            if not chance(rng, p_active):
                yield []
                continue
            calls = []
            for ts in self.times(rng, account, day, self.daily_count(rng, rate)):
                model = self.pick_model(rng, account, ts)
                system = self.system_prompt(rng)
                params = rng.choice(profiles).resolve(rng, world.models[model])
                calls.append(
                    self.make_call(
                        rng,
                        account,
                        ts,
                        model,
                        self.turn(rng, account, deck),
                        params,
                        system_prompt=system,
                        n_messages=2 if system else 1,
                        conversation_id=self.conversation_id(rng, account),
                    )
                )
            yield calls

"""hydra (attack): a large fleet of accounts each below per-account limits (volume of an
active person), behind rotating residential proxies of the claimed country, active in
that country's evening, with common browser user agents, created in bursts, cards shared
by groups of 4-12; paraphrased step-by-step wrappers in several languages and some
human-looking multi-turn filler."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from distillwatch.sim.calls import Call
from distillwatch.sim.choice import chance, loguniform
from distillwatch.sim.network import Endpoint
from distillwatch.sim.personas.base import Account, Persona, Turn, dealt_deck, diverse_task, effort
from distillwatch.sim.spec import CampaignSpec


class Hydra(Persona):
    name = "hydra"

    def group_traits(
        self, rng: random.Random, campaign: CampaignSpec | None, count: int
    ) -> dict[str, Any]:
        net = self.world.network
        agents = sorted({net.pick_user_agent(rng, "browser") for _ in range(5)})
        return {"agents": agents}

    def customize(
        self, rng: random.Random, account: Account, group: dict[str, Any], index: int
    ) -> None:
        x, net = self.spec.extra, self.world.network
        account.country = x.weights("countries").pick(rng)
        account.utc_offset = rng.choice(net.offsets(account.country))
        account.endpoints = self.endpoints(rng, "residential", account.country)
        account.user_agents = (rng.choice(group["agents"]),)
        account.traits["language"] = x.weights("languages").pick(rng)

    def proxy_exit(self, rng: random.Random, account: Account) -> Endpoint:
        """A fresh residential exit of the proxy network in the account's country."""
        net = self.world.network
        kind = "mobile" if rng.random() < 0.1 else "residential"
        info = net.pick_asn(rng, kind, account.country)
        return net.subnet(rng, info, chance(rng, self.spec.ipv6_share)).endpoint(rng)

    def activity(self, account: Account, rng: random.Random) -> Iterator[list[Call]]:
        spec, world = self.spec, self.world
        ph, corpora = world.phrasings, world.corpora
        noise = spec.extra.probability("noise")
        language: str = account.traits["language"]
        deck = dealt_deck(rng, world)
        p_active = rng.uniform(*spec.active_day_prob)
        rate = loguniform(rng, spec.requests_per_day)
        profiles = self.profiles(rng)

        def single(r: random.Random) -> Turn:
            task = diverse_task(r, world, deck, 0.5)
            lang = language if r.random() < 0.8 else r.choice(sorted(ph.hydra))
            text = ph.humanize(r, ph.hydra_prompt(r, lang, task.text), noise)
            return Turn(text, task.answer_chars, effort(r, 2.5, 5.0))

        def filler(r: random.Random) -> list[Turn]:
            return [Turn.of(t) for t in r.choice(corpora.conversations)]

        def endpoint(r: random.Random) -> Endpoint:
            return self.proxy_exit(r, account)

        yield from self.human_days(
            rng, account, p_active, rate, single, filler, profiles, endpoint_fn=endpoint
        )

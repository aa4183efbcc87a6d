"""campus_student: students of two universities, each campus behind a few NAT addresses
in one /24 of the university's AS, accounts created in bursts at term start (and a late
burst for a new course), homework prompts, often "explain step by step"."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from distillwatch.errors import ConfigError
from distillwatch.sim.calls import Call
from distillwatch.sim.choice import chance, loguniform, randint_range
from distillwatch.sim.network import Endpoint
from distillwatch.sim.personas.base import HOUR, Account, Persona, Turn
from distillwatch.sim.sources import TaskSource
from distillwatch.sim.spec import CampaignSpec
from distillwatch.sim.timefmt import DAY


class CampusStudent(Persona):
    name = "campus_student"

    def group_traits(
        self, rng: random.Random, campaign: CampaignSpec | None, count: int
    ) -> dict[str, Any]:
        x, net, w = self.spec.extra, self.world.network, self.world
        raw = x.raw("campuses")
        if not isinstance(raw, list) or not raw:
            raise ConfigError("personas.toml campus_student.extra.campuses must be a list")
        campuses = []
        for entry in raw:
            asn, country, offset = int(entry[0]), str(entry[1]), float(entry[2])
            subnet = net.subnet(rng, net.asn(asn), v6=False)
            nat = tuple(
                subnet.endpoint(rng) for _ in range(randint_range(rng, x.int_range("nat_ips")))
            )
            term = w.start - rng.uniform(*self.spec.created_days_before) * DAY
            late = w.start - rng.uniform(*x.range("late_burst_days_before")) * DAY
            campuses.append(
                {"country": country, "offset": offset, "nat": nat, "term": term, "late": late}
            )
        return {"campuses": campuses}

    def customize(
        self, rng: random.Random, account: Account, group: dict[str, Any], index: int
    ) -> None:
        x, net = self.spec.extra, self.world.network
        campus = group["campuses"][index % len(group["campuses"])]
        account.country, account.utc_offset = campus["country"], campus["offset"]
        account.endpoints = campus["nat"]
        if chance(rng, x.probability("late_burst_share")):
            account.created_at = campus["late"] + rng.uniform(0, 6 * HOUR)
        else:
            account.created_at = campus["term"] + rng.uniform(0, x.number("term_burst_days") * DAY)
        if rng.random() < 0.5:
            account.payment_fingerprint = None  # education credits, no card
        home = net.subnet(rng, net.pick_asn(rng, "residential", campus["country"]), v6=False)
        account.traits["home"] = (home.endpoint(rng),)

    def activity(self, account: Account, rng: random.Random) -> Iterator[list[Call]]:
        spec, world = self.spec, self.world
        x, ph, corpora = spec.extra, world.phrasings, world.corpora
        noise, step_p, off = (x.probability(k) for k in ("noise", "stepwise", "off_campus"))
        source = TaskSource.parse(corpora, x.raw("source"))
        home: tuple[Endpoint, ...] = account.traits["home"]
        p_active = rng.uniform(*spec.active_day_prob)
        rate = loguniform(rng, spec.requests_per_day)
        profiles = self.profiles(rng)

        def single(r: random.Random) -> Turn:
            task = source.draw(r)
            text = ph.humanize(r, task.text, noise)
            if chance(r, step_p):
                return Turn(f"{text}\n{r.choice(ph.stepwise)}", task.answer_chars, 3.0)
            return Turn(text, task.answer_chars)

        def conversation(r: random.Random) -> list[Turn]:
            return [single(r), *(Turn(r.choice(ph.followups)) for _ in range(r.randint(1, 3)))]

        def endpoint(r: random.Random) -> Endpoint:
            return r.choice(home) if r.random() < off else r.choice(account.endpoints)

        yield from self.human_days(
            rng, account, p_active, rate, single, conversation, profiles, endpoint_fn=endpoint
        )

"""developer: work-hours bursts of mixed prompts from SDKs, some from cloud machines;
some work in small startup teams (shared org and card); early adopters try the new model
within hours of its release."""

from __future__ import annotations

import random
from collections.abc import Iterator

from distillwatch.sim.calls import Call
from distillwatch.sim.choice import chance, hex_id, loguniform, randint_range
from distillwatch.sim.personas.base import HOUR, Account, Persona, Turn
from distillwatch.sim.spec import CampaignSpec


class Developer(Persona):
    name = "developer"

    def create_accounts(
        self, rng: random.Random, count: int, campaign: CampaignSpec | None
    ) -> list[Account]:
        accounts = super().create_accounts(rng, count, campaign)
        x = self.spec.extra
        team_share, team_size = x.probability("team_share"), x.int_range("team_size")
        order = list(range(len(accounts)))
        rng.shuffle(order)
        i, in_teams = 0, int(len(accounts) * team_share)
        while i < in_teams:
            members = [accounts[k] for k in order[i : i + randint_range(rng, team_size)]]
            org, card = "org_" + hex_id(rng, 12), "card_" + hex_id(rng, 20)
            office = members[0].endpoints[:1]
            # some teams pay for members' personal accounts instead of sharing an org
            shared_org = rng.random() < x.probability("team_shared_org")
            for member in members:
                member.payment_fingerprint = card
                member.endpoints = office + member.endpoints
                if shared_org:
                    member.org_id, member.signup_channel = org, "startup_program"
            i += len(members)
        hosting = {a.asn for a in self.world.network.asns if a.kind == "hosting"}
        cloud_share = x.probability("cloud_share")
        for account in accounts:
            if chance(rng, cloud_share) and account.endpoints[0].asn not in hosting:
                account.traits["cloud"] = self.endpoints(rng, "hosting", account.country)
        return accounts

    def activity(self, account: Account, rng: random.Random) -> Iterator[list[Call]]:
        spec, world = self.spec, self.world
        x, ph, corpora = spec.extra, world.phrasings, world.corpora
        meta_p, grade_p, step_p = (x.probability(k) for k in ("meta_prompt", "grading", "stepwise"))
        burst = x.int_range("burst")
        weekend = x.number("weekend_factor")
        p_active = rng.uniform(*spec.active_day_prob)
        rate = loguniform(rng, spec.requests_per_day)
        profiles = self.profiles(rng, (1, 3))
        singles = corpora.singles()
        templates = rng.sample(corpora.t0_templates(), 2)
        adopt_ts = float("inf")
        if chance(rng, x.probability("early_adopter_share")):
            adopt_ts = world.release_ts + rng.uniform(0.3, 8.0) * HOUR
        new_share = x.probability("new_model_share")
        cloud = account.traits.get("cloud", ())

        def prompt(r: random.Random) -> Turn:
            roll = r.random()
            if roll < meta_p:
                task = r.choice(singles)
                text = r.choice(ph.dev_generate).format(task=task.text, k=r.choice((5, 10, 20)))
                return Turn(text, 1200, 2.0)
            if roll < meta_p + grade_p:
                pair = r.choice(corpora.pairs)
                text = r.choice(ph.dev_grade).format(question=pair.question, answer=pair.answer)
                return Turn(text, 150)
            if roll < meta_p + grade_p + step_p:
                task = r.choice(singles)
                return Turn(f"{task.text}\n\n{r.choice(ph.stepwise)}", task.answer_chars, 3.0)
            if roll < 0.75:
                return Turn.of(r.choice(singles))
            return Turn.of(corpora.t0_item(r, r.choice(templates)))

        for day in range(world.days):
            factor = weekend if world.weekday(day) >= 5 else 1.0
            if not chance(rng, p_active * factor):
                yield []
                continue
            n = self.daily_count(rng, rate)
            calls: list[Call] = []
            while len(calls) < n:
                ts = self.local_time(rng, account, day, spec.profile)
                model = self.model(rng, ts)
                if ts >= adopt_ts and chance(rng, new_share):
                    model = world.new_model
                profile = rng.choice(profiles)
                endpoint = rng.choice(cloud) if cloud and rng.random() < 0.4 else None
                if chance(rng, spec.multi_turn):
                    path = [Turn.of(t) for t in rng.choice(corpora.conversations)]
                    calls.extend(
                        self.session(
                            rng,
                            account,
                            ts,
                            path,
                            model,
                            profile,
                            self.system_prompt(rng),
                            endpoint=endpoint,
                        )
                    )
                    continue
                system = self.system_prompt(rng)
                for _ in range(min(randint_range(rng, burst), n - len(calls))):
                    calls.extend(
                        self.session(
                            rng,
                            account,
                            ts,
                            [prompt(rng)],
                            model,
                            profile,
                            system,
                            endpoint=endpoint,
                        )
                    )
                    ts += rng.uniform(2.0, 90.0)
            yield calls

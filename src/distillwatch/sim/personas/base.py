"""What every persona shares: accounts with plausible identities, parameter profiles,
and the building blocks of human and automated traffic.

A persona is a class with two duties: :meth:`Persona.create_accounts` (identities, with
campaign-level sharing for attacks) and :meth:`Persona.activity`, a generator that
yields, for each simulated day, the calls whose session starts on that (local) day.
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from distillwatch.sim.calls import Call, Params
from distillwatch.sim.choice import chance, hex_id, loguniform, randint_range
from distillwatch.sim.corpora import Task
from distillwatch.sim.models import ModelSpec
from distillwatch.sim.network import Endpoint
from distillwatch.sim.spec import CampaignSpec, PersonaSpec, TokenChoice
from distillwatch.sim.timefmt import DAY, rfc3339_ms
from distillwatch.sim.world import World

HOUR = 3600.0


@dataclass
class Account:
    """One simulated account: identity fields, label and persona state."""

    account_id: str
    persona: str
    label: str
    campaign_id: str | None
    actor_id: str | None
    org_id: str
    api_keys: tuple[str, ...]
    payment_fingerprint: str | None
    signup_channel: str
    created_at: float
    country: str
    utc_offset: float
    endpoints: tuple[Endpoint, ...]
    user_agents: tuple[str, ...]
    sends_conversation_ids: bool
    seed: str
    traits: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        """The account-level event fields."""
        return {
            "account_id": self.account_id,
            "org_id": self.org_id,
            "payment_fingerprint": self.payment_fingerprint,
            "signup_channel": self.signup_channel,
            "account_created_at": rfc3339_ms(int(self.created_at * 1000)),
        }


@dataclass(frozen=True)
class Turn:
    """One user message to send: text, reference answer length, output-length factor."""

    text: str
    answer_chars: int = 0
    effort: float = 1.0

    @classmethod
    def of(cls, task: Task, effort: float = 1.0) -> Turn:
        return cls(task.text, task.answer_chars, effort)


@dataclass(frozen=True)
class ParamProfile:
    """A client's settings; max_tokens is resolved against the model at call time."""

    max_tokens: TokenChoice
    temperature: float | None
    top_p: float | None
    n: int
    logprobs: bool
    top_logprobs: int | None
    stream: bool
    tools: int
    #: which of the model's high_limits this client uses for "high"
    high_index: int = 0

    def resolve(self, rng: random.Random, model: ModelSpec) -> Params:
        mt = self.max_tokens
        limit: int | None
        if mt is None:
            limit = None
        elif mt == "max":
            limit = model.max_output_tokens
        elif mt == "high":
            limit = model.high_limits[self.high_index % len(model.high_limits)]
        else:
            limit = min(int(mt), model.max_output_tokens)
        return Params(
            max_tokens=limit,
            temperature=self.temperature,
            top_p=self.top_p,
            n=self.n,
            logprobs=self.logprobs,
            top_logprobs=self.top_logprobs if self.logprobs else None,
            stream=self.stream,
            tools=self.tools,
        )


def sample_profile(rng: random.Random, spec: PersonaSpec) -> ParamProfile:
    """One client configuration drawn from the persona's parameter weights."""
    logprobs = chance(rng, spec.logprobs)
    return ParamProfile(
        max_tokens=spec.max_tokens.pick(rng),
        temperature=spec.temperature.pick(rng),
        top_p=spec.top_p.pick(rng),
        n=spec.n.pick(rng),
        logprobs=logprobs,
        top_logprobs=spec.top_logprobs.pick(rng) if logprobs else None,
        stream=chance(rng, spec.stream),
        tools=spec.tools.pick(rng),
        high_index=rng.randrange(6),
    )


class Persona(ABC):
    """Base of every persona; subclasses set ``name`` and implement :meth:`activity`."""

    name: ClassVar[str]

    def __init__(self, spec: PersonaSpec, world: World) -> None:
        self.spec = spec
        self.world = world

    # ---- accounts -------------------------------------------------------------------
    def create_accounts(
        self, rng: random.Random, count: int, campaign: CampaignSpec | None
    ) -> list[Account]:
        """*count* accounts (of one campaign for attack personas)."""
        group = self.group_traits(rng, campaign, count)
        created = self.creation_times(rng, count)
        cards = self.cards(rng, count)
        accounts = []
        for i in range(count):
            account = self.base_account(rng, campaign, created[i], cards[i])
            account.traits["group"] = group
            self.customize(rng, account, group, i)
            accounts.append(account)
        return accounts

    def group_traits(
        self, rng: random.Random, campaign: CampaignSpec | None, count: int
    ) -> dict[str, Any]:
        """State shared by the accounts created together (a campaign's infrastructure)."""
        return {}

    def customize(  # noqa: B027 (optional hook: the default keeps the generic identity)
        self, rng: random.Random, account: Account, group: dict[str, Any], index: int
    ) -> None:
        """Adjust one new account (persona-specific identity and state)."""

    def base_account(
        self,
        rng: random.Random,
        campaign: CampaignSpec | None,
        created_at: float,
        card: str | None,
    ) -> Account:
        spec, net = self.spec, self.world.network
        country = net.country_choice.pick(rng)
        kind = spec.network.pick(rng)
        family = spec.user_agents.pick(rng)
        agents = {net.pick_user_agent(rng, family) for _ in range(rng.randint(1, 2))}
        return Account(
            account_id="acct_" + hex_id(rng, 16),
            persona=self.name,
            label=spec.label,
            campaign_id=campaign.campaign_id if campaign else None,
            actor_id=campaign.actor_id if campaign else None,
            org_id="org_" + hex_id(rng, 12),
            api_keys=tuple(
                "key_" + hex_id(rng, 16) for _ in range(randint_range(rng, spec.api_keys))
            ),
            payment_fingerprint=card,
            signup_channel=spec.signup_channel.pick(rng),
            created_at=created_at,
            country=country,
            utc_offset=rng.choice(net.offsets(country)),
            endpoints=self.endpoints(rng, kind, country),
            user_agents=tuple(sorted(agents)),
            sends_conversation_ids=chance(rng, spec.conversation_ids),
            seed=f"{self.world.seed}/{self.name}/{hex_id(rng, 16)}",
        )

    def endpoints(self, rng: random.Random, kind: str, country: str) -> tuple[Endpoint, ...]:
        """The addresses an account usually calls from."""
        net = self.world.network
        v6 = chance(rng, self.spec.ipv6_share)
        if kind in ("residential", "mobile"):
            subnet = net.subnet(rng, net.pick_asn(rng, kind, country), v6)
            return tuple(subnet.endpoint(rng) for _ in range(rng.randint(1, 3)))
        if kind == "university":
            subnet = net.subnet(rng, net.pick_asn(rng, kind, country), v6)
            return (subnet.endpoint(rng),)
        out: list[Endpoint] = []
        for _ in range(rng.randint(1, 2)):
            subnet = net.subnet(rng, net.pick_asn(rng, "hosting"), v6)
            out.extend(subnet.endpoint(rng) for _ in range(rng.randint(1, 2)))
        return tuple(out)

    def roaming_endpoint(self, rng: random.Random, account: Account) -> Endpoint:
        """A fresh address on a phone or another access network of the account's country."""
        net = self.world.network
        kind = "mobile" if rng.random() < 0.6 else "residential"
        info = net.pick_asn(rng, kind, account.country)
        return net.subnet(rng, info, chance(rng, self.spec.ipv6_share)).endpoint(rng)

    def creation_times(self, rng: random.Random, count: int) -> list[float]:
        spec, w = self.spec, self.world
        lo, hi = spec.bursts
        if hi > 0:
            centers = [
                w.start - rng.uniform(*spec.created_days_before) * DAY
                for _ in range(randint_range(rng, (max(1, lo), hi)))
            ]
            latest = w.end - 1.5 * DAY
            return [
                min(rng.choice(centers), latest) + rng.uniform(0, 5 * HOUR) for _ in range(count)
            ]
        out = []
        for _ in range(count):
            if chance(rng, spec.fresh_share):
                out.append(rng.uniform(w.start - 3 * DAY, w.end - DAY))
            else:
                out.append(w.start - loguniform(rng, spec.created_days_before) * DAY)
        return out

    def cards(self, rng: random.Random, count: int) -> list[str | None]:
        """Payment cards; a share of accounts come in groups sharing one card."""
        out: list[str | None] = []
        while len(out) < count:
            size = 1
            if chance(rng, self.spec.card_share):
                size = randint_range(rng, self.spec.card_size)
            out.extend(["card_" + hex_id(rng, 20)] * min(size, count - len(out)))
        rng.shuffle(out)
        return out

    # ---- traffic ----------------------------------------------------------------------
    @abstractmethod
    def activity(self, account: Account, rng: random.Random) -> Iterator[list[Call]]:
        """One list of calls per simulated day, in day order."""

    def profiles(self, rng: random.Random, k: tuple[int, int] = (1, 2)) -> list[ParamProfile]:
        return [sample_profile(rng, self.spec) for _ in range(randint_range(rng, k))]

    def model(self, rng: random.Random, ts: float, new_share: float = 0.0) -> str:
        """A model for a call at *ts*: the persona's mix, or the new model once released."""
        if new_share > 0 and ts >= self.world.release_ts and rng.random() < new_share:
            return self.world.new_model
        return self.spec.models.pick(rng)

    def conversation_id(self, rng: random.Random, account: Account) -> str | None:
        return "conv_" + hex_id(rng, 16) if account.sends_conversation_ids else None

    def system_prompt(self, rng: random.Random) -> str | None:
        if chance(rng, self.spec.system_prompt):
            return rng.choice(self.world.phrasings.system_prompts)
        return None

    @staticmethod
    def daily_count(rng: random.Random, rate: float) -> int:
        return max(1, round(rate * rng.lognormvariate(0.0, 0.35)))

    def local_time(self, rng: random.Random, account: Account, day: int, profile: str) -> float:
        hour = self.world.hours[profile].pick(rng)
        return self.world.day_start(day) + (hour - account.utc_offset) * HOUR + rng.random() * HOUR

    def make_call(
        self,
        rng: random.Random,
        account: Account,
        ts: float,
        model: str,
        turn: Turn,
        params: Params,
        **kwargs: Any,
    ) -> Call:
        endpoint = kwargs.pop("endpoint", None) or rng.choice(account.endpoints)
        agent = kwargs.pop("user_agent", None) or rng.choice(account.user_agents)
        key = kwargs.pop("api_key", None) or rng.choice(account.api_keys)
        return Call(
            ts=ts,
            model=model,
            prompt=turn.text,
            endpoint=endpoint,
            user_agent=agent,
            api_key=key,
            params=params,
            answer_chars=turn.answer_chars,
            effort=turn.effort,
            **kwargs,
        )

    def session(
        self,
        rng: random.Random,
        account: Account,
        ts: float,
        turns: list[Turn],
        model: str,
        profile: ParamProfile,
        system: str | None = None,
        gap: tuple[float, float] = (25.0, 240.0),
        endpoint: Endpoint | None = None,
    ) -> list[Call]:
        """The turns of one conversation, sent one after another by one client."""
        spec = self.world.models[model]
        endpoint = endpoint or rng.choice(account.endpoints)
        agent = rng.choice(account.user_agents)
        key = rng.choice(account.api_keys)
        conv = self.conversation_id(rng, account)
        calls, history = [], 0
        for i, turn in enumerate(turns):
            calls.append(
                self.make_call(
                    rng,
                    account,
                    ts,
                    model,
                    turn,
                    profile.resolve(rng, spec),
                    endpoint=endpoint,
                    user_agent=agent,
                    api_key=key,
                    system_prompt=system,
                    conversation_id=conv,
                    n_messages=2 * i + 1 + (1 if system else 0),
                    history_chars=history,
                )
            )
            history += len(turn.text) + (turn.answer_chars or 900)
            ts += rng.uniform(*gap)
        return calls

    def roaming(
        self, rng: random.Random, account: Account, probability: float
    ) -> Callable[[random.Random], Endpoint]:
        """Endpoint picker of a person who sometimes (40% of sessions) connects from
        elsewhere; whether the person roams at all is drawn once, with ``probability``."""
        roams = chance(rng, probability)

        def endpoint(r: random.Random) -> Endpoint:
            if roams and r.random() < 0.4:
                return self.roaming_endpoint(r, account)
            return r.choice(account.endpoints)

        return endpoint

    def human_days(
        self,
        rng: random.Random,
        account: Account,
        p_active: float,
        rate: float,
        single: Callable[[random.Random], Turn],
        conversation: Callable[[random.Random], list[Turn]],
        profiles: list[ParamProfile],
        endpoint_fn: Callable[[random.Random], Endpoint] | None = None,
    ) -> Iterator[list[Call]]:
        """Every day of the window: a :meth:`human_day` with probability ``p_active``
        (``rate`` requests on average), else nothing."""
        for day in range(self.world.days):
            if chance(rng, p_active):
                n = self.daily_count(rng, rate)
                yield self.human_day(
                    rng,
                    account,
                    day,
                    n,
                    single,
                    conversation,
                    profiles,
                    self.spec.multi_turn,
                    endpoint_fn=endpoint_fn,
                )
            else:
                yield []

    def human_day(
        self,
        rng: random.Random,
        account: Account,
        day: int,
        n: int,
        single: Callable[[random.Random], Turn],
        conversation: Callable[[random.Random], list[Turn]],
        profiles: list[ParamProfile],
        multi_turn: float,
        new_share: float = 0.0,
        endpoint_fn: Callable[[random.Random], Endpoint] | None = None,
    ) -> list[Call]:
        """A person's day: sessions at local times of the persona's hourly profile, each
        either a multi-turn conversation or one to three separate prompts."""
        calls: list[Call] = []
        while len(calls) < n:
            ts = self.local_time(rng, account, day, self.spec.profile)
            model = self.model(rng, ts, new_share)
            profile = rng.choice(profiles)
            endpoint = endpoint_fn(rng) if endpoint_fn else None
            if chance(rng, multi_turn):
                turns = conversation(rng)[: n - len(calls)]
                system = self.system_prompt(rng)
                calls.extend(
                    self.session(rng, account, ts, turns, model, profile, system, endpoint=endpoint)
                )
                continue
            for _ in range(min(rng.randint(1, 3), n - len(calls))):
                system = self.system_prompt(rng)
                calls.extend(
                    self.session(
                        rng, account, ts, [single(rng)], model, profile, system, endpoint=endpoint
                    )
                )
                ts += rng.uniform(30.0, 600.0)
        return calls


def regular_times(
    rng: random.Random, t0: float, n: int, interval: float, jitter: float
) -> list[float]:
    """*n* times from *t0* at a fixed interval with relative jitter (automation)."""
    out, ts = [], t0
    for _ in range(n):
        out.append(ts)
        ts += interval * (1.0 + rng.uniform(-jitter, jitter))
    return out


def poisson_times(rng: random.Random, t0: float, t1: float, n: int) -> list[float]:
    """*n* independent times spread uniformly over [t0, t1) (steady round-the-clock load)."""
    return sorted(rng.uniform(t0, t1) for _ in range(n))


def diverse_task(rng: random.Random, world: World, deck: list[Task], corpus_share: float) -> Task:
    """A task from all corpora: a card of *deck* (non-T0 prompts) or a fresh T0 item."""
    if deck and rng.random() < corpus_share:
        return deck.pop() if len(deck) > 1 else deck[0]
    return world.corpora.t0_item(rng, rng.choice(world.corpora.t0_templates()))


def dealt_deck(rng: random.Random, world: World) -> list[Task]:
    """The non-T0 prompts in a random order (each account pops from its own deck)."""
    deck = world.corpora.singles()
    rng.shuffle(deck)
    return deck


def effort(rng: random.Random, lo: float = 2.5, hi: float = 6.0) -> float:
    """Output-length factor of a request that asks for written-out reasoning."""
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))

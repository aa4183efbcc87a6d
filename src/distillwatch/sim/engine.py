"""Running a simulation: accounts per persona, every account's calls rendered lazily,
merged in time order, written out.

Each account owns its random streams (seeded from the run seed and its identity), so an
account's traffic does not depend on how many other accounts there are.

>>> parse_mix("hydra=0, batch_classifier=2", ["hydra", "batch_classifier"])
{'hydra': 0.0, 'batch_classifier': 2.0}
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from distillwatch.errors import ConfigError, DetectionError, UsageError
from distillwatch.sim.calls import Call, render
from distillwatch.sim.choice import randint_range
from distillwatch.sim.corpora import find_corpora_dir
from distillwatch.sim.personas import PERSONAS, Account, Persona
from distillwatch.sim.timefmt import parse_day
from distillwatch.sim.world import World
from distillwatch.sim.writer import GzipLineWriter, write_truth

EVENTS_FILE = "events.jsonl.gz"
TRUTH_FILE = "truth.csv"


@dataclass(frozen=True)
class SimConfig:
    """Options of one simulation run (the ``simulate`` command's flags)."""

    out: Path
    seed: int = 7
    days: int = 7
    scale: float = 1.0
    #: account-count multiplier per persona name (0 removes it)
    mix: Mapping[str, float] = field(default_factory=dict)
    corpora: Path | None = None
    start: str = "2026-11-02"


@dataclass
class PersonaCount:
    persona: str
    label: str
    accounts: int = 0
    events: int = 0


@dataclass
class SimSummary:
    events_path: Path
    truth_path: Path
    n_events: int
    n_accounts: int
    by_persona: list[PersonaCount]
    seconds: float


def parse_mix(text: str | None, valid: Iterable[str]) -> dict[str, float]:
    """``NAME=MULT,...`` as a dict; unknown names or bad numbers are a UsageError."""
    names = sorted(valid)
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if name not in names:
            raise UsageError(f"--mix: unknown persona {name!r}; valid: {', '.join(names)}")
        try:
            mult = float(value) if sep else float("nan")
        except ValueError:
            mult = float("nan")
        if not mult >= 0:
            raise UsageError(f"--mix: {part.strip()!r} needs NAME=MULT with MULT >= 0")
        out[name] = mult
    return out


def _count(base: float, scale: float, mult: float, floor: int) -> int:
    if base * scale * mult <= 0:
        return 0
    return max(floor, round(base * scale * mult))


def build_accounts(world: World, config: SimConfig) -> list[tuple[Persona, Account]]:
    """Every account of the run with the persona that drives it."""
    if set(world.specs) != set(PERSONAS):
        missing = sorted(set(PERSONAS) ^ set(world.specs))
        raise ConfigError(f"personas.toml and the persona registry disagree on {missing}")
    if config.scale <= 0:
        raise UsageError("--scale must be > 0")
    mix = parse_mix(",".join(f"{k}={v}" for k, v in config.mix.items()), world.specs)
    out: list[tuple[Persona, Account]] = []
    for name, spec in world.specs.items():
        persona = PERSONAS[name](spec, world)
        rng = random.Random(f"{world.seed}/accounts/{name}")
        mult = mix.get(name, 1.0)
        if not spec.is_attack:
            n = _count(spec.accounts, config.scale, mult, 1)
            if n:
                out.extend((persona, a) for a in persona.create_accounts(rng, n, None))
            continue
        for campaign in spec.campaigns:
            base = randint_range(rng, campaign.accounts)
            n = _count(base, config.scale, mult, min(2, campaign.accounts[0]))
            if n:
                out.extend((persona, a) for a in persona.create_accounts(rng, n, campaign))
    ids = [a.account_id for _, a in out]
    if len(set(ids)) != len(ids):
        raise DetectionError("simulator drew a duplicate account id; try another --seed")
    return out


def _stream(
    world: World, persona: Persona, account: Account, index: int
) -> Iterator[tuple[int, int, int, bytes]]:
    """The account's events as (ms, account index, sequence, JSON line), in time order.

    Calls wait in a small heap until no later day can produce an earlier one (a local day
    starts at most 12 h before its UTC day), and are rendered only when released.
    """
    rng = random.Random(account.seed)
    render_rng = random.Random(account.seed + "/render")
    identity = account.identity()
    lo, hi = max(world.start, account.created_at), world.end
    p429, p500 = persona.spec.status_429, persona.spec.status_500
    models = world.models
    pending: list[tuple[int, int, Call]] = []
    seq = 0

    def release(item: tuple[int, int, Call]) -> tuple[int, int, int, bytes]:
        ms, number, call = item
        event = render(call, models[call.model], render_rng, identity, p429, p500)
        return ms, index, number, orjson.dumps(event)

    for day, calls in enumerate(persona.activity(account, rng)):
        for call in calls:
            if lo <= call.ts < hi:
                seq += 1
                heapq.heappush(pending, (int(call.ts * 1000), seq, call))
        threshold = (world.day_start(day) + 12 * 3600) * 1000
        while pending and pending[0][0] < threshold:
            yield release(heapq.heappop(pending))
    while pending:
        yield release(heapq.heappop(pending))


def simulate(config: SimConfig) -> SimSummary:
    """Write ``events.jsonl.gz`` and ``truth.csv`` into ``config.out``."""
    t0 = time.perf_counter()
    if not 1 <= config.days <= 366:
        raise UsageError("--days must be between 1 and 366")
    world = World.build(
        seed=config.seed,
        start=parse_day(config.start),
        days=config.days,
        corpora_dir=find_corpora_dir(config.corpora),
    )
    accounts = build_accounts(world, config)
    counts = [0] * len(accounts)
    streams = [_stream(world, p, a, i) for i, (p, a) in enumerate(accounts)]
    events_path = config.out / EVENTS_FILE
    with GzipLineWriter(events_path) as writer:
        for _, index, _, line in heapq.merge(*streams):
            counts[index] += 1
            writer.write(line)
    by_persona: dict[str, PersonaCount] = {}
    truth = []
    for (persona, account), n in zip(accounts, counts, strict=True):
        pc = by_persona.setdefault(persona.name, PersonaCount(persona.name, account.label))
        if n:
            pc.accounts += 1
            pc.events += n
            truth.append(
                (
                    account.account_id,
                    account.label,
                    account.persona,
                    account.campaign_id or "",
                    account.actor_id or "",
                )
            )
    truth.sort()
    truth_path = config.out / TRUTH_FILE
    write_truth(truth_path, truth)
    return SimSummary(
        events_path=events_path,
        truth_path=truth_path,
        n_events=sum(counts),
        n_accounts=len(truth),
        by_persona=list(by_persona.values()),
        seconds=time.perf_counter() - t0,
    )

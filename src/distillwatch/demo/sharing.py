"""``distillwatch demo sharing``: three providers, one actor, with and without sharing.

Three providers are three simulator weeks (seeds ``seed``, ``seed + 1``, ``seed + 2``).
One actor's CoT-harvesting campaign (``cot_harvest-1``: the simulator gives it the same
prompt wrapper in every week, as one operator's tooling would be) reaches provider 1 on
day 0, provider 2 on day ``2 * stagger`` ... (its requests before that are removed).
Each provider scans its logs every ``cadence_hours`` from the actor's arrival, up to
``horizon_hours``; an account counts as stopped at the first scan that flags it.

- *alone*: every provider scans on its own;
- *shared*: a real hub runs on 127.0.0.1; whenever a scan flags more of the actor's
  accounts, the provider builds its bundle (``intel build``) and pushes it (a new version
  of the same objects); later providers pull when the actor arrives and scan with
  ``--intel`` (peers' indicators raise risk and never flag on their own).

With ``online`` (``demo sharing --online``), providers 2 and 3 score every request as it
arrives with the online scorer (``replay``, what the gateway runs), alone and with the
intel pulled when the actor arrives matched online (``online/peers.py``); provider 1
still scans and publishes, and it is the only publisher.

The measure is the campaign's requests served before its accounts were flagged (every
request of an account never flagged within the horizon counts). Scans reuse one text
feature pass per provider; everything else is the real scan.
"""

from __future__ import annotations

import csv
import gzip
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

ACTOR_CAMPAIGN = "cot_harvest-1"
ORGS = ("provider-1", "provider-2", "provider-3")


@dataclass
class ProviderRun:
    """One provider's outcome in one mode."""

    name: str
    mode: str  # alone | shared
    arrival: datetime
    n_accounts: int
    n_requests: int  # the campaign's requests within the horizon
    served_before_flag: int
    first_flag: datetime | None
    scans: int
    flagged_at: dict[str, datetime] = field(default_factory=dict)


@dataclass
class SharingReport:
    runs: list[ProviderRun]
    hub_db: Path
    prompt_leaks: int  # provider prompt texts found in the hub's database
    n_prompts_checked: int
    n_published: int = 0  # bundles pushed to the hub

    def ratio(self, name: str) -> float | None:
        alone = next(r for r in self.runs if r.name == name and r.mode == "alone")
        shared = next(r for r in self.runs if r.name == name and r.mode == "shared")
        if shared.served_before_flag == 0:
            return None
        return alone.served_before_flag / shared.served_before_flag


def _truth(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return {r["account_id"]: r for r in csv.DictReader(fh)}


def _ts_scalar(table: pa.Table, value: datetime) -> pa.Scalar:
    return pa.scalar(value, table.schema.field("ts").type)


def _prepare(traffic: Path, arrival: datetime, actor: set[str]) -> pa.Table:
    """The provider's events with text features, the actor's before ``arrival`` removed."""
    from distillwatch.ingest import load_events
    from distillwatch.pipeline import add_text_features

    events, _ = load_events([traffic / "events.jsonl.gz"], traffic / "q.jsonl", progress=False)
    is_actor = pc.is_in(events["account_id"], pa.array(sorted(actor), pa.string()))
    early = pc.less(events["ts"], _ts_scalar(events, arrival))
    events = events.filter(pc.invert(pc.and_(is_actor, early)))
    return add_text_features(events)


def _scan_until_flagged(
    name: str,
    mode: str,
    events: pa.Table,
    actor: set[str],
    arrival: datetime,
    *,
    cadence: timedelta,
    horizon: timedelta,
    peer_at: Callable[[datetime], object | None],
    on_flag: Callable[[datetime, object], None] | None = None,
    config: Path | None = None,
) -> ProviderRun:
    from distillwatch.config import load_scan_config
    from distillwatch.pipeline import run_scan
    from distillwatch.results import IngestSummary

    cfg = load_scan_config(config)
    flagged_at: dict[str, datetime] = {}
    t, scans = arrival, 0
    present = set(pc.unique(events["account_id"]).to_pylist()) & actor
    while t < arrival + horizon and len(flagged_at) < len(present):
        t += cadence
        cut = events.filter(pc.less(events["ts"], _ts_scalar(events, t)))
        summary = IngestSummary(n_read=cut.num_rows, n_ok=cut.num_rows)
        result = run_scan(cut, summary, cfg, peer=peer_at(t))  # type: ignore[arg-type]
        scans += 1
        new = [
            a.account_id
            for a in result.accounts
            if a.flagged and a.account_id in actor and a.account_id not in flagged_at
        ]
        for a in new:
            flagged_at[a] = t
        if new and on_flag is not None:  # publish, or publish a new version, as it grows
            on_flag(t, result)
    within = events.filter(
        pc.and_(
            pc.is_in(events["account_id"], pa.array(sorted(present), pa.string())),
            pc.less(events["ts"], _ts_scalar(events, arrival + horizon)),
        )
    )
    accounts = within["account_id"].to_pylist()
    stamps = within["ts"].to_pylist()
    served = sum(
        1
        for a, ts in zip(accounts, stamps, strict=True)
        if a not in flagged_at or ts < flagged_at[a]
    )
    return ProviderRun(
        name=name,
        mode=mode,
        arrival=arrival,
        n_accounts=len(present),
        n_requests=len(accounts),
        served_before_flag=served,
        first_flag=min(flagged_at.values()) if flagged_at else None,
        scans=scans,
        flagged_at=flagged_at,
    )


def _replay_until_flagged(
    name: str,
    mode: str,
    events: pa.Table,
    actor: set[str],
    arrival: datetime,
    *,
    horizon: timedelta,
    peers: object | None,
    config: Path | None = None,
) -> ProviderRun:
    """The provider's traffic up to the horizon through the online scorer (``replay``),
    with peers' intel matched online when ``peers`` (an ``online.peers.OnlinePeers``)."""
    from distillwatch.config import load_scan_config
    from distillwatch.online.replay import replay_events

    cut = events.filter(pc.less(events["ts"], _ts_scalar(events, arrival + horizon)))
    result = replay_events(cut, load_scan_config(config), peers=peers)  # type: ignore[arg-type]
    present = sorted(a for a in actor if a in result.accounts)
    flagged_at = {}
    for a in present:
        ts = result.accounts[a].flagged_ts
        if ts is not None:
            flagged_at[a] = datetime.fromtimestamp(ts, UTC)
    return ProviderRun(
        name=name,
        mode=mode,
        arrival=arrival,
        n_accounts=len(present),
        n_requests=sum(result.accounts[a].n for a in present),
        served_before_flag=sum(result.accounts[a].before for a in present),
        first_flag=min(flagged_at.values()) if flagged_at else None,
        scans=0,
        flagged_at=flagged_at,
    )


def run_sharing_demo(
    out: Path,
    *,
    seed: int = 101,
    scale: float = 0.3,
    days: int = 7,
    stagger_days: int = 2,
    cadence_hours: float = 1.0,
    horizon_hours: float = 24.0,
    config: Path | None = None,
    online: bool = False,
    say: Callable[[str], None] = print,
) -> SharingReport:
    """Run the three-provider demo in ``out`` and return its measurements.

    With ``online``, providers 2 and 3 judge every request as it arrives (the online
    scorer, as the gateway does), alone or with the intel pulled when the actor arrives
    matched online; provider 1 still detects with its scans and publishes.
    """
    from distillwatch.hub.admin import add_collection, add_member
    from distillwatch.hub.server import running_hub
    from distillwatch.hub.settings import HubSettings
    from distillwatch.intel.bundle import build_bundle
    from distillwatch.intel.client import pull, push
    from distillwatch.intel.keys import Keyring, new_key, save_keyring
    from distillwatch.intel.store import load_intel
    from distillwatch.outputs import write_outputs
    from distillwatch.outputs.ids import identity_id
    from distillwatch.pipeline import PeerInput
    from distillwatch.sim.engine import SimConfig, simulate

    out.mkdir(parents=True, exist_ok=True)
    cadence, horizon = timedelta(hours=cadence_hours), timedelta(hours=horizon_hours)
    key_path = out / "group.key"
    if not key_path.exists():
        save_keyring(Keyring("demo-isac", [new_key("demo-isac", 90)]), key_path)
    from distillwatch.intel.keys import load_keyring

    ring = load_keyring(key_path)
    db = out / "hub.db"
    for stale in (db, db.with_name("hub.db-wal"), db.with_name("hub.db-shm")):
        # an interrupted run leaves SQLite's WAL beside the file: a fresh database opened
        # next to a stale WAL fails with "disk I/O error"
        stale.unlink(missing_ok=True)
    db_url = f"sqlite:///{db}"
    coll = add_collection(db_url, "distillation campaigns", "the demo trust group")
    tokens = {org: add_member(db_url, org, identity_id(org), [coll], [coll]) for org in ORGS}

    providers = []
    for i, org in enumerate(ORGS):
        traffic = out / org / "traffic"
        if not (traffic / "events.jsonl.gz").exists():
            say(f"{org}: simulating {days} days (seed {seed + i}, scale {scale})")
            simulate(SimConfig(out=traffic, seed=seed + i, days=days, scale=scale))
        truth = _truth(traffic / "truth.csv")
        actor = {a for a, r in truth.items() if r["campaign_id"] == ACTOR_CAMPAIGN}
        start = datetime.fromisoformat(SimConfig(out=traffic).start).replace(tzinfo=UTC)
        arrival = start + timedelta(days=i * stagger_days)
        providers.append((org, traffic, actor, arrival, _prepare(traffic, arrival, actor)))

    runs: list[ProviderRun] = []
    published: list[datetime] = []  # simulated time each bundle became available
    with running_hub(HubSettings(db_url=db_url, check_workers=0)) as url:
        hub = f"{url}/default/"

        def publish(org: str) -> Callable[[datetime, object], None]:
            def done(t: datetime, result: object) -> None:
                scan_dir = out / org / "scan-at-first-flag"
                write_outputs(result, scan_dir, org_name=org)  # type: ignore[arg-type]
                bundle = out / org / "bundle.json"
                bundle.write_text(build_bundle(scan_dir, org_name=org, keyring=ring), "utf-8")
                push(bundle, hub, coll, tokens[org])
                published.append(t)
                say(f"{org}: flagged actor accounts at {t:%a %H:%M}; published to the hub")

            return done

        for i, (org, _, actor, arrival, events) in enumerate(providers):
            if online and i > 0:
                from distillwatch.online.peers import OnlinePeers

                say(f"{org}: actor arrives {arrival:%a %d %b}; every request scored online")
                intel_dir = out / org / "peers"
                pull(hub, intel_dir, collection_id=coll, token=tokens[org])
                for mode, peers in (("alone", None), ("shared", OnlinePeers(intel_dir, key_path))):
                    runs.append(
                        _replay_until_flagged(
                            org, mode, events, actor, arrival, horizon=horizon, peers=peers,
                            config=config,
                        )
                    )  # fmt: skip
                continue
            say(f"{org}: actor arrives {arrival:%a %d %b}; scanning every {cadence_hours:g} h")
            runs.append(
                _scan_until_flagged(
                    org, "alone", events, actor, arrival, cadence=cadence, horizon=horizon,
                    peer_at=lambda t: None, on_flag=publish(org) if i == 0 else None,
                    config=config,
                )
            )  # fmt: skip
            if i == 0:
                # provider 1 has no peer ahead of it: its shared run is its alone run
                runs.append(replace(runs[-1], mode="shared"))
                continue
            intel_dir = out / org / "peers"
            pull(hub, intel_dir, collection_id=coll, token=tokens[org])
            peer = PeerInput(load_intel(intel_dir, at=datetime.now(UTC)), ring)
            ready = min(published) if published else None

            def peer_at(t: datetime, r: datetime | None = ready, p: object = peer) -> object:
                return p if r is not None and r <= t else None

            runs.append(
                _scan_until_flagged(
                    org, "shared", events, actor, arrival, cadence=cadence, horizon=horizon,
                    peer_at=peer_at, on_flag=publish(org), config=config,
                )
            )  # fmt: skip
    leaks, checked = _prompt_leaks(db, [p[1] for p in providers])
    return SharingReport(runs, db, leaks, checked, len(published))


def _prompt_leaks(db: Path, traffic_dirs: list[Path], min_chars: int = 40) -> tuple[int, int]:
    """How many distinct provider prompts (first ``min_chars`` characters) occur in the
    hub's database, and how many were checked."""
    prompts: set[str] = set()
    for traffic in traffic_dirs:
        with gzip.open(traffic / "events.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                text = json.loads(line).get("prompt") or ""
                if len(text) >= min_chars:
                    prompts.add(text[:min_chars])
    con = sqlite3.connect(db)
    try:
        dump = "\n".join(con.iterdump())
    finally:
        con.close()
    return sum(1 for p in prompts if p in dump), len(prompts)

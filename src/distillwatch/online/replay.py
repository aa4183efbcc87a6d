"""``distillwatch replay``: run logged events in time order through the online scorer.

Each request is first scored (as the gateway would before serving it) and then learnt.
An account counts as stopped from the first request whose verdict is ``flagged``; the
requests and output tokens served before that are what the campaign got away with.

Writes into ``out``:

- ``detections.csv``: one row per account: ``account_id, first_flagged_ts,
  requests_before_flag, tokens_before_flag`` then ``n_requests, n_tokens, flagged,
  campaign_id, max_risk, first_seen`` (an account never flagged has an empty
  ``first_flagged_ts`` and all its requests before the flag);
- ``accounts.csv``: the scan's contract columns (``risk`` = the highest risk the account
  reached, ``flagged`` = ever flagged), so ``distillwatch evaluate`` reads it as a scan;
- ``online_campaigns.csv``: each group the scorer linked, with its first flag and time to
  detection; ``quarantine.jsonl``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.config import ScanConfig
from distillwatch.online.peers import OnlinePeers
from distillwatch.online.scorer import TEXT_COLUMNS, OnlineScorer
from distillwatch.online.state import epoch

#: the columns the scorer reads (the rest of the event table is not converted to Python)
READ_COLUMNS = (
    "request_id",
    "ts",
    "account_id",
    "org_id",
    "ip",
    "asn",
    "user_agent",
    "payment_fingerprint",
    "signup_channel",
    "account_created_at",
    "conversation_id",
    "model",
    "system_prompt",
    "n_messages",
    "max_tokens",
    "temperature",
    "n",
    "logprobs",
    "top_logprobs",
    "completion_tokens",
    "reasoning_tokens",
    "finish_reason",
    "intent_cot",
    "intent_reveal",
    "intent_rubric",
    "intent_synth",
    *TEXT_COLUMNS,
)
ROWS_PER_STEP = 20_000


@dataclass
class AccountRun:
    n: int = 0
    tokens: int = 0
    first_seen: float = 0.0
    flagged_ts: float | None = None
    before: int = 0
    tokens_before: int = 0
    campaign_id: str | None = None
    max_risk: float = 0.0
    signals: tuple[str, ...] = ()


@dataclass
class ReplayResult:
    accounts: dict[str, AccountRun] = field(default_factory=dict)
    n_events: int = 0
    n_quarantined: int = 0
    seconds: float = 0.0


def _iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def replay_events(
    events: pa.Table,
    cfg: ScanConfig | None = None,
    *,
    lists: Path | None = None,
    peers: OnlinePeers | None = None,
    progress: Callable[[int], None] | None = None,
    snapshot_s: float | None = None,
    on_snapshot: Callable[[OnlineScorer, float], None] | None = None,
) -> ReplayResult:
    """Score-then-learn every event in time order (``events`` with text features).

    With ``snapshot_s``, ``on_snapshot(scorer, t)`` is called every ``snapshot_s`` seconds
    of event time (after learning everything before ``t``) and at the end (used to fit the
    online models on training replays).
    """
    import time

    t0 = time.perf_counter()
    scorer = OnlineScorer(cfg, lists=lists, peers=peers)
    next_snap: float | None = None
    order = pc.sort_indices(events, sort_keys=[("ts", "ascending"), ("request_id", "ascending")])
    cols = [c for c in READ_COLUMNS if c in events.column_names]
    table = events.select(cols).take(order)
    out = ReplayResult(n_events=table.num_rows)
    runs = out.accounts
    for start in range(0, table.num_rows, ROWS_PER_STEP):
        for ev in table.slice(start, ROWS_PER_STEP).to_pylist():
            account = str(ev["account_id"])
            ts = epoch(ev["ts"]) or 0.0
            if snapshot_s is not None and on_snapshot is not None:
                if next_snap is None:
                    next_snap = ts + snapshot_s
                while ts >= next_snap:
                    scorer.flush()
                    on_snapshot(scorer, next_snap)
                    next_snap += snapshot_s
            run = runs.get(account)
            if run is None:
                run = runs[account] = AccountRun(first_seen=ts)
            v = scorer.score_one(ev)
            if v.risk > run.max_risk:
                run.max_risk = v.risk
                run.signals = tuple(r.split("=", 1)[0] for r in v.reasons)
            if v.flagged and run.flagged_ts is None:
                run.flagged_ts, run.before, run.tokens_before = ts, run.n, run.tokens
                run.campaign_id = v.campaign_id
            scorer.learn_one(ev)
            run.n += 1
            run.tokens += int(ev.get("completion_tokens") or 0) + int(
                ev.get("reasoning_tokens") or 0
            )
        if progress is not None:
            progress(min(start + ROWS_PER_STEP, table.num_rows))
    if on_snapshot is not None and next_snap is not None:
        scorer.flush()
        on_snapshot(scorer, next_snap)
    for run in runs.values():
        if run.flagged_ts is None:
            run.before, run.tokens_before = run.n, run.tokens
    for account, run in runs.items():
        root = scorer.linkage.find(account)
        if run.campaign_id is None and len(scorer.linkage.members(root)) > 1:
            run.campaign_id = "online-" + root
    out.seconds = time.perf_counter() - t0
    return out


def write_replay(result: ReplayResult, out: Path) -> None:
    """detections.csv, accounts.csv and online_campaigns.csv (see module docstring)."""
    out.mkdir(parents=True, exist_ok=True)
    accounts = sorted(result.accounts.items())
    with (out / "detections.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "account_id",
                "first_flagged_ts",
                "requests_before_flag",
                "tokens_before_flag",
                "n_requests",
                "n_tokens",
                "flagged",
                "campaign_id",
                "max_risk",
                "first_seen",
            ]
        )
        for a, r in accounts:
            w.writerow(
                [
                    a,
                    _iso(r.flagged_ts),
                    r.before,
                    r.tokens_before,
                    r.n,
                    r.tokens,
                    "true" if r.flagged_ts is not None else "false",
                    r.campaign_id or "",
                    f"{r.max_risk:.6f}",
                    _iso(r.first_seen),
                ]
            )
    with (out / "accounts.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["account_id", "risk", "flagged", "campaign_id", "signals"])
        for a, r in accounts:
            w.writerow(
                [
                    a,
                    f"{r.max_risk:.6f}",
                    "true" if r.flagged_ts is not None else "false",
                    r.campaign_id if r.flagged_ts is not None and r.campaign_id else "",
                    ";".join(r.signals),
                ]
            )
    groups: dict[str, list[AccountRun]] = {}
    for _, r in accounts:
        if r.campaign_id:
            groups.setdefault(r.campaign_id, []).append(r)
    with (out / "online_campaigns.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "campaign_id",
                "n_accounts",
                "n_requests",
                "first_seen",
                "first_flagged_ts",
                "hours_to_detection",
                "requests_before_flag",
                "share_before_flag",
            ]
        )
        for cid, members in sorted(groups.items()):
            n = sum(r.n for r in members)
            before = sum(r.before for r in members)
            first = min(r.first_seen for r in members)
            flags = [r.flagged_ts for r in members if r.flagged_ts is not None]
            first_flag = min(flags) if flags else None
            w.writerow(
                [
                    cid,
                    len(members),
                    n,
                    _iso(first),
                    _iso(first_flag),
                    "" if first_flag is None else f"{(first_flag - first) / 3600.0:.3f}",
                    before,
                    f"{before / max(n, 1):.6f}",
                ]
            )


def run_replay(
    inputs: Sequence[Path],
    out: Path,
    cfg: ScanConfig | None = None,
    *,
    lists: Path | None = None,
    peers: OnlinePeers | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReplayResult:
    """Read events, add text features, replay them, write the outputs."""
    from distillwatch.ingest import load_events
    from distillwatch.pipeline import add_text_features

    out.mkdir(parents=True, exist_ok=True)
    events, summary = load_events(list(inputs), out / "quarantine.jsonl", progress=False)
    if "head" not in events.column_names:
        events = add_text_features(events)
    result = replay_events(events, cfg, lists=lists, peers=peers)
    result.n_quarantined = summary.n_read - summary.n_ok
    write_replay(result, out)
    return result

"""The online scorer: the scan's signals and risk models, one request at a time.

``learn_one`` folds a served request into its account's ``AccountState`` (``state.py``),
links the account to others that show the same rare attributes
(``linkage.py``) and re-scores the account and its group with
the scan's signals and fitted models (``config/model.toml``). ``score_one`` is a lookup of
the last scores (no feature work on the request path), so a request is judged on the
account's traffic before it. A group of linked accounts is scored as one campaign, and each
account's risk is the higher of its own and its campaign's, as in ``scan``.

Text features (intent, templates, language...) are computed in Arrow batches as in
``scan``: events that arrive without them are queued and processed by :meth:`flush`
(every ``batch`` events, or by the background thread of :meth:`start`).

Lists produced elsewhere are read from ``lists`` (a directory): every ``accounts.csv``
under it (a batch scan's output) contributes its flagged accounts and their campaigns;
they are flagged online from their first request. Peers' indicators (``peers``: a pulled
intel directory and the group's key file) are matched on every learnt batch and raise
risk as in ``scan``, never flagging alone (``peers.py``). :meth:`reload` re-reads both.

>>> sc = OnlineScorer()
>>> ev = {"account_id": "a", "ts": 1.7e9, "model": "m", "prompt": "hi", "request_id": "r1"}
>>> sc.learn_one(ev)
>>> sc.flush()
>>> v = sc.score_one({"account_id": "a"})
>>> v.n_requests, v.flagged
(1, False)
"""

from __future__ import annotations

import csv
import gc
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from distillwatch.config import ScanConfig, load_scan_config
from distillwatch.errors import ScoringError
from distillwatch.online.api import Event, Verdict
from distillwatch.online.linkage import Linkage
from distillwatch.online.model import load_online_models
from distillwatch.online.peers import OnlinePeers, PeerTally
from distillwatch.online.peers import columns as peer_columns
from distillwatch.online.state import BURST_S, SETTLE_S, AccountState, Context, epoch, merge
from distillwatch.online.store import StateStore
from distillwatch.signals.peer_intel import bounded_peer_risk, peer_settings
from distillwatch.signals.registry import build_signals

#: text feature columns an event must carry to be learnt without the batch text step
TEXT_COLUMNS = ("content_hash", "skeleton_hash", "head", "tail", "lang", "domain")
#: re-score an account (or campaign) after this many requests, or this share more
RESCORE_EVERY = 1
RESCORE_SHARE = 0.02
RESCORE_FULL_UNTIL = 50
#: queued events (in batches) after which learn_one flushes even with the background thread
MAX_QUEUED_BATCHES = 20
#: seconds between background flushes: each flush pays ~20 ms of fixed text-feature cost
#: (regular expressions compiled per Arrow call), so larger batches cost less per request
FLUSH_S = 1.0
#: top reasons listed in a verdict
N_REASONS = 3


@dataclass
class _Score:
    n: int  # requests when scored
    risk: float
    reasons: tuple[str, ...]
    #: consecutive re-scorings at or over the threshold (online and early-hours models)
    over: int = 0
    #: hours of observed traffic when the scan's (long-horizon) model went over the
    #: threshold and has stayed over since (None: it is not over)
    long_from: float | None = None
    #: hours of observed traffic when scored
    observed_h: float = 0.0

    def confirmed(self, confirm: int, hold_h: float) -> bool:
        """Over the threshold ``confirm`` re-scorings in a row, or by the scan's model for
        ``hold_h`` hours of the subject's traffic."""
        if self.over >= confirm:
            return True
        held = self.long_from is not None and self.observed_h - self.long_from >= hold_h
        return hold_h > 0 and held


def _next_score(
    prev: _Score | None,
    n: int,
    scored: _Scored,
    *,
    threshold: float,
    observed_h: float,
    hold_h: float,
) -> _Score:
    """The subject's score after ``scored``; without a hold every model counts for
    ``confirm``, with one the scan's model counts through ``long_from``."""
    flagging = scored.short_risk if hold_h > 0 else scored.risk
    over = (prev.over if prev else 0) + 1 if flagging >= threshold else 0
    long_from = None
    if hold_h > 0 and scored.long_risk >= threshold:
        long_from = prev.long_from if prev and prev.long_from is not None else observed_h
    return _Score(n, scored.risk, scored.reasons, over, long_from, observed_h)


@dataclass(frozen=True)
class _Scored:
    """One subject's risk (the highest of the models), its reasons, and the risks of the
    online models (main and early hours) and of the scan's model, which flag differently."""

    risk: float
    reasons: tuple[str, ...]
    short_risk: float
    long_risk: float


def _needs_rescore(prev: _Score | None, n: int) -> bool:
    if prev is None or n <= RESCORE_FULL_UNTIL:
        return True
    return n - prev.n >= max(RESCORE_EVERY, RESCORE_SHARE * prev.n)


class OnlineScorer:
    """Per-account streaming state, online linkage, the scan's models; see module docstring."""

    def __init__(
        self,
        cfg: ScanConfig | None = None,
        *,
        store: StateStore | None = None,
        lists: Path | None = None,
        peers: OnlinePeers | None = None,
        checkpoint_s: float = 10.0,
        batch: int = 256,
    ) -> None:
        self.cfg = cfg if cfg is not None else load_scan_config()
        self.store = store
        self.lists = lists
        self.peers = peers
        self.peer_weight, self.peer_floor, self.peer_cap = peer_settings(self.cfg.extra)
        self.checkpoint_s = checkpoint_s
        self.batch = batch
        self.models = load_online_models(self.cfg)
        self.model, self.camp_model = self.models.account, self.models.campaign
        #: re-scorings in a row at or over the threshold before an account is flagged
        self.confirm = self.models.confirm
        self.acc_signals = build_signals(self.cfg.signal_params, campaign=False)
        self.camp_signals = build_signals(self.cfg.signal_params, campaign=True)
        g = self.cfg.graph
        self.linkage = Linkage(
            self.cfg.link_weights,
            min_edge_weight=float(g.get("min_edge_weight", 0.45)),
            max_sharing=int(g.get("max_sharing", 200)),
            rarity_k0=float(g.get("rarity_k0", 12.0)),
        )
        self.hosting = {int(a) for a in self.cfg.hosting_asns}
        self.accounts: dict[str, AccountState] = {}
        self.own: dict[str, _Score] = {}
        self.camp: dict[str, _Score] = {}  # by group root
        self.start_ts: float | None = None
        self.model_first: dict[str, float] = {}
        self.max_tokens: dict[str, dict[str, int]] = {}  # model -> value -> count
        self.limits: dict[str, float] = {}
        self.release: float | None = None
        self.bursts: dict[str, int] = {}
        self.listed: dict[str, str] = {}  # account -> campaign id from a list ("" if none)
        self.pending: list[dict[str, Any]] = []  # without text features yet
        self.ready: list[dict[str, Any]] = []  # with them (replay computes them in bulk)
        self.dirty: set[str] = set()
        self.lock = threading.RLock()
        self.last_checkpoint = time.monotonic()
        #: when checkpoints started failing (None: the store works)
        self.store_failed_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if lists is not None or peers is not None:
            self.reload()
        if store is not None:
            self._load(store)

    # ------------------------------------------------------------------ the protocol

    def score_one(self, event: Event) -> Verdict:
        failed = self.store_failed_since
        if failed is not None and time.monotonic() - failed > max(2 * self.checkpoint_s, 1.0):
            raise ScoringError(
                f"state store {self.store.path if self.store else ''} unavailable for "
                f"{time.monotonic() - failed:.0f}s; state since then would be lost on restart"
            )
        account = str(event.get("account_id") or "")
        st = self.accounts.get(account)
        n = st.n if st is not None else 0
        own = self.own.get(account)
        risk = own.risk if own is not None else 0.0
        reasons: tuple[str, ...] = own.reasons if own is not None else ()
        hold = self.models.long_hold_h
        confirmed = own is not None and own.confirmed(self.confirm, hold)
        root = self.linkage.find(account)
        size = len(self.linkage.members(root))
        campaign_id = None
        if size > 1:
            campaign_id = "online-" + root
            camp = self.camp.get(root)
            if camp is not None and camp.confirmed(self.confirm, hold):
                confirmed = True
            if camp is not None and camp.risk > risk:
                risk = camp.risk
                reasons = (f"campaign:{campaign_id}", *camp.reasons)
        listed_campaign = self.listed.get(account)
        listed = listed_campaign is not None
        if listed:
            reasons = (f"listed:{listed_campaign or 'account'}", *reasons)
            campaign_id = listed_campaign or campaign_id
        return Verdict(
            account_id=account,
            risk=float(risk),
            flagged=listed or confirmed,
            campaign_id=campaign_id,
            listed=listed,
            reasons=reasons[: N_REASONS + 1],
            n_requests=n,
        )

    def learn_one(self, event: Event) -> None:
        ev = dict(event)
        if all(c in ev for c in TEXT_COLUMNS):
            self.ready.append(ev)
        else:
            self.pending.append(ev)
        queued = len(self.pending) + len(self.ready)
        # with the background thread, the caller's thread (the gateway's event loop) only
        # flushes when the thread falls far behind (bounded memory)
        if queued >= (self.batch if self._thread is None else MAX_QUEUED_BATCHES * self.batch):
            self.flush()

    def reload(self) -> None:
        listed: dict[str, str] = {}
        if self.lists is not None:
            if not self.lists.is_dir():
                raise ScoringError(f"lists directory {self.lists} does not exist; create it")
            for path in sorted(self.lists.rglob("accounts.csv")):
                listed.update(_flagged_accounts(path))
        self.listed = listed
        if self.peers is not None:
            self.peers.load()

    def checkpoint(self) -> None:
        if self.store is None:
            return
        with self.lock:
            rows = {a: self.accounts[a].to_json() for a in self.dirty if a in self.accounts}
            try:
                self.store.save(rows, self._globals())
            except ScoringError:
                if self.store_failed_since is None:
                    self.store_failed_since = time.monotonic()
                raise
            self.store_failed_since = None
            self.dirty.clear()
            self.last_checkpoint = time.monotonic()

    # ------------------------------------------------------------------ batching, threads

    def flush(self) -> None:
        """Learn the queued events (text features in one batch) and re-score in one batch."""
        with self.lock:
            todo, self.pending = self.pending, []
            ready, self.ready = self.ready, []
            if todo:
                ready.extend(_with_text_features(todo))
            if ready:
                ready.sort(key=lambda e: epoch(e.get("ts")) or 0.0)
                self._learn(ready)
            self._maybe_checkpoint()

    def start(self, interval_s: float = 0.2) -> None:
        """Flush and checkpoint from a background thread every ``interval_s``."""
        if self._thread is not None:
            return

        def run() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.flush()
                except ScoringError:
                    continue  # the store is down: retried next tick, callers see it too
                # the state lives as long as the process: move it out of the collector's
                # sight, so full collections (which pause the event loop of the gateway
                # in the same process) scan only what is new since the last flush
                gc.freeze()

        self._thread = threading.Thread(target=run, name="scorer-flush", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self.flush()
        self.checkpoint()

    # ------------------------------------------------------------------ learning

    def _learn(self, events: Sequence[dict[str, Any]]) -> None:
        touched: set[str] = set()
        for ev in events:
            account = str(ev.get("account_id") or "")
            if not account:
                continue
            ts = epoch(ev.get("ts")) or 0.0
            self._observe_population(ev, ts)
            st = self.accounts.get(account)
            if st is None:
                st = self.accounts[account] = AccountState()
            first = st.n == 0
            st.learn(ev, self._context())
            if first and st.created_at is not None:
                key = f"{st.channel}|{int(st.created_at // BURST_S)}"
                self.bursts[key] = self.bursts.get(key, 0) + 1
            self._link(account, ev, st)
            self.dirty.add(account)
            touched.add(account)
        matched = self.peers.observe(events) if self.peers is not None else set()
        self._rescore(sorted(touched), force=matched)
        roots = {self.linkage.find(a) for a in touched}
        self._rescore_groups(sorted(roots), force={self.linkage.find(a) for a in matched})

    def _observe_population(self, ev: Mapping[str, Any], ts: float) -> None:
        if self.start_ts is None or ts < self.start_ts:
            self.start_ts = ts
        model = str(ev.get("model") or "")
        if model and model not in self.model_first:
            self.model_first[model] = ts
            if ts > self.start_ts + SETTLE_S and (self.release is None or ts < self.release):
                self.release = ts
        mt = ev.get("max_tokens")
        if model and mt is not None:
            hist = self.max_tokens.setdefault(model, {})
            if len(hist) < 512 or str(int(mt)) in hist:
                hist[str(int(mt))] = hist.get(str(int(mt)), 0) + 1
                total = sum(hist.values())
                if total <= 100 or total % 50 == 0:
                    self.limits[model] = _quantile(hist, 0.99)

    def _context(self) -> Context:
        start = self.start_ts or 0.0
        new = frozenset(m for m, t in self.model_first.items() if t > start + SETTLE_S)
        return Context(model_limit=self.limits, release=self.release, new_models=new)

    def _link(self, account: str, ev: Mapping[str, Any], st: AccountState) -> None:
        from distillwatch.campaigns.attributes import (
            TEMPLATE_MIN_COUNT,
            TEMPLATE_MIN_SHARE,
            ip_prefix,
        )

        add = self.linkage.add
        if ev.get("payment_fingerprint"):
            add(account, "payment", str(ev["payment_fingerprint"]))
        if ev.get("org_id"):
            add(account, "org", str(ev["org_id"]))
        if ev.get("ip"):
            prefix = ip_prefix(str(ev["ip"]))
            if prefix:
                add(account, "ip_prefix", prefix)
        created = epoch(ev.get("account_created_at"))
        if created is not None:
            day = time.strftime("%Y-%m-%d", time.gmtime(created))
            hour = time.strftime("%Y-%m-%d %H", time.gmtime(created))
            if ev.get("asn") is not None and int(ev["asn"]) in self.hosting:
                add(account, "asn_created", f"{int(ev['asn'])}@{day}")
            if ev.get("user_agent"):
                add(account, "ua_created", f"{ev['user_agent']}@{hour}")
        n = st.n
        if n >= TEMPLATE_MIN_COUNT:
            # a template links while it dominates the account's traffic (the scan's rule,
            # campaigns/attributes.py): a common one (a benchmark's format) that stopped
            # dominating is withdrawn; a rare one seen dominating keeps linking its few holders
            dominant = {
                prefix + key
                for prefix, counts in (("h", st.heads.counts), ("t", st.tails.counts))
                for key, c in counts.items()
                if key and c >= TEMPLATE_MIN_COUNT and c >= TEMPLATE_MIN_SHARE * n
            }
            linkage = self.linkage
            for value in linkage.seen.get(account, {}).get("template", set()) - dominant:
                if linkage.count("template", value) > linkage.rarity_k0:
                    linkage.withdraw(account, "template", value)
            for value in sorted(dominant):
                add(account, "template", value)

    # ------------------------------------------------------------------ scoring

    def _features(self, rows: list[dict[str, float]]) -> dict[str, np.ndarray]:
        return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in rows[0]}

    def _score(self, f: dict[str, np.ndarray], camp: bool) -> list[_Scored]:
        """Risk, top reasons and the risks that flag, per row of ``f``.

        The online model judges every row; rows observed for less than ``early_h`` hours
        are also judged by the early-hours model (on the same threshold), rows observed for
        at least the long horizon by the scan's model, its risk moved onto the online
        model's scale (the same log-odds above its own threshold); the highest is kept.
        The scan's model was fitted on whole weeks: a subject it alone puts over the
        threshold is flagged only once it has stayed over for ``long_hold_h`` hours.
        """
        signals = self.camp_signals if camp else self.acc_signals
        model = self.camp_model if camp else self.model
        scores = {s.id: np.clip(s.score(f), 0.0, 1.0) for s in signals}
        risk, contrib = model.risk(scores)
        m = self.models
        early_model = m.early_campaign if camp else m.early_account
        if early_model is not None and "observed_h" in f:
            erisk, econtrib = early_model.risk(scores)
            young = f["observed_h"] < m.early_h
            risk, contrib = _higher(risk, contrib, erisk, econtrib, young)
        short = risk
        long_risk = np.zeros_like(risk)
        long_model = m.long_campaign if camp else m.long_account
        if long_model is not None and "observed_h" in f:
            llogit, lcontrib = long_model.log_odds(scores)
            shift = _logit(model.threshold) - _logit(long_model.threshold)
            lrisk = 1.0 / (1.0 + np.exp(-(llogit + shift)))
            old = f["observed_h"] >= m.long_horizon_h
            long_risk = np.where(old, lrisk, 0.0)
            risk, contrib = _higher(risk, contrib, lrisk, lcontrib, old)
        if self.peers is not None and "pi_confidence" in f:
            peer = self.peer_weight * scores["peer_intel"]
            risk, contrib["peer_intel"] = bounded_peer_risk(
                _logit_array(risk),
                peer,
                threshold=model.threshold,
                floor=self.peer_floor,
                cap=self.peer_cap,
            )
            # a match with peers' intel confirms at once, whichever model it raised
            short = np.where(peer > 0.0, risk, short)
        ids = list(contrib)
        matrix = np.stack([contrib[s] for s in ids], axis=1)
        out = []
        for i in range(len(risk)):
            top = np.argsort(-matrix[i])[:N_REASONS]
            reasons = tuple(
                f"{ids[j]}={float(scores[ids[j]][i]):.2f}" for j in top if matrix[i, j] > 0
            )
            out.append(_Scored(float(risk[i]), reasons, float(short[i]), float(long_risk[i])))
        return out

    def _burst(self, st: AccountState) -> int:
        if st.created_at is None:
            return 1
        return self.bursts.get(f"{st.channel}|{int(st.created_at // BURST_S)}", 1)

    def account_rows(self, accounts: Sequence[str]) -> list[dict[str, float]]:
        """The scan's per-account feature columns of ``accounts``, from their states."""
        ctx = self._context()
        rows = [
            self.accounts[a].features(burst_size=self._burst(self.accounts[a]), context=ctx)
            for a in accounts
        ]
        if self.peers is not None:
            tallies = self.peers.tallies
            for a, row in zip(accounts, rows, strict=True):
                row.update(peer_columns([tallies.get(a)], self.accounts[a].n))
        return rows

    def group_row(self, root: str) -> dict[str, float]:
        """The scan's campaign feature columns of the group ``root`` (as ``campaign_features``)."""
        ctx = self._context()
        states = [self.accounts[a] for a in self.linkage.members(root) if a in self.accounts]
        per = [s.features(burst_size=self._burst(s), context=ctx) for s in states]
        f = merge(states).features(context=ctx)
        f["n_accounts"] = float(len(states))
        f["link_strength"] = self.linkage.strength(root)
        f["gap_cv"] = float(np.median([p["gap_cv"] for p in per]))
        f["n_gaps"] = float(sum(p["n_gaps"] for p in per))
        ages = [p["age_days"] for p in per]
        f["age_days"] = float(np.median(ages)) if not any(math.isnan(a) for a in ages) else math.nan
        f["burst_size"] = max(p["burst_size"] for p in per)
        f["young_share"] = float(np.mean([p["young_share"] for p in per]))
        if self.peers is not None:
            members = [a for a in self.linkage.members(root) if a in self.accounts]
            tallies = [self.peers.tallies.get(a) for a in members]
            f.update(peer_columns(tallies, sum(self.accounts[a].n for a in members)))
        return f

    def signal_scores(self, rows: list[dict[str, float]], *, camp: bool) -> dict[str, np.ndarray]:
        """Each signal's score per row (what the risk models weigh)."""
        signals = self.camp_signals if camp else self.acc_signals
        f = self._features(rows)
        return {s.id: np.clip(s.score(f), 0.0, 1.0) for s in signals}

    def _rescore(self, accounts: Sequence[str], force: set[str] | None = None) -> None:
        """Re-score accounts that grew enough since their last score (or are in ``force``:
        they matched peers' intel), in one batch."""
        force = force or set()
        todo = [
            a for a in accounts if a in force or _needs_rescore(self.own.get(a), self.accounts[a].n)
        ]
        if not todo:
            return
        f = self._features(self.account_rows(todo))
        hours = f.get("observed_h", np.zeros(len(todo)))
        thr, hold = self.model.threshold, self.models.long_hold_h
        for a, scored, h in zip(todo, self._score(f, camp=False), hours, strict=True):
            self.own[a] = _next_score(
                self.own.get(a),
                self.accounts[a].n,
                scored,
                threshold=thr,
                observed_h=float(h),
                hold_h=hold,
            )

    def _rescore_groups(self, roots: Sequence[str], force: set[str] | None = None) -> None:
        """Re-score groups of linked accounts (campaigns) that grew enough (or are in
        ``force``), in one batch."""
        force = force or set()
        todo: list[tuple[str, int]] = []
        for root in roots:
            members = self.linkage.members(root)
            if len(members) < 2:
                continue
            n = sum(self.accounts[a].n for a in members if a in self.accounts)
            if not (root in force or _needs_rescore(self.camp.get(root), n)):
                continue
            parts = self.linkage.regroup(root)
            if len(parts) > 1:  # links that no longer hold: each part is judged afresh
                for part in parts:
                    self.camp.pop(part, None)
            for part in parts:
                members = self.linkage.members(part)
                if len(members) < 2:
                    continue
                n_part = sum(self.accounts[a].n for a in members if a in self.accounts)
                # a group linked by prompt templates alone may be a public benchmark's
                # users: a format 15 accounts show by mid-week can be common by the week's
                # end, when the scan no longer links them. Its accounts are judged alone.
                if self.linkage.infra_share.get(part, 1.0) < self.models.group_min_infra:
                    self.camp[part] = _Score(n_part, 0.0, ())
                else:
                    todo.append((part, n_part))
        if not todo:
            return
        f = self._features([self.group_row(root) for root, _ in todo])
        hours = f.get("observed_h", np.zeros(len(todo)))
        thr, hold = self.camp_model.threshold, self.models.long_hold_h
        for (root, n), scored, h in zip(todo, self._score(f, camp=True), hours, strict=True):
            self.camp[root] = _next_score(
                self.camp.get(root), n, scored, threshold=thr, observed_h=float(h), hold_h=hold
            )

    # ------------------------------------------------------------------ persistence

    def _maybe_checkpoint(self) -> None:
        if self.store is not None and time.monotonic() - self.last_checkpoint >= self.checkpoint_s:
            self.checkpoint()

    def _globals(self) -> dict[str, Any]:
        return {
            "start_ts": self.start_ts,
            "model_first": self.model_first,
            "max_tokens": self.max_tokens,
            "limits": self.limits,
            "release": self.release,
            "bursts": self.bursts,
            "linkage": self.linkage.to_json(),
            "peers": {a: t.to_json() for a, t in self.peers.tallies.items()}
            if self.peers is not None
            else {},
            # where the scan's model started holding a subject over the threshold
            "held": {
                "own": {a: s.long_from for a, s in self.own.items() if s.long_from is not None},
                "camp": {r: s.long_from for r, s in self.camp.items() if s.long_from is not None},
            },
        }

    def _load(self, store: StateStore) -> None:
        rows, glob = store.load()
        self.accounts = {a: AccountState.from_json(d) for a, d in rows.items()}
        if glob:
            self.start_ts = glob["start_ts"]
            self.model_first = dict(glob["model_first"])
            self.max_tokens = {m: dict(h) for m, h in glob["max_tokens"].items()}
            self.limits = dict(glob["limits"])
            self.release = glob["release"]
            self.bursts = dict(glob["bursts"])
            self.linkage.load_json(glob["linkage"])
            if self.peers is not None:
                self.peers.tallies = {
                    a: PeerTally.from_json(t) for a, t in glob.get("peers", {}).items()
                }
        self._rescore(sorted(self.accounts))
        self._rescore_groups(sorted(self.linkage.groups))
        held = glob.get("held", {}) if glob else {}
        for scores, saved in ((self.own, held.get("own", {})), (self.camp, held.get("camp", {}))):
            for key, since in saved.items():
                score = scores.get(key)
                if score is not None and score.long_from is not None:  # still held
                    score.long_from = min(score.long_from, float(since))


def _higher(
    risk: np.ndarray,
    contrib: dict[str, np.ndarray],
    other: np.ndarray,
    other_contrib: dict[str, np.ndarray],
    where: np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Risk and contributions of the other model where ``where`` holds and it is higher."""
    use = where & (other > risk)
    return np.where(use, other, risk), {
        s: np.where(use, other_contrib[s], contrib[s]) for s in contrib
    }


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _logit_array(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-15, 1.0 - 1e-15)
    return np.asarray(np.log(q / (1.0 - q)), dtype=np.float64)


def _quantile(hist: Mapping[str, int], q: float) -> float:
    items = sorted((float(k), c) for k, c in hist.items())
    total = sum(c for _, c in items)
    acc = 0
    for value, c in items:
        acc += c
        if acc >= q * total:
            return value
    return items[-1][0]


def _flagged_accounts(path: Path) -> dict[str, str]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ScoringError(f"list {path} cannot be read: {exc}; fix or remove it") from exc
    if rows and ("account_id" not in rows[0] or "flagged" not in rows[0]):
        raise ScoringError(
            f"list {path} has no account_id/flagged columns; use a scan's accounts.csv"
        )
    return {
        r["account_id"]: r.get("campaign_id") or ""
        for r in rows
        if str(r.get("flagged", "")).lower() == "true"
    }


def _with_text_features(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import pyarrow as pa

    from distillwatch.features.text import text_features

    batch = pa.RecordBatch.from_pydict(
        {
            "request_id": pa.array([str(e.get("request_id") or i) for i, e in enumerate(events)]),
            "prompt": pa.array([str(e.get("prompt") or "") for e in events], pa.string()),
            "system_prompt": pa.array([e.get("system_prompt") for e in events], pa.string()),
        }
    )
    tf = text_features(batch).to_pydict()
    tf.pop("request_id", None)
    out = []
    for i, e in enumerate(events):
        row = dict(e)
        for name, values in tf.items():
            row[name] = values[i]
        out.append(row)
    return out


def open_scorer(
    state: Path,
    *,
    lists: Path | None = None,
    peers: OnlinePeers | None = None,
    checkpoint_s: float = 10.0,
    flush_s: float = FLUSH_S,
) -> OnlineScorer:
    """A scorer persisted in the SQLite file ``state`` (created if missing), with lists and
    peers' intel, learning in a background thread every ``flush_s`` seconds."""
    scorer = OnlineScorer(
        store=StateStore(state), lists=lists, peers=peers, checkpoint_s=checkpoint_s
    )
    scorer.start(interval_s=flush_s)
    return scorer

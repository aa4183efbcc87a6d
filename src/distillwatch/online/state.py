"""One account's behaviour so far, in bounded memory, and the scan's features from it.

:class:`AccountState` holds counters, a 24-hour histogram, a running mean and variance of
request gaps, distinct-count sketches and top-k counters, updated one request at a time
(:meth:`AccountState.learn`). :meth:`AccountState.features` returns the same feature
columns as the batch scan's ``account_features`` (``features/subject.py``, ``timing.py``,
``provenance.py``, ``pivot.py``) so the scan's signals and risk model score it unchanged.
Where the batch value needs the whole window, the online one is the running equivalent:

- template ids are exact hashes of the prompt's head and tail (the scan clusters
  near-duplicates over the whole window); template counts are Space-Saving top-k;
- distinct prompts and skeletons are k-minimum-values estimates (exact under 256);
- a conversation's first turn becomes a follow-up when its second turn arrives (the last
  ``MAX_CONVERSATIONS`` conversations are tracked);
- a request's ``max_ratio`` uses the model's output limit known at that time.

Campaign states are their accounts' states merged (:func:`merge`).

>>> from datetime import datetime, UTC
>>> s = AccountState()
>>> for i in range(3):
...     s.learn({"ts": 1_700_000_000.0 + 60 * i, "n_messages": 1, "content_hash": i}, Context())
>>> f = s.features()
>>> f["n_requests"], f["single_turn_share"], round(f["gap_cv"], 3)
(3.0, 1.0, 0.0)
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from distillwatch.online.sketch import Distinct, TopCounts

MAX_CONVERSATIONS = 512
MAX_SET = 64
MAX_GAP_S = 3600.0
NEAR_MAX_RATIO = 0.9
TEMPLATE_MIN_COUNT = 3
TEMPLATE_MIN_SHARE = 0.05
N_DOMAINS = 16
BURST_S = 30 * 60
SETTLE_S = 86400.0
INTENTS = ("cot", "reveal", "rubric", "synth")


def epoch(value: Any) -> float | None:
    """Seconds since the epoch of a datetime or a number (None stays None)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


@dataclass
class Context:
    """What one request's features need from the population (kept by the scorer)."""

    #: output limit per model (requests at >= 90% of it are "near max")
    model_limit: Mapping[str, float] = field(default_factory=dict)
    #: when the first new model appeared (see ``features/pivot.py``), None before
    release: float | None = None
    #: models first seen more than a day after the start
    new_models: frozenset[str] = frozenset()


class AccountState:
    """Running per-account (or per-campaign) behaviour; see the module docstring."""

    def __init__(self) -> None:
        self.n = 0
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.days: set[int] = set()
        self.hours = [0] * 24
        self.tokens_out = 0.0
        self.counts: dict[str, int] = {}
        self.conversations: OrderedDict[str, list[int]] = OrderedDict()
        self.followups = 0
        self.langs: set[str] = set()
        self.domains: dict[str, int] = {}
        self.models: set[str] = set()
        self.content = Distinct()
        self.skeletons = Distinct()
        self.system_prompts = Distinct(k=64)
        self.heads = TopCounts()
        self.tails = TopCounts()
        self.pairs = TopCounts(cap=128)
        self.gaps = [0.0, 0.0, 0.0]  # count, mean, M2 (Welford)
        self.created_at: float | None = None
        self.channel: str | None = None
        self.first_new: float | None = None

    # ------------------------------------------------------------------ learning

    def _count(self, name: str, yes: bool = True) -> None:
        if yes:
            self.counts[name] = self.counts.get(name, 0) + 1

    def learn(self, ev: Mapping[str, Any], ctx: Context) -> None:
        """Add one request (canonical fields plus the text feature columns)."""
        ts = epoch(ev.get("ts")) or 0.0
        if self.last_ts is not None and ts >= self.last_ts:
            gap = ts - self.last_ts
            if gap < MAX_GAP_S:
                g = self.gaps
                g[0] += 1
                d = gap - g[1]
                g[1] += d / g[0]
                g[2] += d * (gap - g[1])
        self.n += 1
        self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
        self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)
        if len(self.days) < 4 * MAX_SET:
            self.days.add(int(ts // 86400))
        self.hours[int(ts // 3600) % 24] += 1
        self.tokens_out += float(ev.get("completion_tokens") or 0) + float(
            ev.get("reasoning_tokens") or 0
        )
        model = str(ev.get("model") or "")
        limit = ctx.model_limit.get(model)
        max_tokens = ev.get("max_tokens")
        if limit and max_tokens is not None:
            self._count("near_max", float(max_tokens) / max(limit, 1.0) >= NEAR_MAX_RATIO)
        self._count("logprobs", bool(ev.get("logprobs")) or (ev.get("top_logprobs") or 0) > 0)
        self._count("multi_n", (ev.get("n") or 1) > 1)
        self._count("length_cut", ev.get("finish_reason") == "length")
        self._count("temperature_zero", ev.get("temperature") == 0)
        system = ev.get("system_prompt")
        self._count("system_prompt", bool(system))
        if system is not None:
            self.system_prompts.add(stable_int(str(system)))
        n_messages = ev.get("n_messages")
        conv = ev.get("conversation_id")
        self._count("turn_info", n_messages is not None or conv is not None)
        self._learn_turn(conv, (n_messages or 1) > 1)
        any_intent = False
        for name in INTENTS:
            hit = bool(ev.get(f"intent_{name}"))
            self._count(name, hit)
            any_intent = any_intent or hit
        self._count("intent", any_intent)
        lang = ev.get("lang")
        if lang and lang != "und" and len(self.langs) < MAX_SET:
            self.langs.add(str(lang))
        domain = ev.get("domain")
        if domain is not None:
            self.domains[str(domain)] = self.domains.get(str(domain), 0) + 1
        if model and len(self.models) < MAX_SET:
            self.models.add(model)
        if ev.get("content_hash") is not None:
            self.content.add(int(ev["content_hash"]))
        if ev.get("skeleton_hash") is not None:
            self.skeletons.add(int(ev["skeleton_hash"]))
        head, tail = template_key(ev.get("head")), template_key(ev.get("tail"))
        self.heads.add(head)
        self.tails.add(tail)
        self.pairs.add(f"{head}|{tail}")
        if self.created_at is None:
            self.created_at = epoch(ev.get("account_created_at"))
            self.channel = ev.get("signup_channel")
        if ctx.release is not None and ts >= ctx.release:
            self._count("after")
            if model in ctx.new_models:
                self._count("new_after")
                self.first_new = ts if self.first_new is None else min(self.first_new, ts)
        else:
            self._count("prior")

    def _learn_turn(self, conv: Any, multi: bool) -> None:
        """Follow-ups: several messages, or a conversation seen more than once."""
        if conv is None:
            self.followups += int(multi)
            return
        key = str(conv)
        entry = self.conversations.get(key)
        before = 0 if entry is None else _conv_followups(entry)
        if entry is None:
            entry = [0, 0]
            self.conversations[key] = entry
            if len(self.conversations) > MAX_CONVERSATIONS:
                self.conversations.popitem(last=False)
        else:
            self.conversations.move_to_end(key)
        entry[0] += 1
        entry[1] += int(multi)
        self.followups += _conv_followups(entry) - before

    # ------------------------------------------------------------------ features

    def features(self, *, burst_size: int = 1, context: Context | None = None) -> dict[str, float]:
        """The batch scan's per-account feature columns, from this state."""
        n = float(max(self.n, 1))
        c = self.counts
        days = float(max(len(self.days), 1))
        min_count = max(n * TEMPLATE_MIN_SHARE, TEMPLATE_MIN_COUNT)
        heads = {k for k, v in self.heads.counts.items() if v >= min_count}
        tails = {k for k, v in self.tails.counts.items() if v >= min_count}
        templated = sum(
            v
            for k, v in self.pairs.counts.items()
            if k.split("|", 1)[0] in heads or k.split("|", 1)[1] in tails
        )
        g = self.gaps
        gap_cv = math.sqrt(g[2] / g[0]) / max(g[1], 1e-3) if g[0] > 0 else 2.0
        age = (
            max(((self.first_ts or 0.0) - self.created_at) / 86400.0, 0.0)
            if self.created_at is not None
            else math.nan
        )
        ctx = context or Context()
        after = float(c.get("after", 0))
        return {
            "n_requests": float(self.n),
            "n_active_days": float(len(self.days)),
            "n_hours_active": float(sum(1 for h in self.hours if h)),
            "hour_entropy": _entropy(self.hours, 24),
            "req_per_day": self.n / days,
            "tokens_out_per_day": self.tokens_out / days,
            "near_max_share": c.get("near_max", 0) / n,
            "logprobs_share": c.get("logprobs", 0) / n,
            "multi_n_share": c.get("multi_n", 0) / n,
            "length_cut_share": c.get("length_cut", 0) / n,
            "single_turn_share": (self.n - self.followups) / n,
            "has_turn_info": c.get("turn_info", 0) / n,
            "templated_share": min(templated / n, 1.0),
            "n_templates": float(len(heads)),
            "cot_share": c.get("cot", 0) / n,
            "reveal_share": c.get("reveal", 0) / n,
            "rubric_share": c.get("rubric", 0) / n,
            "synth_share": c.get("synth", 0) / n,
            "intent_share": c.get("intent", 0) / n,
            "distinct_content_ratio": min(self.content.estimate() / n, 1.0),
            "distinct_skeleton_ratio": min(self.skeletons.estimate() / n, 1.0),
            "n_domains": float(len(self.domains)),
            "domain_entropy": _entropy(list(self.domains.values()), N_DOMAINS),
            "n_langs": float(len(self.langs)),
            "temperature_zero_share": c.get("temperature_zero", 0) / n,
            "system_prompt_share": c.get("system_prompt", 0) / n,
            "n_system_prompts": self.system_prompts.estimate(),
            "n_models": float(len(self.models)),
            "n_gaps": g[0],
            "gap_cv": gap_cv,
            "age_days": age,
            "young_share": float(not math.isnan(age) and age < 3.0),
            "burst_size": float(burst_size),
            "prior_n": float(c.get("prior", 0)),
            "after_n": after,
            "new_after_n": float(c.get("new_after", 0)),
            "pivot_share": c.get("new_after", 0) / max(after, 1.0),
            "pivot_lag_h": (
                (self.first_new - ctx.release) / 3600.0
                if self.first_new is not None and ctx.release is not None
                else math.nan
            ),
            "n_accounts": 1.0,
            "link_strength": 0.0,
            # not a scan feature: how long the subject has been observed (online/model.py)
            "observed_h": ((self.last_ts or 0.0) - (self.first_ts or 0.0)) / 3600.0,
        }

    # ------------------------------------------------------------------ persistence

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "days": sorted(self.days),
            "hours": self.hours,
            "tokens_out": self.tokens_out,
            "counts": self.counts,
            "conversations": [[k, v] for k, v in self.conversations.items()],
            "followups": self.followups,
            "langs": sorted(self.langs),
            "domains": self.domains,
            "models": sorted(self.models),
            "content": self.content.to_json(),
            "skeletons": self.skeletons.to_json(),
            "system_prompts": self.system_prompts.to_json(),
            "heads": self.heads.counts,
            "tails": self.tails.counts,
            "pairs": self.pairs.counts,
            "gaps": self.gaps,
            "created_at": self.created_at,
            "channel": self.channel,
            "first_new": self.first_new,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AccountState:
        s = cls()
        s.n = int(d["n"])
        s.first_ts, s.last_ts = d["first_ts"], d["last_ts"]
        s.days = set(d["days"])
        s.hours = list(d["hours"])
        s.tokens_out = float(d["tokens_out"])
        s.counts = dict(d["counts"])
        s.conversations = OrderedDict((k, list(v)) for k, v in d["conversations"])
        s.followups = int(d["followups"])
        s.langs, s.models = set(d["langs"]), set(d["models"])
        s.domains = dict(d["domains"])
        s.content = Distinct.from_json(d["content"])
        s.skeletons = Distinct.from_json(d["skeletons"])
        s.system_prompts = Distinct.from_json(d["system_prompts"], k=64)
        s.heads = TopCounts(counts=d["heads"])
        s.tails = TopCounts(counts=d["tails"])
        s.pairs = TopCounts(cap=128, counts=d["pairs"])
        s.gaps = list(d["gaps"])
        s.created_at, s.channel, s.first_new = d["created_at"], d["channel"], d["first_new"]
        return s


def template_key(text: Any) -> str:
    """A short stable id of a prompt head or tail (exact text; '' when absent)."""
    if not text:
        return ""
    return hashlib.blake2b(str(text).encode("utf-8"), digest_size=6).hexdigest()


def stable_int(text: str) -> int:
    """A 64-bit hash of ``text`` that is the same in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def _conv_followups(entry: list[int]) -> int:
    count, multi = entry
    return count if count > 1 else multi


def _entropy(counts: Iterable[int], n_values: int) -> float:
    values = [c for c in counts if c > 0]
    total = float(sum(values))
    if total <= 0 or len(values) < 2:
        return 0.0
    h = -sum((c / total) * math.log(c / total) for c in values)
    return min(max(h / math.log(n_values), 0.0), 1.0)


def merge(states: Iterable[AccountState]) -> AccountState:
    """One state for a group of accounts (a campaign): counters summed, sketches merged."""
    out = AccountState()
    states = list(states)
    out.content = Distinct(values=[v for s in states for v in s.content.values])
    out.skeletons = Distinct(values=[v for s in states for v in s.skeletons.values])
    out.system_prompts = Distinct(k=64, values=[v for s in states for v in s.system_prompts.values])
    for s in states:
        out.n += s.n
        for attr in ("first_ts", "first_new"):
            a, b = getattr(out, attr), getattr(s, attr)
            setattr(out, attr, b if a is None else (a if b is None else min(a, b)))
        if s.last_ts is not None:
            out.last_ts = s.last_ts if out.last_ts is None else max(out.last_ts, s.last_ts)
        out.days |= s.days
        out.hours = [a + b for a, b in zip(out.hours, s.hours, strict=True)]
        out.tokens_out += s.tokens_out
        for k, v in s.counts.items():
            out.counts[k] = out.counts.get(k, 0) + v
        out.followups += s.followups
        out.langs |= s.langs
        out.models |= s.models
        for k, v in s.domains.items():
            out.domains[k] = out.domains.get(k, 0) + v
        out.heads = out.heads.merged(s.heads)
        out.tails = out.tails.merged(s.tails)
        out.pairs = out.pairs.merged(s.pairs)
    return out

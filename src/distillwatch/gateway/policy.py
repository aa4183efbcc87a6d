"""From a scorer's :class:`~distillwatch.online.api.Verdict` to a :class:`Decision`.

Rules are tried in order; the first whose conditions all hold decides, else ``[default]``.
``throttle`` keeps one token bucket per account and rule: a request takes a token, or is
refused (429, ``rate_limited``) with the seconds until the next token.

>>> from distillwatch.online.api import Verdict
>>> from distillwatch.gateway.settings import Policy, Rule
>>> clock = iter([0.0, 0.0, 0.0, 0.5]).__next__
>>> slow = Rule("throttle", "slow", min_risk=0.5, rate=2.0, burst=2)
>>> engine = PolicyEngine(Policy(rules=(slow,)), clock=clock)
>>> v = Verdict("acct-1", risk=0.7, flagged=False)
>>> [(d.action, d.status) for d in (engine.decide(v) for _ in range(4))]
[('throttle', None), ('throttle', None), ('throttle', 429), ('throttle', None)]
>>> engine.decide(Verdict("acct-2", risk=0.1, flagged=False)).action
'allow'
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from distillwatch.gateway.settings import Policy, Rule
from distillwatch.online.api import Verdict

#: reason code of a throttled request refused because its bucket is empty
RATE_LIMITED = "rate_limited"
#: most token buckets kept; the least recently used is dropped beyond it (its account
#: starts again with a full bucket)
MAX_BUCKETS = 100_000
_REFUSAL_STATUS = {"challenge": 403, "block": 403}


@dataclass(frozen=True)
class Decision:
    """What the policy says about one request."""

    #: the matched rule's action (one of ``settings.ACTIONS``)
    action: str
    #: the matched rule's name, ``default`` when none matched
    rule: str
    #: HTTP status of the refusal (403 challenge/block, 429 throttled); None: forward
    status: int | None = None
    reason_code: str | None = None
    #: what the refused client reads
    message: str | None = None
    #: seconds until the account's bucket has a token again (throttle refusals)
    retry_after_s: float | None = None

    @property
    def refused(self) -> bool:
        return self.status is not None


class TokenBucket:
    """*burst* tokens at most, refilled at *rate* per second.

    >>> b = TokenBucket(rate=1.0, burst=1, now=0.0)
    >>> b.take(0.0), b.take(0.25), b.take(1.0)
    (0.0, 0.75, 0.0)
    """

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float) -> float:
        """Take a token: 0.0 when one was there, else the seconds until there is one."""
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


def matches(rule: Rule, verdict: Verdict) -> bool:
    """Whether every condition *rule* sets holds for *verdict*.

    >>> matches(Rule("block", flagged=True, in_campaign=True),
    ...         Verdict("a", risk=0.9, flagged=True, campaign_id="cmp-1"))
    True
    """
    if rule.min_risk is not None and not verdict.risk >= rule.min_risk:
        return False
    if rule.flagged is not None and verdict.flagged != rule.flagged:
        return False
    if rule.in_campaign is not None and (verdict.campaign_id is not None) != rule.in_campaign:
        return False
    return rule.listed is None or verdict.listed == rule.listed


class PolicyEngine:
    """Applies a :class:`Policy`; holds the token buckets (one event loop, no locking)."""

    def __init__(
        self,
        policy: Policy,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.max_buckets = max_buckets
        self.buckets_: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()

    def rule_for(self, verdict: Verdict) -> Rule:
        """The first rule that matches, else the default."""
        for rule in self.policy.rules:
            if matches(rule, verdict):
                return rule
        return self.policy.default

    def decide(self, verdict: Verdict) -> Decision:
        """The decision for one request of ``verdict.account_id`` (takes a throttle token)."""
        rule = self.rule_for(verdict)
        if rule.action == "throttle":
            wait = self._take(rule, verdict.account_id)
            if wait > 0.0:
                return Decision(
                    "throttle",
                    rule.name,
                    status=429,
                    reason_code=RATE_LIMITED,
                    message="Rate limit reached for this account; retry later.",
                    retry_after_s=wait,
                )
        return Decision(
            rule.action,
            rule.name,
            status=_REFUSAL_STATUS.get(rule.action),
            reason_code=rule.reason_code,
            message=rule.message,
        )

    def _take(self, rule: Rule, account: str) -> float:
        assert rule.rate is not None and rule.burst is not None
        now = self.clock()
        key = (rule.name, account)
        bucket = self.buckets_.get(key)
        if bucket is None:
            bucket = self.buckets_[key] = TokenBucket(rule.rate, rule.burst, now)
            while len(self.buckets_) > self.max_buckets:
                self.buckets_.popitem(last=False)
        else:
            self.buckets_.move_to_end(key)
        return bucket.take(now)

"""Rules -> decisions and token buckets, without servers (a fake clock)."""

from __future__ import annotations

import pytest

from distillwatch.gateway.policy import PolicyEngine, TokenBucket, matches
from distillwatch.gateway.settings import Rule, parse_policy
from distillwatch.online.api import Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


POLICY = parse_policy(
    {
        "rule": [
            {"name": "campaign", "flagged": True, "in_campaign": True, "action": "block"},
            {"name": "high", "min_risk": 0.8, "action": "challenge", "reason_code": "kyc"},
            {"name": "listed", "listed": True, "action": "throttle", "rate": 1.0, "burst": 3},
            {"name": "flagged", "flagged": True, "action": "strip_reasoning"},
        ],
        "default": {"action": "monitor"},
    }
)


@pytest.mark.parametrize(
    ("verdict", "rule", "action", "status", "code"),
    [
        (Verdict("a", 0.95, True, campaign_id="c1"), "campaign", "block", 403, "account_blocked"),
        (Verdict("a", 0.95, True), "high", "challenge", 403, "kyc"),
        (Verdict("a", 0.5, False, listed=True), "listed", "throttle", None, None),
        (Verdict("a", 0.6, True), "flagged", "strip_reasoning", None, None),
        (Verdict("a", 0.1, False), "default", "monitor", None, None),
        (Verdict("a", 0.1, False, campaign_id="c1"), "default", "monitor", None, None),
    ],
)
def test_first_matching_rule_wins(verdict, rule, action, status, code):
    d = PolicyEngine(POLICY, clock=Clock()).decide(verdict)
    assert (d.rule, d.action, d.status, d.reason_code, d.refused) == (
        rule,
        action,
        status,
        code,
        status is not None,
    )


def test_conditions_all_must_hold():
    rule = Rule("block", min_risk=0.7, flagged=True, in_campaign=False, listed=False)
    assert matches(rule, Verdict("a", 0.7, True))
    assert not matches(rule, Verdict("a", 0.69, True))
    assert not matches(rule, Verdict("a", 0.9, False))
    assert not matches(rule, Verdict("a", 0.9, True, campaign_id="c"))
    assert not matches(rule, Verdict("a", 0.9, True, listed=True))
    assert not matches(Rule("block", min_risk=0.5), Verdict("a", float("nan"), True))


def test_token_bucket_refills_at_its_rate_up_to_burst():
    b = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [b.take(0.0) for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
    assert b.take(0.5) == 0.0 and b.take(0.5) == pytest.approx(0.5)
    # a long idle time refills to burst, not beyond
    assert [b.take(60.0) for _ in range(4)][-1] == pytest.approx(0.5)
    # a clock that goes backwards never adds tokens
    assert b.take(10.0) > 0.0


def test_throttle_is_per_account_and_refuses_with_retry_after():
    clock = Clock()
    engine = PolicyEngine(POLICY, clock=clock)
    listed = Verdict("x", 0.3, False, listed=True)
    got = [engine.decide(listed) for _ in range(4)]
    assert [d.status for d in got] == [None, None, None, 429]
    assert got[3].reason_code == "rate_limited" and got[3].retry_after_s == pytest.approx(1.0)
    assert engine.decide(Verdict("y", 0.3, False, listed=True)).status is None
    clock.now += 1.0
    assert engine.decide(listed).status is None


def test_bucket_count_is_bounded_least_recently_used_first():
    engine = PolicyEngine(POLICY, clock=Clock(), max_buckets=2)
    for account in ("a", "b", "a", "c"):
        engine.decide(Verdict(account, 0.3, False, listed=True))
    assert [k[1] for k in engine.buckets_] == ["a", "c"]

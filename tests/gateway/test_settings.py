"""Policy files: the packaged default loads, every mistake is one line naming the key."""

from __future__ import annotations

import ipaddress
from importlib import resources
from pathlib import Path

import pytest

from distillwatch.errors import GatewayError
from distillwatch.gateway.settings import ACTIONS, load_policy, parse_policy


def packaged() -> Path:
    return Path(str(resources.files("distillwatch.config").joinpath("policy.toml")))


def test_packaged_policy_is_valid_and_uses_its_directory_for_the_log():
    policy = load_policy(packaged())
    assert policy.mode == "dry-run" and policy.fail == "open"
    assert not policy.log_prompts and not policy.expose_decision
    assert policy.decision_log == packaged().parent / "decisions.jsonl"
    assert [r.action for r in policy.rules] == [
        "block",
        "challenge",
        "strip_reasoning",
        "throttle",
        "monitor",
    ]
    assert policy.default.action == "allow"
    # peers' lists never block alone: every block/challenge rule needs the scorer's own flag
    assert all(r.flagged for r in policy.rules if r.action in ("block", "challenge"))


def test_a_full_policy_round_trips(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        """
mode = "enforce"
fail = "closed"
log_prompts = true
expose_decision = true
decision_log = "/var/log/dw/decisions.jsonl"
account = "header:X-Account"
trusted_proxies = ["10.0.0.0/8", "2001:db8::1"]
[upstream]
timeout_s = 30
max_connections = 50
max_keepalive = 10
[scorer]
checkpoint_s = 5
[[rule]]
name = "slow"
min_risk = 0.5
listed = false
action = "throttle"
rate = 2
burst = 10
[default]
action = "monitor"
"""
    )
    p = load_policy(path)
    assert (p.mode, p.fail, p.log_prompts, p.expose_decision) == ("enforce", "closed", True, True)
    assert p.decision_log == Path("/var/log/dw/decisions.jsonl")
    assert p.account_header == "X-Account"
    assert p.trusted_proxies[1] == ipaddress.ip_network("2001:db8::1/128")
    assert (p.upstream.timeout_s, p.upstream.max_connections, p.checkpoint_s) == (30.0, 50, 5.0)
    rule = p.rules[0]
    assert (rule.name, rule.min_risk, rule.listed, rule.rate, rule.burst) == (
        "slow",
        0.5,
        False,
        2.0,
        10,
    )
    assert p.default.action == "monitor" and p.uses("throttle") and not p.uses("mark")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"mode": "observe"}, "mode 'observe' must be one of"),
        ({"fail": True}, "fail True must be one of"),
        ({"log_prompt": False}, "unknown key log_prompt"),
        ({"log_prompts": "no"}, "log_prompts must be true or false"),
        ({"decision_log": ""}, "decision_log must be a file path"),
        ({"account": "cookie"}, 'account \'cookie\' must be "bearer" or "header:<header name>"'),
        ({"account": "header:X-A"}, "needs trusted_proxies"),
        ({"trusted_proxies": ["10.0.0.300"]}, "trusted_proxies entry '10.0.0.300'"),
        ({"upstream": {"timeout": 5}}, "unknown key upstream.timeout"),
        ({"upstream": {"timeout_s": 0}}, "upstream.timeout_s must be a number > 0"),
        ({"upstream": {"max_keepalive": 900}}, "max_keepalive must not exceed"),
        ({"scorer": {"checkpoint_s": -1}}, "scorer.checkpoint_s must be a number > 0"),
        ({"rule": {"action": "allow"}}, "write each rule as [[rule]]"),
        ({"rule": [{"flagged": True}]}, "rule[1] has no action"),
        ({"rule": [{"action": "deny"}]}, "rule[1].action 'deny' is not an action"),
        (
            {"rule": [{"action": "block", "min_risk": 1.5}]},
            "rule[1].min_risk must be a number from 0 to 1",
        ),
        (
            {"rule": [{"action": "block", "flagged": "yes"}]},
            "rule[1].flagged must be true or false",
        ),
        ({"rule": [{"action": "block", "campaign": True}]}, "unknown key rule[1].campaign"),
        ({"rule": [{"action": "throttle", "rate": 1}]}, "throttle needs rate"),
        (
            {"rule": [{"action": "throttle", "rate": 0, "burst": 1}]},
            "rule[1].rate must be a number > 0",
        ),
        (
            {"rule": [{"action": "throttle", "rate": 1, "burst": 0.5}]},
            "rule[1].burst must be a whole number",
        ),
        (
            {"rule": [{"action": "block", "rate": 1}]},
            "rule[1].rate applies only to action throttle",
        ),
        ({"rule": [{"action": "block", "reason_code": "Bad Code"}]}, "must be lower_snake_case"),
        (
            {"rule": [{"action": "allow", "message": "hi"}]},
            "message applies only to challenge and block",
        ),
        (
            {"rule": [{"action": "block"}, {"flagged": True, "action": "allow"}]},
            "rule[1] has no condition, so the rules after it never match",
        ),
        (
            {
                "rule": [
                    {"name": "a", "flagged": True, "action": "block"},
                    {"name": "a", "listed": True, "action": "monitor"},
                ]
            },
            "two rules are named 'a'",
        ),
        (
            {"default": {"action": "block", "flagged": True}},
            "default.flagged: [default] applies when",
        ),
        ({"default": {"action": "nope"}}, "default.action 'nope' is not an action"),
    ],
)
def test_policy_errors_name_the_key(data, expected):
    with pytest.raises(GatewayError) as err:
        parse_policy(data, source="p.toml")
    message = str(err.value)
    assert message.startswith("policy p.toml: ") and expected in message
    assert "\n" not in message


def test_file_errors(tmp_path):
    with pytest.raises(GatewayError, match="does not exist; copy the default"):
        load_policy(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("mode = enforce\n")
    with pytest.raises(GatewayError, match="is not valid TOML"):
        load_policy(bad)


def test_every_action_is_accepted():
    for action in ACTIONS:
        extra = {"rate": 1.0, "burst": 1} if action == "throttle" else {}
        policy = parse_policy({"rule": [{"flagged": True, "action": action, **extra}]})
        assert policy.rules[0].action == action

"""How a gateway runs: :class:`GatewaySettings` and the policy file it enforces.

The policy is a TOML file (``src/distillwatch/config/policy.toml`` is the commented
default); :func:`load_policy` validates all of it and raises a one-line
:class:`~distillwatch.errors.GatewayError` naming the bad key and what to do.

>>> p = parse_policy({"mode": "dry-run", "rule": [{"flagged": True, "action": "block"}]})
>>> p.mode, p.rules[0].action, p.rules[0].reason_code, p.default.action
('dry-run', 'block', 'account_blocked', 'allow')
>>> try:
...     parse_policy({"rule": [{"action": "deny"}]})
... except GatewayError as exc:
...     print(str(exc)[:50])
policy: rule[1].action 'deny' is not an action; us
"""

from __future__ import annotations

import ipaddress
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from distillwatch.errors import GatewayError

#: every action a rule may take, mildest first
ACTIONS = ("allow", "monitor", "throttle", "challenge", "block", "strip_reasoning", "mark")
#: the reason code of a refusal when the rule names none
DEFAULT_REASON_CODES = {"challenge": "verification_required", "block": "account_blocked"}
#: the default message of a refusal (the client sees it; say nothing about detection)
DEFAULT_MESSAGES = {
    "challenge": "Additional verification is required for this account. "
    "Please contact support to continue using the API.",
    "block": "This account has been blocked. Please contact support.",
}
CONDITIONS = ("min_risk", "flagged", "in_campaign", "listed")
_RULE_KEYS = ("name", "action", *CONDITIONS, "rate", "burst", "reason_code", "message")
_TOP_KEYS = (
    "mode",
    "fail",
    "log_prompts",
    "expose_decision",
    "decision_log",
    "account",
    "trusted_proxies",
    "upstream",
    "scorer",
    "default",
    "rule",
)
_UPSTREAM_KEYS = ("connect_timeout_s", "timeout_s", "max_connections", "max_keepalive")
_SCORER_KEYS = ("checkpoint_s",)
_REASON_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Rule:
    """One ``[[rule]]``: every condition given must hold; then ``action`` is taken.

    >>> Rule("throttle", rate=2.0, burst=5).conditions()
    {}
    """

    action: str
    name: str = ""
    min_risk: float | None = None
    flagged: bool | None = None
    in_campaign: bool | None = None
    listed: bool | None = None
    #: throttle: tokens per second and bucket size, per account
    rate: float | None = None
    burst: int | None = None
    #: the code a refusal carries (challenge / block); any rule may set one for the log
    reason_code: str | None = None
    #: the text a refused client reads (challenge / block)
    message: str | None = None

    def conditions(self) -> dict[str, float | bool]:
        """The conditions that are set."""
        values = {
            "min_risk": self.min_risk,
            "flagged": self.flagged,
            "in_campaign": self.in_campaign,
            "listed": self.listed,
        }
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class UpstreamLimits:
    """How the gateway talks to the upstream server."""

    connect_timeout_s: float = 5.0
    #: longest wait for the response's headers, for the whole non-streamed body, and
    #: between two chunks of a stream; beyond it the client gets 504
    timeout_s: float = 300.0
    max_connections: int = 500
    max_keepalive: int = 100


@dataclass(frozen=True)
class Policy:
    """The validated policy file. Stores only."""

    rules: tuple[Rule, ...] = ()
    default: Rule = field(default_factory=lambda: Rule("allow", name="default"))
    mode: Literal["enforce", "dry-run"] = "enforce"
    fail: Literal["open", "closed"] = "open"
    log_prompts: bool = False
    expose_decision: bool = False
    #: the JSONL decision log (None: decisions are not written anywhere)
    decision_log: Path | None = None
    #: ``bearer`` (a hash of the client's API key) or ``header:<name>``
    account: str = "bearer"
    trusted_proxies: tuple[Network, ...] = ()
    upstream: UpstreamLimits = field(default_factory=UpstreamLimits)
    #: passed to the scorer: persist its state at least this often
    checkpoint_s: float = 30.0

    @property
    def account_header(self) -> str | None:
        """The header that names the account, when ``account = "header:<name>"``."""
        return self.account.partition(":")[2] if self.account.startswith("header:") else None

    def uses(self, action: str) -> bool:
        """Whether any rule (or the default) takes *action*."""
        return any(r.action == action for r in (*self.rules, self.default))


@dataclass(frozen=True)
class GatewaySettings:
    """Settings of one gateway process. Stores only; nothing is checked or opened here.

    >>> s = GatewaySettings(upstream="http://127.0.0.1:8000", dry_run=True)
    >>> s.port, s.dry_run_active
    (8720, True)
    """

    upstream: str
    policy: Policy = field(default_factory=Policy)
    #: the key file for /v1/score and /metrics (None: both answer 401)
    keys: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8720
    #: ``--dry-run``: only log, whatever the policy's ``mode``
    dry_run: bool = False
    log_level: str = "info"

    @property
    def dry_run_active(self) -> bool:
        return self.dry_run or self.policy.mode == "dry-run"


def load_policy(path: Path) -> Policy:
    """Read and validate the policy file at *path*; a relative ``decision_log`` is taken
    relative to the file's directory."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise GatewayError(
            f"policy file {path} does not exist; copy the default from "
            "distillwatch/config/policy.toml"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise GatewayError(f"policy file {path} cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise GatewayError(f"policy file {path} is not valid TOML: {exc}") from exc
    return parse_policy(data, source=str(path), base_dir=path.parent)


def parse_policy(
    data: Mapping[str, Any], *, source: str = "", base_dir: Path | None = None
) -> Policy:
    """Validate a parsed policy table (what :func:`load_policy` reads)."""
    where = f"policy {source}".strip()

    def fail(msg: str) -> GatewayError:
        return GatewayError(f"{where}: {msg}")

    _unknown(data, _TOP_KEYS, "", fail)
    mode = _choice(data, "mode", ("enforce", "dry-run"), "enforce", fail)
    fail_mode = _choice(data, "fail", ("open", "closed"), "open", fail)
    log_prompts = _bool(data, "log_prompts", False, fail)
    expose = _bool(data, "expose_decision", False, fail)
    decision_log: Path | None = None
    if "decision_log" in data:
        raw = data["decision_log"]
        if not isinstance(raw, str) or not raw.strip():
            raise fail("decision_log must be a file path (a non-empty string)")
        decision_log = Path(raw).expanduser()
        if base_dir is not None and not decision_log.is_absolute():
            decision_log = base_dir / decision_log
    account = data.get("account", "bearer")
    if not isinstance(account, str) or not (
        account == "bearer"
        or (account.startswith("header:") and _HEADER_NAME.match(account[7:]) is not None)
    ):
        raise fail(f'account {account!r} must be "bearer" or "header:<header name>"')
    proxies = _proxies(data.get("trusted_proxies", []), fail)
    if account.startswith("header:") and not proxies:
        raise fail(
            f'account = "{account}" needs trusted_proxies (the gateways allowed to set the '
            'header); list their addresses, or use account = "bearer"'
        )
    upstream = _upstream(data.get("upstream", {}), fail)
    scorer = data.get("scorer", {})
    if not isinstance(scorer, Mapping):
        raise fail("[scorer] must be a table")
    _unknown(scorer, _SCORER_KEYS, "scorer.", fail)
    checkpoint_s = _positive(scorer, "checkpoint_s", 30.0, "scorer.", fail)
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise fail("rule must be an array of tables: write each rule as [[rule]]")
    rules = tuple(_rule(r, f"rule[{i}]", fail) for i, r in enumerate(raw_rules, 1))
    names = [r.name for r in rules]
    for name in names:
        if names.count(name) > 1:
            raise fail(f"two rules are named {name!r}; give each rule its own name")
    for i, r in enumerate(rules[:-1], 1):
        if not r.conditions():
            raise fail(
                f"rule[{i}] has no condition, so the rules after it never match; "
                "give it a condition or move its action to [default]"
            )
    raw_default = data.get("default", {"action": "allow"})
    if not isinstance(raw_default, Mapping):
        raise fail('[default] must be a table, e.g. action = "allow"')
    bad = [k for k in CONDITIONS if k in raw_default]
    if bad:
        raise fail(
            f"default.{bad[0]}: [default] applies when no rule matched; it takes no conditions"
        )
    default = _rule({"name": "default", **raw_default}, "default", fail)
    return Policy(
        rules=rules,
        default=default,
        mode=mode,  # type: ignore[arg-type]
        fail=fail_mode,  # type: ignore[arg-type]
        log_prompts=log_prompts,
        expose_decision=expose,
        decision_log=decision_log,
        account=account,
        trusted_proxies=proxies,
        upstream=upstream,
        checkpoint_s=checkpoint_s,
    )


# -- helpers ---------------------------------------------------------------------------------

Fail = Any  # Callable[[str], GatewayError]; kept loose so the helpers stay one-liners


def _unknown(table: Mapping[str, Any], known: tuple[str, ...], prefix: str, fail: Fail) -> None:
    for key in table:
        if key not in known:
            raise fail(f"unknown key {prefix}{key}; known keys: {', '.join(known)}")


def _choice(
    table: Mapping[str, Any], key: str, options: tuple[str, ...], default: str, fail: Fail
) -> str:
    value = table.get(key, default)
    if value not in options:
        raise fail(f"{key} {value!r} must be one of " + ", ".join(f'"{o}"' for o in options))
    return str(value)


def _bool(table: Mapping[str, Any], key: str, default: bool, fail: Fail) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise fail(f"{key} must be true or false, got {value!r}")
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _positive(table: Mapping[str, Any], key: str, default: float, prefix: str, fail: Fail) -> float:
    value = table.get(key, default)
    if not _number(value) or value <= 0:
        raise fail(f"{prefix}{key} must be a number > 0, got {value!r}")
    return float(value)


def _count(table: Mapping[str, Any], key: str, default: int, prefix: str, fail: Fail) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(f"{prefix}{key} must be a whole number >= 1, got {value!r}")
    return value


def _proxies(raw: Any, fail: Fail) -> tuple[Network, ...]:
    if not isinstance(raw, list):
        raise fail('trusted_proxies must be a list of addresses or networks, e.g. ["10.0.0.0/8"]')
    out: list[Network] = []
    for item in raw:
        try:
            out.append(ipaddress.ip_network(str(item), strict=False))
        except ValueError:
            raise fail(
                f"trusted_proxies entry {item!r} is not an IP address or network "
                '(e.g. "10.0.0.5" or "10.0.0.0/8")'
            ) from None
    return tuple(out)


def _upstream(raw: Any, fail: Fail) -> UpstreamLimits:
    if not isinstance(raw, Mapping):
        raise fail("[upstream] must be a table")
    _unknown(raw, _UPSTREAM_KEYS, "upstream.", fail)
    d = UpstreamLimits()
    limits = UpstreamLimits(
        connect_timeout_s=_positive(
            raw, "connect_timeout_s", d.connect_timeout_s, "upstream.", fail
        ),
        timeout_s=_positive(raw, "timeout_s", d.timeout_s, "upstream.", fail),
        max_connections=_count(raw, "max_connections", d.max_connections, "upstream.", fail),
        max_keepalive=_count(raw, "max_keepalive", d.max_keepalive, "upstream.", fail),
    )
    if limits.max_keepalive > limits.max_connections:
        raise fail("upstream.max_keepalive must not exceed upstream.max_connections")
    return limits


def _rule(raw: Any, where: str, fail: Fail) -> Rule:
    if not isinstance(raw, Mapping):
        raise fail(f"{where} must be a table")
    _unknown(raw, _RULE_KEYS, f"{where}.", fail)
    action = raw.get("action")
    if action is None:
        raise fail(f"{where} has no action; add action = one of {', '.join(ACTIONS)}")
    if action not in ACTIONS:
        raise fail(f"{where}.action {action!r} is not an action; use one of {', '.join(ACTIONS)}")
    name = raw.get("name", where)
    if not isinstance(name, str) or not name.strip():
        raise fail(f"{where}.name must be a non-empty string")
    min_risk = raw.get("min_risk")
    if min_risk is not None and (not _number(min_risk) or not 0.0 <= min_risk <= 1.0):
        raise fail(f"{where}.min_risk must be a number from 0 to 1, got {min_risk!r}")
    flags: dict[str, bool | None] = {}
    for key in ("flagged", "in_campaign", "listed"):
        value = raw.get(key)
        if value is not None and not isinstance(value, bool):
            raise fail(f"{where}.{key} must be true or false, got {value!r}")
        flags[key] = value
    for key in ("rate", "burst"):
        if key in raw and action != "throttle":
            raise fail(f"{where}.{key} applies only to action throttle (this rule: {action})")
    rate: float | None = None
    burst: int | None = None
    if action == "throttle":
        if "rate" not in raw or "burst" not in raw:
            raise fail(
                f"{where}: throttle needs rate (requests per second per account) and burst "
                "(requests allowed at once), e.g. rate = 1.0, burst = 20"
            )
        rate = _positive(raw, "rate", 1.0, f"{where}.", fail)
        burst = _count(raw, "burst", 1, f"{where}.", fail)
    reason = raw.get("reason_code", DEFAULT_REASON_CODES.get(action))
    if reason is not None and (not isinstance(reason, str) or not _REASON_CODE.match(reason)):
        raise fail(
            f"{where}.reason_code {reason!r} must be lower_snake_case "
            "(a-z, 0-9, _; up to 64 characters)"
        )
    message = raw.get("message", DEFAULT_MESSAGES.get(action))
    if "message" in raw and action not in DEFAULT_MESSAGES:
        raise fail(f"{where}.message applies only to challenge and block (this rule: {action})")
    if message is not None and (not isinstance(message, str) or not message.strip()):
        raise fail(f"{where}.message must be a non-empty string")
    return Rule(
        action=action,
        name=name,
        min_risk=None if min_risk is None else float(min_risk),
        flagged=flags["flagged"],
        in_campaign=flags["in_campaign"],
        listed=flags["listed"],
        rate=rate,
        burst=burst,
        reason_code=reason,
        message=message,
    )

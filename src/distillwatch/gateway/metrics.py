"""Prometheus metrics of one gateway app, in a registry of its own (not the global one, so
several apps in one process, as in tests, do not collide).

>>> m = build_metrics()
>>> m.requests.labels(route="/v1/chat/completions", action="allow").inc()
>>> text = m.render().decode()
>>> [ln for ln in text.splitlines() if ln.startswith("distillwatch_gateway_requests_total")]
['distillwatch_gateway_requests_total{action="allow",route="/v1/chat/completions"} 1.0']
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

#: the Content-Type of :meth:`GatewayMetrics.render`
CONTENT_TYPE = CONTENT_TYPE_LATEST
_PREFIX = "distillwatch_gateway"
_SCORE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
_UPSTREAM_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


@dataclass(frozen=True)
class GatewayMetrics:
    """The gateway's metrics (names below without the ``distillwatch_gateway_`` prefix)."""

    registry: CollectorRegistry
    #: requests_total{route, action}: every request answered, by the action taken
    requests: Counter
    #: decisions_total{action, reason_code, dry_run}: the policy's decisions (in dry-run
    #: mode the action it would have taken)
    decisions: Counter
    #: scoring_seconds: time in ``scorer.score_one``
    scoring: Histogram
    #: upstream_seconds{route}: time until the upstream's response headers
    upstream: Histogram
    #: upstream_errors_total{kind}: unreachable, timeout, stream_broken
    upstream_errors: Counter
    #: scorer_failures_total{method}: score_one, learn_one, reload raising
    scorer_failures: Counter
    #: decision_log_errors_total: decision lines that could not be written
    log_errors: Counter

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


def build_metrics() -> GatewayMetrics:
    """A fresh registry with every gateway metric registered."""
    reg = CollectorRegistry(auto_describe=True)
    return GatewayMetrics(
        registry=reg,
        requests=Counter(
            f"{_PREFIX}_requests",
            "Requests answered, by route and action taken",
            ["route", "action"],
            registry=reg,
        ),
        decisions=Counter(
            f"{_PREFIX}_decisions",
            "Policy decisions, by action, reason code and dry-run",
            ["action", "reason_code", "dry_run"],
            registry=reg,
        ),
        scoring=Histogram(
            f"{_PREFIX}_scoring_seconds",
            "Time spent in the scorer's score_one",
            buckets=_SCORE_BUCKETS,
            registry=reg,
        ),
        upstream=Histogram(
            f"{_PREFIX}_upstream_seconds",
            "Time until the upstream's response headers",
            ["route"],
            buckets=_UPSTREAM_BUCKETS,
            registry=reg,
        ),
        upstream_errors=Counter(
            f"{_PREFIX}_upstream_errors",
            "Upstream failures: unreachable, timeout, stream_broken",
            ["kind"],
            registry=reg,
        ),
        scorer_failures=Counter(
            f"{_PREFIX}_scorer_failures",
            "Scorer calls that raised, by method",
            ["method"],
            registry=reg,
        ),
        log_errors=Counter(
            f"{_PREFIX}_decision_log_errors",
            "Decision log lines that could not be written",
            registry=reg,
        ),
    )

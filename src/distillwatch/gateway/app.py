"""``create_app(settings, scorer)``: the gateway as an ASGI application.

Routes: ``POST /v1/chat/completions`` and ``POST /v1/completions`` (scored, decided,
forwarded to the upstream or refused), ``POST /v1/score`` and ``POST /v1/reload`` (key
role ``score``), ``GET /metrics`` (role ``metrics``), ``GET /healthz`` (open).

Per proxied request: parse the body, attribute it to an account (401 if it cannot be),
``score_one`` on the event loop, decide, then forward or refuse; after the response (or
the stream's end) ``learn_one`` with the response's usage and status, one decision line,
metrics. Nothing is done at import; the upstream client is opened by the app's lifespan.

The two proxied routes are served by a lean ASGI handler (:meth:`Gateway.proxy`) and the
upstream is reached with one pooled ``aiohttp.ClientSession`` (:func:`open_upstream`): the
per-request CPU of Starlette's request/response objects and of httpx is most of what a
proxy costs. Everything else (own endpoints, 404/405, the lifespan) goes through Starlette.

>>> from distillwatch.online.api import Verdict
>>> class Quiet:
...     def score_one(self, event): return Verdict(event["account_id"], 0.0, False)
...     def learn_one(self, event): pass
...     def reload(self): pass
...     def checkpoint(self): pass
>>> app = create_app(GatewaySettings(upstream="http://127.0.0.1:9"), Quiet())
>>> sorted(r.path for r in app.routes)[:3]
['/healthz', '/metrics', '/v1/chat/completions']
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from yarl import URL

from distillwatch.errors import GatewayError
from distillwatch.gateway.decisions import DecisionLog, DecisionRecord
from distillwatch.gateway.keys import KeyRejected, KeyRing
from distillwatch.gateway.metrics import CONTENT_TYPE, GatewayMetrics, build_metrics
from distillwatch.gateway.policy import Decision, PolicyEngine
from distillwatch.gateway.reasoning import (
    Marker,
    ReasoningStripper,
    SSETransformer,
    StreamMarker,
    mark_json,
    strip_reasoning_json,
)
from distillwatch.gateway.requests import (
    CHAT,
    COMPLETIONS,
    ClientError,
    SSETail,
    identify,
    response_fields,
    to_event,
)
from distillwatch.gateway.settings import GatewaySettings, UpstreamLimits
from distillwatch.online.api import Scorer, Verdict

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("distillwatch.gateway")

DECISION_HEADER = "x-distillwatch-decision"
#: pseudo-actions logged when no policy decision could be made
UNSCORED = "unscored"  # reason code: scorer failed, fail = "open", forwarded
SCORING_UNAVAILABLE = "scoring_unavailable"  # reason code: scorer failed, fail = "closed"
MARKER_MISSING = "marker_missing"  # reason code: mark without a configured marker
MARKER_FAILED = "marker_failed"  # reason code: the marker raised; served unmarked
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = _HOP_BY_HOP | {"host", "content-length", "accept-encoding"}
_NOT_RETURNED = _HOP_BY_HOP | {"content-length", "content-encoding", "date", "server"}
_NOT_RETURNED_B = frozenset(h.encode() for h in _NOT_RETURNED)
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    429: "rate_limit_error",
}
_TRANSFORMING = ("strip_reasoning", "mark")
#: the GIL switch interval while a gateway runs (Python's default: 5 ms). A scorer that learns
#: in a thread of the gateway's process holds the GIL for up to this long each time the event
#: loop wakes up, several times per request; 1 ms keeps that from adding tens of ms to p99
GIL_SWITCH_S = 0.001
_PROXIED = frozenset({CHAT, COMPLETIONS})


def error_body(status: int, code: str, message: str) -> bytes:
    """An OpenAI-style error body: ``{"error": {"message", "type", "param", "code"}}``.

    >>> error_body(403, "account_blocked", "No.")
    b'{"error":{"message":"No.","type":"permission_error","param":null,"code":"account_blocked"}}'
    """
    body = {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status, "server_error"),
            "param": None,
            "code": code,
        }
    }
    return orjson.dumps(body)


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """An OpenAI-style error (:func:`error_body`) as a Starlette response."""
    return Response(
        error_body(status, code, message), status, headers, media_type="application/json"
    )


def _json_response(
    obj: Any, status: int = 200, background: BackgroundTask | None = None
) -> Response:
    return Response(orjson.dumps(obj), status, media_type="application/json", background=background)


def _connection_named(value: str | None) -> set[str]:
    """Headers named in ``Connection`` are hop-by-hop too."""
    if not value:
        return set()
    return {h.strip().lower() for h in value.split(",") if h.strip()}


def open_upstream(limits: UpstreamLimits) -> aiohttp.ClientSession:
    """The upstream client: one ``aiohttp.ClientSession`` with a keep-alive connection pool of
    at most ``limits.max_connections``; ``limits.connect_timeout_s`` bounds opening a
    connection, ``limits.timeout_s`` the wait for a free connection, for the response
    headers and between two reads of the body. No cookies, no redirects, no proxy from the
    environment, and no headers of its own (the client's are forwarded). Open it inside the
    running event loop; close it with ``await session.close()``.

    >>> async def check():
    ...     session = open_upstream(UpstreamLimits(max_connections=8))
    ...     limit = session.connector.limit
    ...     await session.close()
    ...     return limit
    >>> asyncio.run(check())
    8
    """
    connector = aiohttp.TCPConnector(
        limit=limits.max_connections, limit_per_host=0, ttl_dns_cache=60
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(
            total=None,
            connect=limits.timeout_s + limits.connect_timeout_s,
            sock_connect=limits.connect_timeout_s,
            sock_read=limits.timeout_s,
        ),
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        skip_auto_headers=("User-Agent", "Accept", "Content-Type"),
    )


async def read_body(receive: Receive) -> bytes:
    """The whole request body of an ASGI ``http`` scope."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    parts = [body]
    while message.get("more_body", False):
        message = await receive()
        parts.append(message.get("body", b""))
    return b"".join(parts)


async def send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Answer an ASGI request with an OpenAI-style error (:func:`error_body`)."""
    body = error_body(status, code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass
class Exchange:
    """One proxied request on its way through the gateway."""

    route: str
    event: dict[str, Any]
    #: perf_counter() at arrival
    started: float
    #: time.time() at arrival (the decision's ts)
    arrived: float = field(default_factory=time.time)
    verdict: Verdict | None = None
    decision: Decision | None = None
    #: the action taken (``allow`` for everything in dry-run)
    action: str = "allow"
    #: the action the policy chose, logged as would_action in dry-run
    would_action: str | None = None
    reason_code: str | None = None
    score_ms: float | None = None
    status: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    done: bool = False


class Gateway:
    """The app's state and handlers. Stores only; the upstream client opens in ``startup``."""

    def __init__(
        self,
        settings: GatewaySettings,
        scorer: Scorer,
        engine: PolicyEngine,
        keys: KeyRing,
        metrics: GatewayMetrics,
        decisions: DecisionLog,
        marker: Marker | None,
    ) -> None:
        self.settings = settings
        self.policy = settings.policy
        self.dry_run = settings.dry_run_active
        self.scorer = scorer
        self.engine = engine
        self.keys = keys
        self.metrics = metrics
        self.decisions = decisions
        self.marker = marker
        self.upstream_base = settings.upstream.rstrip("/")
        self.client_: aiohttp.ClientSession | None = None
        #: the upstream URL of each proxied route (built once)
        self.urls_: dict[str, URL] = {}
        #: labelled metric children, looked up once per label set
        self.counters_: dict[tuple[str, ...], Any] = {}
        #: the scorer's last score_one failed (log on changes only, not per request)
        self.scorer_down_ = False
        #: the process's GIL switch interval before startup (restored at shutdown)
        self.switch_interval_: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def startup(self) -> None:
        self.switch_interval_ = sys.getswitchinterval()
        sys.setswitchinterval(min(self.switch_interval_, GIL_SWITCH_S))
        self.client_ = open_upstream(self.policy.upstream)
        self.urls_ = {route: URL(self.upstream_base + route) for route in (CHAT, COMPLETIONS)}
        if self.policy.uses("mark") and self.marker is None:
            log.warning(
                "the policy uses action mark but no marker is configured (give gateway serve "
                "--marks DIR): such responses are served unchanged and logged as %s",
                MARKER_MISSING,
            )

    async def shutdown(self) -> None:
        if self.client_ is not None:
            await self.client_.close()
            self.client_ = None
        try:
            self.scorer.checkpoint()
        except Exception:
            self.metrics.scorer_failures.labels(method="checkpoint").inc()
            log.exception("the scorer's final checkpoint failed")
        self.decisions.close()
        if self.switch_interval_ is not None:
            sys.setswitchinterval(self.switch_interval_)
            self.switch_interval_ = None

    # -- metrics -----------------------------------------------------------------------------

    def _count_request(self, route: str, action: str) -> None:
        key = ("requests", route, action)
        child = self.counters_.get(key)
        if child is None:
            child = self.counters_[key] = self.metrics.requests.labels(route=route, action=action)
        child.inc()

    def _count_decision(self, action: str, reason_code: str) -> None:
        key = ("decisions", action, reason_code)
        child = self.counters_.get(key)
        if child is None:
            child = self.counters_[key] = self.metrics.decisions.labels(
                action=action, reason_code=reason_code, dry_run="true" if self.dry_run else "false"
            )
        child.inc()

    def _observe_upstream(self, route: str, seconds: float) -> None:
        key = ("upstream", route)
        child = self.counters_.get(key)
        if child is None:
            child = self.counters_[key] = self.metrics.upstream.labels(route=route)
        child.observe(seconds)

    # -- scoring and deciding ----------------------------------------------------------------

    def _score(self, ex: Exchange) -> None:
        """Score and decide; on scorer failure apply the fail mode."""
        t = time.perf_counter()
        try:
            ex.verdict = self.scorer.score_one(ex.event)
        except Exception as exc:
            self.metrics.scorer_failures.labels(method="score_one").inc()
            if not self.scorer_down_:
                self.scorer_down_ = True
                log.error("scoring fails (%s); fail = %s until it recovers", exc, self.policy.fail)
            if self.policy.fail == "closed":
                ex.decision = Decision(
                    "unavailable",
                    "fail",
                    status=503,
                    reason_code=SCORING_UNAVAILABLE,
                    message="The service is temporarily unavailable; retry later.",
                )
            else:
                ex.decision = Decision("allow", "fail", reason_code=UNSCORED)
        else:
            if self.scorer_down_:
                self.scorer_down_ = False
                log.warning("scoring works again")
            ex.score_ms = (time.perf_counter() - t) * 1000.0
            self.metrics.scoring.observe(ex.score_ms / 1000.0)
            ex.decision = self.engine.decide(ex.verdict)
        decision = ex.decision
        ex.reason_code = decision.reason_code
        if self.dry_run:
            ex.action, ex.would_action = "allow", decision.action
        else:
            ex.action = decision.action
        self._count_decision(decision.action, decision.reason_code or "")

    def _finish(self, ex: Exchange) -> None:
        """Learn the request and log the decision (once)."""
        if ex.done:
            return
        ex.done = True
        ex.event.update(ex.fields)
        ex.event["status"] = ex.status
        try:
            self.scorer.learn_one(ex.event)
        except Exception as exc:
            self.metrics.scorer_failures.labels(method="learn_one").inc()
            log.warning("learn_one failed (%s); the request is not in the account's state", exc)
        self._count_request(ex.route, ex.action)
        v = ex.verdict
        record = DecisionRecord(
            ts=ex.arrived,
            request_id=str(ex.event.get("request_id")),
            route=ex.route,
            account_id=ex.event.get("account_id"),
            action=ex.action,
            would_action=ex.would_action,
            rule=ex.decision.rule if ex.decision else None,
            reason_code=ex.reason_code,
            reasons=v.reasons if v is not None else (),
            risk=v.risk if v is not None else None,
            flagged=v.flagged if v is not None else None,
            campaign_id=v.campaign_id if v is not None else None,
            status=ex.status,
            latency_ms=(time.perf_counter() - ex.started) * 1000.0,
            score_ms=ex.score_ms,
            prompt=ex.event.get("prompt") if self.policy.log_prompts else None,
        )
        try:
            self.decisions.write(record)
        except OSError as exc:
            self.metrics.log_errors.inc()
            log.error("decision log %s cannot be written: %s", self.decisions.path, exc)

    # -- the proxy (a plain ASGI handler) ----------------------------------------------------

    async def proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ``POST`` to a proxied route (ASGI)."""
        started, arrived = time.perf_counter(), time.time()
        route: str = scope["path"]
        raw = await read_body(receive)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            self._count_request(route, "invalid")
            await send_error(send, 400, "invalid_json", "The request body must be a JSON object.")
            return
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        headers: dict[str, str] = {}
        for name, value in raw_headers:
            key = name.decode("latin-1")
            if key not in headers:  # the first of repeated headers, like Starlette's get()
                headers[key] = value.decode("latin-1")
        client = scope.get("client")
        peer = client[0] if client else None
        try:
            who = identify(headers, peer, self.policy)
        except ClientError as exc:
            self._count_request(route, "unattributed")
            await send_error(send, exc.status, exc.code, str(exc))
            return
        event = to_event(
            route,
            body,
            who,
            request_id=headers.get("x-request-id") or uuid.uuid4().hex,
            ts=arrived,
            user_agent=headers.get("user-agent"),
        )
        ex = Exchange(route, event, started, arrived)
        self._score(ex)
        decision = ex.decision
        assert decision is not None
        if decision.refused and not self.dry_run:
            await self._refuse(send, ex, decision)
            return
        transform = ex.action if ex.action in _TRANSFORMING else None
        if transform == "mark" and self.marker is None:
            ex.reason_code = MARKER_MISSING
            transform = None
        drop = _NOT_FORWARDED | _connection_named(headers.get("connection"))
        out_headers = [(k, v) for k, v in headers.items() if k not in drop]
        if len(headers) < len(raw_headers):  # repeated headers: forward every value
            out_headers = [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in raw_headers
                if k.decode("latin-1") not in drop
            ]
        out_headers.append(("accept-encoding", "identity"))
        await self._forward(scope, receive, send, raw, out_headers, ex, transform)

    def _decision_headers(self, ex: Exchange) -> list[tuple[bytes, bytes]]:
        if not self.policy.expose_decision:
            return []
        return [(DECISION_HEADER.encode(), ex.action.encode())]

    async def _refuse(self, send: Send, ex: Exchange, decision: Decision) -> None:
        assert decision.status is not None
        ex.status = decision.status
        headers = self._decision_headers(ex)
        if decision.retry_after_s is not None:
            headers.append((b"retry-after", b"%d" % max(1, math.ceil(decision.retry_after_s))))
        await send_error(
            send,
            decision.status,
            decision.reason_code or "refused",
            decision.message or "This request was refused.",
            headers,
        )
        self._finish(ex)

    async def _upstream_failure(self, send: Send, ex: Exchange, exc: BaseException) -> None:
        timeout = isinstance(exc, TimeoutError)
        kind = "timeout" if timeout else "unreachable"
        self.metrics.upstream_errors.labels(kind=kind).inc()
        log.warning("upstream %s for %s: %r", kind, ex.route, exc)
        ex.status = 504 if timeout else 502
        ex.fields = {}
        if timeout:
            await send_error(
                send, 504, "upstream_timeout", "The upstream server did not answer in time."
            )
        else:
            await send_error(
                send, 502, "upstream_unreachable", "The upstream server cannot be reached."
            )
        self._finish(ex)

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        raw: bytes,
        out_headers: list[tuple[str, str]],
        ex: Exchange,
        transform: str | None,
    ) -> None:
        client = self.client_
        if client is None:
            raise GatewayError("the gateway's upstream client is not open (lifespan not run)")
        url = self.urls_[ex.route]
        query: bytes = scope.get("query_string", b"")
        if query:
            url = URL(str(url) + "?" + query.decode("latin-1"), encoded=True)
        t = time.perf_counter()
        try:
            resp = await client.request(
                "POST", url, data=raw, headers=out_headers, allow_redirects=False
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            await self._upstream_failure(send, ex, exc)
            return
        self._observe_upstream(ex.route, time.perf_counter() - t)
        ex.status = resp.status
        drop_back = _NOT_RETURNED_B | {
            h.encode("latin-1") for h in _connection_named(resp.headers.get("connection"))
        }
        back = [(k, v) for k, v in resp.raw_headers if k.lower() not in drop_back]
        back += self._decision_headers(ex)
        if "text/event-stream" in resp.headers.get("content-type", ""):
            await self._stream(receive, send, ex, resp, back, transform)
            return
        try:
            content = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            resp.close()
            await self._upstream_failure(send, ex, exc)
            return
        content = self._rewrite_body(ex, content, transform)
        back.append((b"content-length", b"%d" % len(content)))
        await send({"type": "http.response.start", "status": resp.status, "headers": back})
        await send({"type": "http.response.body", "body": content})
        self._finish(ex)

    def _rewrite_body(self, ex: Exchange, content: bytes, transform: str | None) -> bytes:
        """Read usage from a JSON body; strip or mark it when the decision says so."""
        try:
            obj = orjson.loads(content)
        except orjson.JSONDecodeError:
            return content
        ex.fields = response_fields(obj)
        if transform is None:
            return content
        if transform == "strip_reasoning":
            changed = strip_reasoning_json(obj)
        else:
            assert self.marker is not None
            try:
                changed = mark_json(
                    obj, self.marker, ex.verdict.campaign_id if ex.verdict else None
                )
            except Exception:
                log.exception("the marker failed; serving the response unmarked")
                ex.reason_code = MARKER_FAILED
                return content
        return orjson.dumps(obj) if changed else content

    async def _after(self, ex: Exchange) -> None:
        self._finish(ex)

    async def _stream(
        self,
        receive: Receive,
        send: Send,
        ex: Exchange,
        resp: aiohttp.ClientResponse,
        back: list[tuple[bytes, bytes]],
        transform: str | None,
    ) -> None:
        """Relay an SSE response chunk by chunk as it arrives; stop when the client leaves."""
        tail = SSETail()
        rewriter: SSETransformer | None = None
        if transform == "strip_reasoning":
            rewriter = SSETransformer(ReasoningStripper())
        elif transform == "mark" and self.marker is not None:
            campaign = ex.verdict.campaign_id if ex.verdict else None
            rewriter = SSETransformer(StreamMarker(self.marker, campaign))

        async def relay() -> None:
            async for chunk in resp.content.iter_any():
                tail.feed(chunk)
                if rewriter is not None:
                    try:
                        chunk = rewriter.feed(chunk)
                    except Exception:
                        log.exception("rewriting the stream failed; ending it")
                        ex.reason_code = MARKER_FAILED if transform == "mark" else "rewrite_failed"
                        return
                    if not chunk:
                        continue
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if rewriter is not None:
                rest = rewriter.close()
                if rest:
                    await send({"type": "http.response.body", "body": rest, "more_body": True})

        await send({"type": "http.response.start", "status": resp.status, "headers": back})
        pump = asyncio.ensure_future(relay())
        # receive() answers http.disconnect when the client leaves (the body was read)
        gone = asyncio.ensure_future(receive())
        try:
            await asyncio.wait((pump, gone), return_when=asyncio.FIRST_COMPLETED)
            if pump.done():
                pump.result()
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.metrics.upstream_errors.labels(kind="stream_broken").inc()
            log.warning("upstream stream for %s broke off: %r", ex.route, exc)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            for task in (pump, gone):
                if not task.done():
                    task.cancel()
            if not pump.done():
                await asyncio.wait((pump,))
            if resp.content.at_eof():
                resp.release()
            else:
                resp.close()  # the client left or the stream broke: drop the connection
            ex.fields = tail.fields()
            self._finish(ex)

    # -- own endpoints -----------------------------------------------------------------------

    def _auth(self, request: Request, role: str) -> Response | None:
        try:
            self.keys.check(request.headers.get("authorization"), role)
        except KeyRejected as exc:
            code = "invalid_gateway_key" if exc.status == 401 else "wrong_key_role"
            headers = {"www-authenticate": 'Bearer realm="distillwatch-gateway"'}
            return error_response(
                exc.status, code, str(exc), headers if exc.status == 401 else None
            )
        except GatewayError as exc:
            log.error("%s", exc)
            return error_response(503, "key_file_unusable", "The gateway's key file is unusable.")
        return None

    async def score(self, request: Request) -> Response:
        started = time.perf_counter()
        denied = self._auth(request, "score")
        if denied is not None:
            self.metrics.requests.labels(route="/v1/score", action="unauthorized").inc()
            return denied
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            body = None
        problem = _event_problem(body)
        if problem is not None:
            self.metrics.requests.labels(route="/v1/score", action="invalid").inc()
            return error_response(400, "invalid_event", problem)
        event = dict(body)
        event.setdefault("request_id", uuid.uuid4().hex)
        event.setdefault("ts", time.time())
        event.setdefault("prompt", "")
        event.setdefault("model", "")
        ex = Exchange("/v1/score", event, started)
        self._score(ex)
        d = ex.decision
        assert d is not None
        if ex.verdict is None:
            ex.status = 503
            self._finish(ex)
            return error_response(503, SCORING_UNAVAILABLE, "The scorer is unavailable.")
        v = ex.verdict
        if d.refused and not self.dry_run and event.get("status") is None:
            ex.status = d.status
        else:
            ex.status = event.get("status")
        answer = {
            "decision": d.action,
            "reason_code": d.reason_code,
            "reasons": list(v.reasons),
            "risk": v.risk,
            "flagged": v.flagged,
            "campaign_id": v.campaign_id,
            "dry_run": self.dry_run,
            "rule": d.rule,
            "status": d.status,
            "retry_after": None if d.retry_after_s is None else math.ceil(d.retry_after_s),
        }
        return _json_response(answer, background=BackgroundTask(self._after, ex))

    async def reload(self, request: Request) -> Response:
        denied = self._auth(request, "score")
        if denied is not None:
            return denied
        try:
            self.scorer.reload()
        except Exception as exc:
            self.metrics.scorer_failures.labels(method="reload").inc()
            log.error("reload failed: %s", exc)
            return error_response(503, "reload_failed", f"The scorer could not reload: {exc}")
        return _json_response({"reloaded": True})

    async def metrics_endpoint(self, request: Request) -> Response:
        denied = self._auth(request, "metrics")
        if denied is not None:
            return denied
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)

    async def healthz(self, request: Request) -> Response:
        return _json_response({"status": "ok"})


def _event_problem(body: Any) -> str | None:
    """Why a /v1/score body is not an event, or None."""
    if not isinstance(body, dict):
        return "The body must be one event as a JSON object."
    account = body.get("account_id")
    if not isinstance(account, str) or not account:
        return "The event needs account_id (a non-empty string)."
    for key in ("prompt", "model", "request_id"):
        if key in body and not isinstance(body[key], str):
            return f"The event's {key} must be a string."
    return None


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        return error_response(405, "method_not_allowed", f"{request.method} is not allowed here.")
    return error_response(
        status, "not_found", f"{request.url.path} is not served by the distillwatch gateway."
    )


class _ProxyEndpoint:
    """The proxied routes as a Starlette route endpoint (an ASGI app, so Starlette adds no
    request/response objects); :class:`GatewayApp` calls the handler before routing."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.gateway.proxy(scope, receive, send)


class GatewayApp:
    """The gateway's ASGI app: ``POST`` to a proxied route goes straight to
    :meth:`Gateway.proxy`; everything else (own endpoints, 404/405, the lifespan) to a
    Starlette app."""

    def __init__(self, gateway: Gateway, fallback: Starlette) -> None:
        self.gateway = gateway
        self.fallback = fallback

    @property
    def routes(self) -> list[BaseRoute]:
        return self.fallback.routes

    @property
    def state(self) -> State:
        return self.fallback.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in _PROXIED:
            await self.gateway.proxy(scope, receive, send)
            return
        await self.fallback(scope, receive, send)


def create_app(
    settings: GatewaySettings, scorer: Scorer, *, marker: Marker | None = None
) -> GatewayApp:
    """The gateway app for *settings*, scoring with *scorer* and marking with *marker*."""
    if not settings.upstream.startswith(("http://", "https://")):
        raise GatewayError(
            f"--upstream {settings.upstream!r} must be an http:// or https:// base URL, "
            "e.g. http://127.0.0.1:8000"
        )
    gw = Gateway(
        settings,
        scorer,
        PolicyEngine(settings.policy),
        KeyRing(settings.keys),
        build_metrics(),
        DecisionLog(settings.policy.decision_log),
        marker,
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await gw.startup()
        try:
            yield
        finally:
            await gw.shutdown()

    endpoint = _ProxyEndpoint(gw)
    routes = [
        Route(CHAT, endpoint, methods=["POST"]),
        Route(COMPLETIONS, endpoint, methods=["POST"]),
        Route("/v1/score", gw.score, methods=["POST"]),
        Route("/v1/reload", gw.reload, methods=["POST"]),
        Route("/metrics", gw.metrics_endpoint, methods=["GET"]),
        Route("/healthz", gw.healthz, methods=["GET"]),
    ]
    fallback = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _not_found},
    )
    fallback.state.gateway = gw
    return GatewayApp(gw, fallback)

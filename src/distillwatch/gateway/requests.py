"""From an HTTP request to a canonical event (``docs/contracts.md`` section 1), and from the
upstream's response to the event's response fields.

Account identity follows the policy's ``account``: ``bearer`` makes ``account_id`` a short
SHA-256 of the client's API key (never the key), ``header:<name>`` takes it from a header
that a trusted gateway in front sets. ``ip`` is the peer address, or the client address
from ``X-Forwarded-For`` when the peer is one of ``trusted_proxies``.

>>> from distillwatch.gateway.settings import Policy
>>> who = identify({"authorization": "Bearer sk-test"}, "203.0.113.9", Policy())
>>> who.account_id, who.ip
('acct-f3abf2a6cc4f0098', '203.0.113.9')
>>> body = {"model": "m", "messages": [{"role": "system", "content": "Be brief."},
...         {"role": "user", "content": [{"type": "text", "text": "Why?"}]}], "n": 2}
>>> e = to_event("/v1/chat/completions", body, who, request_id="r1", ts=0.0)
>>> e["prompt"], e["system_prompt"], e["n_messages"], e["n"], e["account_id"]
('Why?', 'Be brief.', 2, 2, 'acct-f3abf2a6cc4f0098')
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from distillwatch.errors import GatewayError
from distillwatch.gateway.settings import Network, Policy

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
_SYSTEM_ROLES = ("system", "developer")


class ClientError(GatewayError):
    """A request the gateway refuses before scoring (answered with ``status`` and ``code``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Identity:
    """Who sent a request (never the API key itself)."""

    account_id: str
    api_key_id: str | None
    ip: str | None


def key_digest(api_key: str) -> str:
    """A short, stable, non-reversible id of an API key (16 hex digits of SHA-256).

    >>> key_digest("sk-test")
    'f3abf2a6cc4f0098'
    """
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


def bearer_key(authorization: str | None) -> str | None:
    """The API key of an ``Authorization: Bearer <key>`` header, else None.

    >>> bearer_key("Bearer  sk-1 "), bearer_key("Basic abc"), bearer_key(None)
    ('sk-1', None, None)
    """
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _in(addr: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str | None:
    """The client's address: the peer, unless the peer is a trusted proxy; then the right-most
    ``X-Forwarded-For`` entry that is not itself a trusted proxy.

    >>> net = (ipaddress.ip_network("10.0.0.0/8"),)
    >>> client_ip("10.0.0.2", "198.51.100.7, 10.0.0.9", net), client_ip("192.0.2.1", "1.2.3.4", net)
    ('198.51.100.7', '192.0.2.1')
    """
    if peer is None or not trusted or not forwarded_for or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop
    return hops[0] if hops else peer


def identify(headers: Mapping[str, str], peer: str | None, policy: Policy) -> Identity:
    """The request's account, key id and client address; ClientError (401) when it cannot be
    attributed to an account. *headers* must be looked up case-insensitively (lower-case)."""
    key = bearer_key(headers.get("authorization"))
    digest = key_digest(key) if key is not None else None
    key_id = None if digest is None else "key-" + digest
    ip = client_ip(peer, headers.get("x-forwarded-for"), policy.trusted_proxies)
    header = policy.account_header
    if header is None:
        if key is None:
            raise ClientError(
                401,
                "missing_credentials",
                "No API key provided. Send it as 'Authorization: Bearer <key>'.",
            )
        return Identity("acct-" + str(digest), key_id, ip)
    if peer is None or not _in(peer, policy.trusted_proxies):
        raise ClientError(
            401, "untrusted_peer", "This gateway only accepts requests from its trusted proxies."
        )
    account = (headers.get(header.lower()) or "").strip()
    if not account:
        raise ClientError(401, "missing_account", f"The {header} header is missing.")
    return Identity(account, key_id, ip)


def _text(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            p.get("text") if isinstance(p, dict) else p if isinstance(p, str) else None
            for p in content
        ]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def to_event(
    route: str,
    body: Mapping[str, Any],
    who: Identity,
    *,
    request_id: str,
    ts: float,
    user_agent: str | None = None,
) -> dict[str, Any]:
    """The canonical event of a ``/v1/chat/completions`` or ``/v1/completions`` body."""
    if route == CHAT:
        raw = body.get("messages")
        messages = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
        users = [m for m in messages if m.get("role") == "user"]
        prompt = _text(users[-1].get("content")) if users else ""
        systems = [_text(m.get("content")) for m in messages if m.get("role") in _SYSTEM_ROLES]
        system_prompt: str | None = "\n".join(systems) if systems else None
        n_messages = len(messages)
        logprobs = body.get("logprobs") if isinstance(body.get("logprobs"), bool) else None
        top_logprobs = _int(body.get("top_logprobs"))
    else:
        raw = body.get("prompt")
        if isinstance(raw, list):
            raw = next((p for p in raw if isinstance(p, str)), "")
        prompt = raw if isinstance(raw, str) else ""
        system_prompt = None
        n_messages = 1
        top_logprobs = _int(body.get("logprobs"))
        logprobs = None if top_logprobs is None else top_logprobs > 0
    tools = body.get("tools", body.get("functions"))
    stream = body.get("stream")
    max_tokens = _int(body.get("max_tokens"))
    if max_tokens is None:
        max_tokens = _int(body.get("max_completion_tokens"))
    model = body.get("model")
    return {
        "request_id": request_id,
        "ts": ts,
        "account_id": who.account_id,
        "api_key_id": who.api_key_id,
        "ip": who.ip,
        "user_agent": user_agent,
        "model": model if isinstance(model, str) else "",
        "system_prompt": system_prompt,
        "prompt": prompt,
        "n_messages": n_messages,
        "max_tokens": max_tokens,
        "temperature": _float(body.get("temperature")),
        "top_p": _float(body.get("top_p")),
        "n": _int(body.get("n")),
        "logprobs": logprobs,
        "top_logprobs": top_logprobs,
        "stream": stream if isinstance(stream, bool) else None,
        "tools": len(tools) if isinstance(tools, list) else None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "reasoning_tokens": None,
        "finish_reason": None,
        "status": None,
    }


def response_fields(obj: Any) -> dict[str, Any]:
    """``prompt_tokens``, ``completion_tokens``, ``reasoning_tokens`` and ``finish_reason``
    of a response body or final SSE chunk, as far as it carries them.

    >>> response_fields({"choices": [{"finish_reason": "stop"}], "usage": {
    ...     "prompt_tokens": 5, "completion_tokens": 9,
    ...     "completion_tokens_details": {"reasoning_tokens": 4}}})
    {'finish_reason': 'stop', 'prompt_tokens': 5, 'completion_tokens': 9, 'reasoning_tokens': 4}
    """
    out: dict[str, Any] = {}
    if not isinstance(obj, dict):
        return out
    choices = obj.get("choices")
    if isinstance(choices, list):
        for choice in choices:
            if isinstance(choice, dict) and isinstance(choice.get("finish_reason"), str):
                out["finish_reason"] = choice["finish_reason"]
                break
    usage = obj.get("usage")
    if isinstance(usage, dict):
        for key in ("prompt_tokens", "completion_tokens"):
            if _int(usage.get(key)) is not None:
                out[key] = usage[key]
        details = usage.get("completion_tokens_details")
        reasoning = _int(details.get("reasoning_tokens")) if isinstance(details, dict) else None
        if reasoning is None:
            reasoning = _int(usage.get("reasoning_tokens"))
        if reasoning is not None:
            out["reasoning_tokens"] = reasoning
    return out


def sse_fields(events: Iterable[bytes]) -> dict[str, Any]:
    """:func:`response_fields` over the ``data:`` payloads of a stream's last events
    (oldest first): the last value of each field wins."""
    out: dict[str, Any] = {}
    for payload in events:
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            continue
        out.update(response_fields(obj))
    return out


class SSETail:
    """Keeps the last bytes of a stream to read its usage and finish reason at the end.

    >>> t = SSETail()
    >>> t.feed(b'data: {"choices":[{"finish_reason":"length"}]}\\n\\n')
    >>> t.feed(b'data: {"choices":[],"usage":{"completion_tokens":3}}\\n\\ndata: [DONE]\\n\\n')
    >>> t.fields()
    {'finish_reason': 'length', 'completion_tokens': 3}
    """

    def __init__(self, keep: int = 64 * 1024) -> None:
        self.keep = keep
        self.buf = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.buf += chunk
        if len(self.buf) > 2 * self.keep:
            del self.buf[: len(self.buf) - self.keep]

    def fields(self) -> dict[str, Any]:
        text = bytes(self.buf).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        payloads = []
        for event in text.split(b"\n\n")[-16:]:
            data = [ln[5:].strip() for ln in event.split(b"\n") if ln.startswith(b"data:")]
            if data and data[0] != b"[DONE]":
                payloads.append(b"\n".join(data))
        return sse_fields(payloads)

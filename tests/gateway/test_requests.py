"""HTTP request -> canonical event, and response -> event fields, without servers."""

from __future__ import annotations

import hashlib
import ipaddress

import pytest

from distillwatch.gateway.requests import (
    CHAT,
    COMPLETIONS,
    ClientError,
    Identity,
    SSETail,
    client_ip,
    identify,
    response_fields,
    to_event,
)
from distillwatch.gateway.settings import parse_policy
from distillwatch.schema import FIELD_NAMES

WHO = Identity("acct-1", "key-1", "192.0.2.4")


def test_chat_body_maps_to_every_canonical_field():
    body = {
        "model": "teacher-2",
        "messages": [
            {"role": "developer", "content": "Rules."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "answer"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "part one"},
                    {"type": "image_url", "image_url": {"url": "x"}},
                    {"type": "text", "text": "part two"},
                ],
            },
        ],
        "max_completion_tokens": 900,
        "temperature": 1,
        "top_p": 0.9,
        "n": 4,
        "logprobs": True,
        "top_logprobs": 5,
        "stream": True,
        "tools": [{"type": "function"}, {"type": "function"}],
    }
    e = to_event(CHAT, body, WHO, request_id="r", ts=12.5, user_agent="sdk/1")
    assert e == {
        "request_id": "r",
        "ts": 12.5,
        "account_id": "acct-1",
        "api_key_id": "key-1",
        "ip": "192.0.2.4",
        "user_agent": "sdk/1",
        "model": "teacher-2",
        "system_prompt": "Rules.",
        "prompt": "part one\npart two",
        "n_messages": 4,
        "max_tokens": 900,
        "temperature": 1.0,
        "top_p": 0.9,
        "n": 4,
        "logprobs": True,
        "top_logprobs": 5,
        "stream": True,
        "tools": 2,
        "prompt_tokens": None,
        "completion_tokens": None,
        "reasoning_tokens": None,
        "finish_reason": None,
        "status": None,
    }
    assert set(e) <= set(FIELD_NAMES)


def test_completions_and_malformed_bodies_do_not_crash():
    e = to_event(
        COMPLETIONS,
        {"model": "m", "prompt": ["a", "b"], "logprobs": 0},
        WHO,
        request_id="r",
        ts=0.0,
    )
    assert (e["prompt"], e["n_messages"], e["logprobs"], e["top_logprobs"]) == ("a", 1, False, 0)
    odd = to_event(
        CHAT,
        {"model": 3, "messages": "x", "temperature": "hot", "n": True, "tools": {}},
        WHO,
        request_id="r",
        ts=0.0,
    )
    assert (odd["model"], odd["prompt"], odd["temperature"], odd["n"], odd["tools"]) == (
        "",
        "",
        None,
        None,
        None,
    )
    assert odd["system_prompt"] is None and odd["n_messages"] == 0


def test_bearer_identity_is_a_hash_never_the_key():
    who = identify({"authorization": "Bearer sk-live-123"}, "198.51.100.1", parse_policy({}))
    digest = hashlib.sha256(b"sk-live-123").hexdigest()[:16]
    assert who == Identity("acct-" + digest, "key-" + digest, "198.51.100.1")
    with pytest.raises(ClientError) as err:
        identify({}, "198.51.100.1", parse_policy({}))
    assert (err.value.status, err.value.code) == (401, "missing_credentials")


def test_header_identity_only_from_trusted_peers():
    policy = parse_policy({"account": "header:X-Org-User", "trusted_proxies": ["10.1.0.0/16"]})
    headers = {"x-org-user": "u-9", "x-forwarded-for": "203.0.113.50, 10.1.0.3"}
    assert identify(headers, "10.1.2.3", policy) == Identity("u-9", None, "203.0.113.50")
    for peer, hdrs, code in [
        ("10.2.0.1", headers, "untrusted_peer"),
        (None, headers, "untrusted_peer"),
        ("10.1.2.3", {"x-org-user": " "}, "missing_account"),
    ]:
        with pytest.raises(ClientError) as err:
            identify(hdrs, peer, policy)
        assert err.value.code == code


def test_client_ip_walks_forwarded_for_from_the_right():
    trusted = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client_ip("10.0.0.1", "1.1.1.1, 2.2.2.2, 10.0.0.7", trusted) == "2.2.2.2"
    assert client_ip("10.0.0.1", "10.0.0.5", trusted) == "10.0.0.5"
    assert client_ip("10.0.0.1", None, trusted) == "10.0.0.1"
    assert client_ip("8.8.8.8", "1.1.1.1", trusted) == "8.8.8.8"
    assert client_ip("10.0.0.1", "garbage, 3.3.3.3", trusted) == "3.3.3.3"


def test_response_fields_and_sse_tail():
    assert response_fields({"usage": {"completion_tokens": 3, "reasoning_tokens": 2}}) == {
        "completion_tokens": 3,
        "reasoning_tokens": 2,
    }
    assert response_fields({"error": {"message": "x"}}) == {} and response_fields([1]) == {}
    tail = SSETail(keep=160)
    tail.feed(b'data: {"choices":[{"delta":{"content":"' + b"x" * 500 + b'"}}]}\r\n\r\n')
    tail.feed(b'data: {"choices":[{"delta":{},"finish_reason":"stop"}],')
    tail.feed(b'"usage":{"prompt_tokens":4,"completion_tokens":8}}\r\n\r\ndata: [DONE]\r\n\r\n')
    assert len(tail.buf) <= 2 * 160
    assert tail.fields() == {"finish_reason": "stop", "prompt_tokens": 4, "completion_tokens": 8}

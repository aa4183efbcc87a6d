"""The reverse proxy against a real stub upstream, both on 127.0.0.1, driven with httpx."""

from __future__ import annotations

import hashlib
import threading

import httpx
import orjson
import pytest

CLIENT_KEY = "sk-client-secret-0001"
AUTH = {"Authorization": f"Bearer {CLIENT_KEY}"}
ACCOUNT = "acct-" + hashlib.sha256(CLIENT_KEY.encode()).hexdigest()[:16]
CHAT = {
    "model": "teacher-1",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is 2+2? Think step by step."},
    ],
    "temperature": 0.0,
    "max_tokens": 64,
}


def client() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=30)


def post(
    url: str,
    body: dict | None = None,
    headers: dict | None = None,
    path: str = "/v1/chat/completions",
):
    with client() as c:
        return c.post(
            url + path,
            json=CHAT if body is None else body,
            headers=AUTH if headers is None else headers,
        )


def stream_chunks(url: str, body: dict, on_first=None) -> tuple[httpx.Response, list[bytes]]:
    chunks: list[bytes] = []
    with (
        client() as c,
        c.stream("POST", url + "/v1/chat/completions", json=body, headers=AUTH) as r,
    ):
        for chunk in r.iter_raw():
            chunks.append(chunk)
            if len(chunks) == 1 and on_first is not None:
                on_first()
    return r, chunks


def sse_objects(data: bytes) -> list[dict]:
    out = []
    for event in data.split(b"\n\n"):
        if event.startswith(b"data: ") and event != b"data: [DONE]":
            out.append(orjson.loads(event[6:]))
    return out


def streamed_text(objs: list[dict]) -> str:
    return "".join(
        ch["delta"].get("content") or ""
        for o in objs
        for ch in o.get("choices", [])
        if "delta" in ch
    )


def test_pass_through_keeps_body_authorization_and_response(
    make_gateway, upstream, scorer, read_log
):
    raw = orjson.dumps(CHAT) + b"  "
    with make_gateway() as url, client() as c:
        r = c.post(
            url + "/v1/chat/completions",
            content=raw,
            headers={
                **AUTH,
                "Content-Type": "application/json",
                "X-Request-Id": "req-77",
                "Connection": "keep-alive, x-hop",
                "X-Hop": "drop-me",
                "X-Custom": "kept",
            },
        )
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["reasoning_content"]  # allow: untouched
    assert r.headers["x-upstream"] == "stub" and r.headers["x-request-echo"] == "req-77"
    assert "x-distillwatch-decision" not in r.headers
    seen = upstream.seen[-1]
    assert seen["raw"] == raw and seen["path"] == "/v1/chat/completions"
    assert seen["headers"]["authorization"] == f"Bearer {CLIENT_KEY}"
    assert seen["headers"]["x-custom"] == "kept" and "x-hop" not in seen["headers"]
    # scored before, learnt after with the response's usage; the key itself never stored
    event = scorer.learned[-1]
    assert event["account_id"] == ACCOUNT and event["request_id"] == "req-77"
    assert event["prompt"] == CHAT["messages"][1]["content"]
    assert event["system_prompt"] == "You are terse." and event["n_messages"] == 2
    assert (event["status"], event["completion_tokens"], event["reasoning_tokens"]) == (200, 42, 30)
    assert event["finish_reason"] == "stop" and event["ip"] == "127.0.0.1"
    (line,) = read_log()
    assert line["action"] == "allow" and line["account_id"] == ACCOUNT and line["status"] == 200
    assert "prompt" not in line and "would_action" not in line
    assert CLIENT_KEY not in str(read_log())


def test_request_without_credentials_is_refused(make_gateway, upstream, scorer):
    with make_gateway() as url:
        r = post(url, headers={})
        bad = post(url, headers={"Authorization": "Basic eDp5"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_credentials"
    assert bad.status_code == 401
    assert upstream.seen == [] and scorer.scored == []


def test_stream_is_forwarded_chunk_by_chunk_not_buffered(make_gateway, upstream, scorer):
    upstream.gate = threading.Event()
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    with make_gateway() as url:
        # the upstream holds back its 4th event until the client has seen the first bytes
        r, chunks = stream_chunks(url, body, on_first=upstream.gate.set)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert len(chunks) >= 3
    objs = sse_objects(b"".join(chunks))
    assert any("reasoning_content" in o["choices"][0]["delta"] for o in objs if o["choices"])
    event = scorer.learned[-1]
    assert event["stream"] is True and event["status"] == 200
    assert (event["completion_tokens"], event["reasoning_tokens"], event["finish_reason"]) == (
        42,
        30,
        "stop",
    )


@pytest.mark.parametrize(
    ("policy_rule", "risk", "action"),
    [
        ({"min_risk": 0.5, "action": "monitor"}, 0.6, "monitor"),
        ({"min_risk": 0.5, "action": "monitor"}, 0.4, "allow"),
    ],
)
def test_monitor_and_allow_forward_and_log(
    make_gateway, scorer, read_log, policy_rule, risk, action
):
    scorer.set(ACCOUNT, risk, reasons=("automation=0.9",))
    with make_gateway({"rule": [policy_rule]}) as url:
        r = post(url)
    assert r.status_code == 200
    (line,) = read_log()
    assert (
        line["action"] == action and line["risk"] == risk and line["reasons"] == ["automation=0.9"]
    )


def test_throttle_empties_the_bucket_then_429(make_gateway, upstream, scorer, read_log):
    scorer.set(ACCOUNT, 0.7)
    policy = {"rule": [{"min_risk": 0.5, "action": "throttle", "rate": 0.01, "burst": 2}]}
    with make_gateway(policy) as url:
        codes = [post(url) for _ in range(3)]
        other = post(url, headers={"Authorization": "Bearer sk-someone-else"})
    assert [r.status_code for r in codes] == [200, 200, 429]
    refused = codes[2]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert other.status_code == 200  # buckets are per account
    assert len(upstream.seen) == 3
    assert [e["status"] for e in scorer.learned[:3]] == [200, 200, 429]
    assert [line["reason_code"] for line in read_log()[:3]] == [None, None, "rate_limited"]


@pytest.mark.parametrize(
    ("action", "code"), [("challenge", "verification_required"), ("block", "account_blocked")]
)
def test_challenge_and_block_refuse_with_403(
    make_gateway, upstream, scorer, read_log, action, code
):
    scorer.set(ACCOUNT, 0.95, flagged=True, campaign_id="cmp-1")
    with make_gateway({"rule": [{"flagged": True, "action": action}]}) as url:
        r = post(url)
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == code and err["type"] == "permission_error" and err["message"]
    assert upstream.seen == []
    assert scorer.learned[-1]["status"] == 403
    (line,) = read_log()
    assert (line["action"], line["reason_code"], line["campaign_id"]) == (action, code, "cmp-1")


def test_custom_reason_code_and_exposed_decision_header(make_gateway, scorer):
    scorer.set(ACCOUNT, 0.95, flagged=True)
    policy = {
        "expose_decision": True,
        "rule": [
            {
                "flagged": True,
                "action": "block",
                "reason_code": "tos_violation",
                "message": "Account suspended.",
            }
        ],
    }
    with make_gateway(policy) as url:
        r = post(url)
    assert r.json()["error"] == {
        "message": "Account suspended.",
        "type": "permission_error",
        "param": None,
        "code": "tos_violation",
    }
    assert r.headers["x-distillwatch-decision"] == "block"


def test_strip_reasoning_on_json(make_gateway, scorer):
    scorer.set(ACCOUNT, 0.9, flagged=True)
    with make_gateway({"rule": [{"flagged": True, "action": "strip_reasoning"}]}) as url:
        r = post(url)
    body = r.json()
    msg = body["choices"][0]["message"]
    assert "reasoning_content" not in msg and msg["content"] == "The answer is 4."
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 30
    assert int(r.headers["content-length"]) == len(r.content)
    assert scorer.learned[-1]["completion_tokens"] == 42


def test_strip_reasoning_on_completions_text(make_gateway, scorer):
    scorer.set(ACCOUNT, 0.9, flagged=True)
    body = {"model": "teacher-1", "prompt": "Continue: 1, 2, 3", "logprobs": 2}
    with make_gateway({"rule": [{"flagged": True, "action": "strip_reasoning"}]}) as url:
        r = post(url, body, path="/v1/completions")
    assert r.json()["choices"][0]["text"] == "done"
    event = scorer.learned[-1]
    assert (event["prompt"], event["logprobs"], event["top_logprobs"]) == (
        "Continue: 1, 2, 3",
        True,
        2,
    )
    assert (event["finish_reason"], event["completion_tokens"]) == ("length", 7)


def test_strip_reasoning_on_sse(make_gateway, scorer):
    scorer.set(ACCOUNT, 0.9, flagged=True)
    body = {**CHAT, "stream": True}
    with make_gateway({"rule": [{"flagged": True, "action": "strip_reasoning"}]}) as url:
        _, chunks = stream_chunks(url, body)
    data = b"".join(chunks)
    objs = sse_objects(data)
    assert b"reasoning" not in data.replace(b"reasoning_tokens", b"") and b"secret" not in data
    assert b"Hidden" not in data
    assert streamed_text(objs) == "Four is the answer."
    assert objs[-1]["usage"]["completion_tokens"] == 42 and data.endswith(b"data: [DONE]\n\n")
    assert any(o["choices"] and o["choices"][0]["finish_reason"] == "stop" for o in objs)
    assert scorer.learned[-1]["completion_tokens"] == 42


class UpperMarker:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def mark(self, text: str, campaign_id: str | None) -> str:
        self.calls.append((text, campaign_id))
        return text.upper()


def test_mark_passes_text_through_the_marker(make_gateway, scorer, read_log):
    scorer.set(ACCOUNT, 0.9, flagged=True, campaign_id="cmp-9")
    marker = UpperMarker()
    with make_gateway({"rule": [{"flagged": True, "action": "mark"}]}, marker=marker) as url:
        r = post(url)
        _, chunks = stream_chunks(url, {**CHAT, "stream": True})
    assert (
        r.json()["choices"][0]["message"]["content"] == "<THINK>SECRET PLAN</THINK>THE ANSWER IS 4."
    )
    assert ("<think>secret plan</think>The answer is 4.", "cmp-9") in marker.calls
    assert (
        streamed_text(sse_objects(b"".join(chunks)))
        == "<THINK>MORE SECRET</THINK>FOUR IS THE ANSWER."
    )
    assert [line["action"] for line in read_log()] == ["mark", "mark"]
    assert read_log()[0]["reason_code"] is None


def test_mark_without_marker_forwards_unchanged_and_logs_marker_missing(
    make_gateway, scorer, read_log
):
    scorer.set(ACCOUNT, 0.9, flagged=True)
    with make_gateway({"rule": [{"flagged": True, "action": "mark"}]}) as url:
        r = post(url)
    assert r.json()["choices"][0]["message"]["content"].startswith("<think>secret plan")
    (line,) = read_log()
    assert (line["action"], line["reason_code"]) == ("mark", "marker_missing")


@pytest.mark.parametrize("how", ["policy", "flag"])
def test_dry_run_forwards_and_logs_what_it_would_do(make_gateway, upstream, scorer, read_log, how):
    scorer.set(ACCOUNT, 0.99, flagged=True)
    policy = {"rule": [{"flagged": True, "action": "block"}]}
    if how == "policy":
        policy["mode"] = "dry-run"
    with make_gateway(policy, dry_run=how == "flag") as url:
        r = post(url)
    assert r.status_code == 200 and len(upstream.seen) == 1
    assert "reasoning_content" in r.json()["choices"][0]["message"]
    (line,) = read_log()
    assert (line["action"], line["would_action"], line["reason_code"]) == (
        "allow",
        "block",
        "account_blocked",
    )


def test_log_prompts_writes_the_prompt_only_when_configured(make_gateway, read_log):
    with make_gateway({"log_prompts": True}) as url:
        post(url)
    assert read_log()[0]["prompt"] == CHAT["messages"][1]["content"]


def test_fail_open_forwards_unscored(make_gateway, upstream, scorer, read_log):
    scorer.failing = True
    with make_gateway({"fail": "open", "rule": [{"min_risk": 0.0, "action": "block"}]}) as url:
        r = post(url)
    assert r.status_code == 200 and len(upstream.seen) == 1
    (line,) = read_log()
    assert (line["action"], line["reason_code"], line["risk"]) == ("allow", "unscored", None)


def test_fail_closed_answers_503(make_gateway, upstream, scorer, read_log):
    scorer.failing = True
    with make_gateway({"fail": "closed"}) as url:
        r = post(url)
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "scoring_unavailable"
    assert upstream.seen == []
    (line,) = read_log()
    assert (line["reason_code"], line["status"]) == ("scoring_unavailable", 503)


def test_dry_run_never_refuses_even_when_failing_closed(make_gateway, upstream, scorer, read_log):
    scorer.failing = True
    with make_gateway({"fail": "closed", "mode": "dry-run"}) as url:
        r = post(url)
    assert r.status_code == 200 and len(upstream.seen) == 1
    (line,) = read_log()
    assert (line["action"], line["would_action"], line["reason_code"]) == (
        "allow",
        "unavailable",
        "scoring_unavailable",
    )


def test_upstream_down_is_502_with_a_metric(make_gateway, keys, read_log):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    for fail in ("open", "closed"):
        with make_gateway({"fail": fail}, upstream_url=dead, keys=keys.path) as url:
            r = post(url)
            with client() as c:
                m = c.get(url + "/metrics", headers={"Authorization": f"Bearer {keys.metrics}"})
        assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_unreachable"
        assert 'distillwatch_gateway_upstream_errors_total{kind="unreachable"} 1.0' in m.text
    assert [line["status"] for line in read_log()] == [502, 502]


def test_upstream_timeout_is_504(make_gateway):
    with make_gateway({"upstream": {"timeout_s": 0.3}}) as url:
        r = post(url, {**CHAT, "model": "slow"})
    assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout"


def test_upstream_errors_pass_through(make_gateway, scorer):
    with make_gateway() as url:
        r = post(url, {**CHAT, "model": "bad-request", "stream": True})
    assert r.status_code == 400 and r.json()["error"]["message"] == "bad model"
    assert scorer.learned[-1]["status"] == 400


def test_invalid_body_and_unknown_route(make_gateway, upstream):
    with make_gateway() as url, client() as c:
        bad = c.post(url + "/v1/chat/completions", content=b"{not json", headers=AUTH)
        other = c.post(url + "/v1/embeddings", json={}, headers=AUTH)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert upstream.seen == []


def test_forwarded_for_is_believed_only_from_trusted_proxies(make_gateway, scorer):
    xff = {**AUTH, "X-Forwarded-For": "198.51.100.23"}
    with make_gateway() as url:
        post(url, headers=xff)
    with make_gateway({"trusted_proxies": ["127.0.0.0/8"]}) as url:
        post(url, headers=xff)
    assert [e["ip"] for e in scorer.learned] == ["127.0.0.1", "198.51.100.23"]


def test_account_from_a_trusted_header(make_gateway, scorer):
    policy = {"account": "header:X-Account-Id", "trusted_proxies": ["127.0.0.1"]}
    with make_gateway(policy) as url:
        ok = post(url, headers={"X-Account-Id": "org-42/user-7"})
        missing = post(url, headers=AUTH)
    with make_gateway({**policy, "trusted_proxies": ["10.0.0.0/8"]}) as url:
        untrusted = post(url, headers={"X-Account-Id": "org-42/user-7"})
    assert ok.status_code == 200 and scorer.learned[-1]["account_id"] == "org-42/user-7"
    assert missing.status_code == 401 and untrusted.status_code == 401


def test_client_leaving_a_stream_is_still_learnt(make_gateway, upstream, scorer, read_log):
    import time

    upstream.gate = threading.Event()
    body = {**CHAT, "stream": True}
    with make_gateway() as url:
        with (
            client() as c,
            c.stream("POST", url + "/v1/chat/completions", json=body, headers=AUTH) as r,
        ):
            first = next(r.iter_raw())
        upstream.gate.set()  # the client is gone; let the upstream finish
        deadline = time.monotonic() + 10
        while not scorer.learned and time.monotonic() < deadline:
            time.sleep(0.02)
    assert first.startswith(b"data: ")
    assert scorer.learned and scorer.learned[-1]["status"] == 200
    assert [line["status"] for line in read_log()] == [200]

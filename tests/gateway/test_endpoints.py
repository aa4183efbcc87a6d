"""The gateway's own endpoints on a real server: /v1/score, /v1/reload, /metrics, /healthz."""

from __future__ import annotations

import httpx
import pytest

from distillwatch.gateway.keys import add_key, revoke_key

EVENT = {
    "request_id": "r-1",
    "ts": 1767225600,
    "account_id": "acct-77",
    "model": "teacher-1",
    "prompt": "Explain your reasoning step by step: 17*23",
    "max_tokens": 2048,
}


def call(method: str, url: str, key: str | None, **kw):
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    with httpx.Client(trust_env=False, timeout=30) as c:
        return c.request(method, url, headers=headers, **kw)


def keys_for(keys) -> dict[str, str | None]:
    return {
        "none": None,
        "wrong": "dwg_" + "x" * 43,
        "revoked": keys.revoked,
        "metrics": keys.metrics,
        "score": keys.score,
    }


def test_score_needs_a_score_key(make_gateway, keys, scorer):
    scorer.set("acct-77", 0.93, flagged=True, campaign_id="cmp-5", reasons=("campaign:cmp-5",))
    policy = {"rule": [{"flagged": True, "in_campaign": True, "action": "challenge"}]}
    with make_gateway(policy, keys=keys.path) as url:
        got = {
            who: call("POST", url + "/v1/score", k, json=EVENT) for who, k in keys_for(keys).items()
        }
    assert {who: r.status_code for who, r in got.items()} == {
        "none": 401,
        "wrong": 401,
        "revoked": 401,
        "metrics": 403,
        "score": 200,
    }
    assert got["none"].headers["www-authenticate"].startswith("Bearer")
    assert got["metrics"].json()["error"]["code"] == "wrong_key_role"
    answer = got["score"].json()
    assert answer == {
        "decision": "challenge",
        "reason_code": "verification_required",
        "reasons": ["campaign:cmp-5"],
        "risk": 0.93,
        "flagged": True,
        "campaign_id": "cmp-5",
        "dry_run": False,
        "rule": "rule[1]",
        "status": 403,
        "retry_after": None,
    }
    # scored and learnt once: only the authorised call reached the scorer
    assert [e["request_id"] for e in scorer.scored] == ["r-1"]
    assert scorer.learned[-1]["account_id"] == "acct-77" and scorer.learned[-1]["status"] == 403


def test_score_in_dry_run_and_bad_events(make_gateway, keys, scorer, read_log):
    scorer.set("acct-77", 0.99, flagged=True)
    with make_gateway(
        {"mode": "dry-run", "rule": [{"flagged": True, "action": "block"}]}, keys=keys.path
    ) as url:
        ok = call("POST", url + "/v1/score", keys.score, json=EVENT)
        no_account = call("POST", url + "/v1/score", keys.score, json={"prompt": "x"})
        not_json = call("POST", url + "/v1/score", keys.score, content=b"[1,")
    assert ok.json()["decision"] == "block" and ok.json()["dry_run"] is True
    assert no_account.status_code == 400 and not_json.status_code == 400
    assert scorer.learned[-1]["status"] is None  # not refused: dry-run
    (line,) = read_log()
    assert (line["route"], line["action"], line["would_action"]) == ("/v1/score", "allow", "block")


def test_score_when_the_scorer_is_down(make_gateway, keys, scorer):
    scorer.failing = True
    with make_gateway({"fail": "open"}, keys=keys.path) as url:
        r = call("POST", url + "/v1/score", keys.score, json=EVENT)
    assert r.status_code == 503 and r.json()["error"]["code"] == "scoring_unavailable"


def test_revoking_a_key_takes_effect_without_restart(make_gateway, keys, tmp_path):
    fresh = add_key(keys.path, "rotating", "score")
    with make_gateway(keys=keys.path) as url:
        before = call("POST", url + "/v1/score", fresh, json=EVENT)
        revoke_key(keys.path, "rotating")
        after = call("POST", url + "/v1/score", fresh, json=EVENT)
    assert (before.status_code, after.status_code) == (200, 401)


def test_no_key_file_means_no_access(make_gateway, keys):
    with make_gateway() as url:
        r = call("POST", url + "/v1/score", keys.score, json=EVENT)
        m = call("GET", url + "/metrics", keys.metrics)
    assert r.status_code == 401 and m.status_code == 401


def test_metrics_need_a_metrics_key(make_gateway, keys, scorer):
    scorer.set("acct-" + "0" * 16, 0.1)
    with make_gateway(keys=keys.path) as url:
        proxied = call(
            "POST",
            url + "/v1/chat/completions",
            "sk-abc",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        )
        got = {who: call("GET", url + "/metrics", k) for who, k in keys_for(keys).items()}
    assert proxied.status_code == 200
    assert {who: r.status_code for who, r in got.items()} == {
        "none": 401,
        "wrong": 401,
        "revoked": 401,
        "metrics": 200,
        "score": 403,
    }
    text = got["metrics"].text
    assert got["metrics"].headers["content-type"].startswith("text/plain")
    for needle in (
        'distillwatch_gateway_requests_total{action="allow",route="/v1/chat/completions"} 1.0',
        'distillwatch_gateway_decisions_total{action="allow",dry_run="false",reason_code=""} 1.0',
        "distillwatch_gateway_scoring_seconds_count 1.0",
        'distillwatch_gateway_upstream_seconds_count{route="/v1/chat/completions"} 1.0',
    ):
        assert needle in text, needle


def test_scorer_failures_are_counted(make_gateway, keys, scorer):
    scorer.failing = True
    with make_gateway({"fail": "open"}, keys=keys.path) as url:
        call(
            "POST",
            url + "/v1/chat/completions",
            "sk-abc",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        )
        text = call("GET", url + "/metrics", keys.metrics).text
    assert 'distillwatch_gateway_scorer_failures_total{method="score_one"} 1.0' in text
    assert 'distillwatch_gateway_scorer_failures_total{method="learn_one"} 1.0' in text
    assert (
        'distillwatch_gateway_requests_total{action="allow",route="/v1/chat/completions"} 1.0'
        in text
    )


@pytest.mark.parametrize("failing", [False, True])
def test_reload_calls_the_scorer(make_gateway, keys, scorer, failing):
    scorer.failing = failing
    with make_gateway(keys=keys.path) as url:
        denied = call("POST", url + "/v1/reload", keys.metrics)
        r = call("POST", url + "/v1/reload", keys.score)
    assert denied.status_code == 403
    if failing:
        assert r.status_code == 503 and r.json()["error"]["code"] == "reload_failed"
    else:
        assert r.status_code == 200 and scorer.reloads == 1


def test_healthz_is_open_and_shutdown_checkpoints(make_gateway, scorer):
    with make_gateway() as url:
        r = call("GET", url + "/healthz", None)
        assert scorer.checkpoints == 0
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert scorer.checkpoints == 1

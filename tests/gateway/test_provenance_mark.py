"""The gateway's mark action with the real provenance marker: one key per campaign, recorded,
with a ledger of what was served marked; a real stub upstream, both on 127.0.0.1."""

from __future__ import annotations

import hashlib

import httpx
import orjson

from distillwatch.provenance.campaigns import CampaignKeys, CampaignMarker
from distillwatch.provenance.detect import test_keys
from distillwatch.provenance.ledger import read_ledger
from distillwatch.provenance.lexicon import load_lexicon
from distillwatch.provenance.mark import mark_text

CLIENT_KEY = "sk-client-secret-0007"
ACCOUNT = "acct-" + hashlib.sha256(CLIENT_KEY.encode()).hexdigest()[:16]
WORDY_CHAT = {"model": "wordy", "messages": [{"role": "user", "content": "Should I upgrade?"}]}


def streamed_answer(url: str) -> tuple[str, int]:
    """The streamed answer's text and the number of events that carried text."""
    with (
        httpx.Client(trust_env=False, timeout=30) as c,
        c.stream(
            "POST",
            url + "/v1/chat/completions",
            json={**WORDY_CHAT, "stream": True},
            headers={"Authorization": f"Bearer {CLIENT_KEY}"},
        ) as r,
    ):
        data = b"".join(r.iter_raw())
    text, events = "", 0
    for event in data.split(b"\n\n"):
        if event.startswith(b"data: {"):
            for choice in orjson.loads(event[6:])["choices"]:
                piece = choice.get("delta", {}).get("content") or ""
                text += piece
                events += bool(piece)
    assert data.endswith(b"data: [DONE]\n\n")
    return text, events


def answer(url: str) -> str:
    with httpx.Client(trust_env=False, timeout=30) as c:
        r = c.post(
            url + "/v1/chat/completions",
            json=WORDY_CHAT,
            headers={"Authorization": f"Bearer {CLIENT_KEY}"},
        )
    r.raise_for_status()
    content: str = r.json()["choices"][0]["message"]["content"]
    return content


def test_mark_uses_one_key_per_campaign_and_records_it(
    make_gateway, scorer, tmp_path, read_log, wordy_answer
):
    store = CampaignKeys(tmp_path / "marks")
    marker = CampaignMarker(store)
    with make_gateway({"rule": [{"flagged": True, "action": "mark"}]}, marker=marker) as url:
        scorer.set(ACCOUNT, 0.9, flagged=True, campaign_id="cmp-7")
        first = answer(url)
        scorer.set(ACCOUNT, 0.9, flagged=True, campaign_id="cmp-8")
        second = answer(url)
    assigned = {a.campaign_id: a.key_id for a in store.assignments()}
    assert set(assigned) == {"cmp-7", "cmp-8"} and len(set(assigned.values())) == 2
    lex = load_lexicon()
    key7, key8 = store.key_for("cmp-7"), store.key_for("cmp-8")
    expected = mark_text(wordy_answer, key7, lex)
    assert expected.changed > 0 and first == expected.text != wordy_answer
    assert second == mark_text(wordy_answer, key8, lex).text
    assert "`do not` touch" in first and "2 hours" in first  # protected spans kept
    key_id, digests = read_ledger(store.ledger_path(key7.key_id))
    assert key_id == key7.key_id and digests == set(expected.digests)
    # the served text tests positive for its campaign's key, with that key's ledger
    (result7,) = test_keys([first], [key7], lex, ledgers={key7.key_id: digests})
    assert result7.match_rate == 1.0 and result7.positions == len(digests)
    assert [line["action"] for line in read_log()] == ["mark", "mark"]


def test_a_streamed_answer_is_marked_as_the_whole_answer_would_be(
    make_gateway, scorer, tmp_path, wordy_answer
):
    store = CampaignKeys(tmp_path / "marks")
    with make_gateway(
        {"rule": [{"flagged": True, "action": "mark"}]}, marker=CampaignMarker(store)
    ) as url:
        scorer.set(ACCOUNT, 0.9, flagged=True, campaign_id="cmp-s")
        text, events = streamed_answer(url)
    key = store.key_for("cmp-s")
    whole = mark_text(wordy_answer, key, load_lexicon())
    assert text == whole.text != wordy_answer
    assert 1 < events < 20  # released sentence by sentence, not piece by piece nor at once
    assert read_ledger(store.ledger_path(key.key_id))[1] == set(whole.digests)


def test_gateway_serve_with_marks_runs_as_a_process(upstream, tmp_path, wordy_answer):
    """`distillwatch gateway serve --marks DIR` as an operator starts it: every answer
    marked (policy default), the key recorded for the unattributed campaign."""
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    policy = tmp_path / "policy.toml"
    policy.write_text('mode = "enforce"\n[default]\naction = "mark"\n')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    marks = tmp_path / "marks"
    cmd = [
        str(Path(sys.executable).parent / "distillwatch"), "gateway", "serve",
        "--upstream", upstream.url, "--policy", str(policy), "--state", str(tmp_path / "s.db"),
        "--marks", str(marks), "--port", str(port),
    ]  # fmt: skip
    log = tmp_path / "gateway.log"
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        served = answer(url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "gateway on" in log.read_text(), log.read_text()
    (assigned,) = CampaignKeys(marks).assignments()
    assert assigned.campaign_id == "unattributed"
    key = CampaignKeys(marks).key_for(None)
    assert served == mark_text(wordy_answer, key, load_lexicon()).text != wordy_answer

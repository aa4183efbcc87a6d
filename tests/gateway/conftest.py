"""Fixtures for the gateway: a scripted scorer, a real stub upstream on 127.0.0.1 (OpenAI-
shaped JSON and SSE with reasoning fields), a running gateway factory and key files.

pytest's importlib mode forbids importing conftest, so helpers are handed out as fixtures.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from distillwatch.errors import ScoringError
from distillwatch.gateway.keys import add_key, revoke_key
from distillwatch.gateway.server import running_gateway
from distillwatch.gateway.settings import GatewaySettings, parse_policy
from distillwatch.online.api import Verdict

# -- the scorer double ------------------------------------------------------------------------


@dataclass
class ScriptedScorer:
    """Returns the verdict the test set for an account (else a harmless one); can be told
    to raise ScoringError from every method."""

    verdicts: dict[str, Verdict] = field(default_factory=dict)
    failing: bool = False
    scored: list[dict[str, Any]] = field(default_factory=list)
    learned: list[dict[str, Any]] = field(default_factory=list)
    reloads: int = 0
    checkpoints: int = 0

    def set(self, account: str, risk: float, flagged: bool = False, **kw: Any) -> None:
        self.verdicts[account] = Verdict(account, risk, flagged, **kw)

    def _check(self) -> None:
        if self.failing:
            raise ScoringError("state store unavailable (test)")

    def score_one(self, event: Any) -> Verdict:
        self._check()
        self.scored.append(dict(event))
        account = event["account_id"]
        return self.verdicts.get(account, Verdict(account, 0.05, False))

    def learn_one(self, event: Any) -> None:
        self._check()
        self.learned.append(dict(event))

    def reload(self) -> None:
        self._check()
        self.reloads += 1

    def checkpoint(self) -> None:
        self.checkpoints += 1


@pytest.fixture
def scorer() -> ScriptedScorer:
    return ScriptedScorer()


# -- a real uvicorn in a thread ---------------------------------------------------------------


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "stub did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


# -- the stub upstream ------------------------------------------------------------------------

USAGE = {
    "prompt_tokens": 11,
    "completion_tokens": 42,
    "total_tokens": 53,
    "completion_tokens_details": {"reasoning_tokens": 30},
}


#: an answer with many lexicon words, for the provenance marker (model "wordy")
WORDY = (
    "For example, you do not need to buy a new laptop. It is usually cheaper to upgrade "
    "the memory, and it is often faster as well. However, you are going to need a "
    "screwdriver; perhaps you can borrow one. In addition, make sure that you back up your "
    "files, because you cannot undo a failed upgrade. `do not` touch the code. Approximately "
    "2 hours is enough. I am sure it is worth it, and we will help you if you do not know how."
)


def chat_body(content: str | None = None) -> dict[str, Any]:
    content = content or "<think>secret plan</think>The answer is 4."
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "teacher-1",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "reasoning_content": "First, 2+2. Hidden chain of thought.",
                },
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }


def sse_chunks(model: str = "") -> list[dict[str, Any]]:
    def delta(d: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-2",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": d, "finish_reason": finish}],
        }

    if model == "wordy":  # the wordy answer in pieces of 1 to 7 characters
        cuts = [0]
        while cuts[-1] < len(WORDY):
            cuts.append(cuts[-1] + 1 + (len(cuts) * 5) % 7)
        pieces = [WORDY[a:b] for a, b in itertools.pairwise(cuts)]
        return [
            delta({"role": "assistant", "content": ""}),
            *(delta({"content": p}) for p in pieces),
            delta({}, finish="stop"),
        ]
    return [
        delta({"role": "assistant", "content": ""}),
        delta({"reasoning_content": "Hidden step one. "}),
        delta({"reasoning_content": "Hidden step two."}),
        delta({"content": "<thi"}),
        delta({"content": "nk>more secret</th"}),
        delta({"content": "ink>Four"}),
        delta({"content": " is the answer."}),
        delta({}, finish="stop"),
        {"id": "chatcmpl-2", "object": "chat.completion.chunk", "choices": [], "usage": USAGE},
    ]


@dataclass
class Upstream:
    """The stub's URL and what it saw. ``gate``: when set by a test, the stream's last
    chunks wait for it (to prove the gateway forwards without buffering)."""

    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    gate: threading.Event | None = None

    def reset(self) -> None:
        self.seen.clear()
        self.gate = None


def _stub_app(up: Upstream) -> Starlette:
    async def handler(request: Request) -> Response:
        raw = await request.body()
        body = orjson.loads(raw)
        up.seen.append({"path": request.url.path, "headers": dict(request.headers), "raw": raw})
        model = body.get("model", "")
        if model == "slow":
            await asyncio.sleep(3)
        if model == "bad-request":
            err = {"error": {"message": "bad model", "type": "invalid_request_error"}}
            return Response(orjson.dumps(err), 400, media_type="application/json")
        if request.url.path == "/v1/completions":
            text = {
                "choices": [
                    {"index": 0, "text": "<think>x</think>done", "finish_reason": "length"}
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 7},
            }
            return Response(orjson.dumps(text), media_type="application/json")
        if not body.get("stream"):
            return Response(
                orjson.dumps(chat_body(WORDY if model == "wordy" else None)),
                media_type="application/json",
                headers={
                    "x-upstream": "stub",
                    "x-request-echo": request.headers.get("x-request-id", ""),
                },
            )

        async def events() -> Any:
            chunks = sse_chunks(model)
            for i, chunk in enumerate(chunks):
                if i == 3 and up.gate is not None:
                    deadline = time.monotonic() + 10
                    while not up.gate.is_set() and time.monotonic() < deadline:
                        await asyncio.sleep(0.01)
                yield b"data: " + orjson.dumps(chunk) + b"\n\n"
                await asyncio.sleep(0.005)
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    routes = [
        Route(p, handler, methods=["POST"]) for p in ("/v1/chat/completions", "/v1/completions")
    ]
    return Starlette(routes=routes)


@pytest.fixture(scope="session")
def _upstream_server() -> Iterator[Upstream]:
    up = Upstream()
    with serve_asgi(_stub_app(up)) as url:
        up.url = url
        yield up


@pytest.fixture
def upstream(_upstream_server: Upstream) -> Upstream:
    _upstream_server.reset()
    return _upstream_server


# -- gateways ---------------------------------------------------------------------------------

GatewayFactory = Callable[..., Any]


@pytest.fixture
def make_gateway(
    upstream: Upstream, scorer: ScriptedScorer, tmp_path: Path
) -> Iterator[GatewayFactory]:
    """``with make_gateway(policy={...}, keys=..., marker=..., upstream_url=...) as url``;
    the decision log is ``tmp_path / "decisions.jsonl"``."""

    @contextmanager
    def factory(
        policy: dict[str, Any] | None = None,
        *,
        keys: Path | None = None,
        marker: Any = None,
        upstream_url: str | None = None,
        dry_run: bool = False,
    ) -> Iterator[str]:
        data = {"decision_log": "decisions.jsonl", **(policy or {})}
        settings = GatewaySettings(
            upstream=upstream_url or upstream.url,
            policy=parse_policy(data, base_dir=tmp_path),
            keys=keys,
            dry_run=dry_run,
        )
        with running_gateway(settings, scorer, marker=marker) as url:
            yield url

    yield factory


@pytest.fixture
def wordy_answer() -> str:
    """What the stub upstream answers to model "wordy"."""
    return WORDY


@pytest.fixture
def read_log(tmp_path: Path) -> Callable[[], list[dict[str, Any]]]:
    def read() -> list[dict[str, Any]]:
        path = tmp_path / "decisions.jsonl"
        if not path.exists():
            return []
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]

    return read


@dataclass
class Keys:
    path: Path
    score: str
    metrics: str
    revoked: str


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    path = tmp_path / "keys.json"
    score = add_key(path, "provider-gw", "score")
    metrics = add_key(path, "prometheus", "metrics")
    revoked = add_key(path, "old", "score")
    revoke_key(path, "old")
    return Keys(path, score, metrics, revoked)

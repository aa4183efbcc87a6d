"""One simulated API call, and how it becomes a canonical event (contracts.md section 1).

A persona decides *what* is asked (:class:`Call`); :func:`render` decides what the provider
bills and returns: token counts from text length (about four characters a token), output
length from the corpus reference answer, hidden reasoning on reasoning models,
``finish_reason`` ``length`` when the limit is hit, and a few 429/500 statuses.

>>> import random
>>> from distillwatch.sim.models import load_models
>>> from distillwatch.sim.network import Endpoint
>>> m = load_models()["lumen-4-mini"]
>>> c = Call(ts=0.0, model=m.name, prompt="Say hi", endpoint=Endpoint("73.1.2.3", 7922, "US"),
...          user_agent="curl/8.5.0", api_key="key_1", params=Params(max_tokens=5))
>>> e = render(c, m, random.Random(0), {"account_id": "acct_1"}, 0.0, 0.0)
>>> e["finish_reason"], e["completion_tokens"], e["ts"]
('length', 5, '1970-01-01T00:00:00.000Z')
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from distillwatch.sim.choice import hex_id
from distillwatch.sim.models import ModelSpec
from distillwatch.sim.network import Endpoint
from distillwatch.sim.timefmt import rfc3339_ms


@dataclass(slots=True)
class Params:
    """Sampling parameters of one request (None: not sent)."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    n: int = 1
    logprobs: bool = False
    top_logprobs: int | None = None
    stream: bool = False
    tools: int = 0


@dataclass(slots=True)
class Call:
    """What a client sends (before the provider answers)."""

    ts: float
    model: str
    prompt: str
    endpoint: Endpoint
    user_agent: str
    api_key: str
    params: Params = field(default_factory=Params)
    system_prompt: str | None = None
    conversation_id: str | None = None
    n_messages: int = 1
    history_chars: int = 0
    #: length of the reference answer in characters (0: unknown, a typical length is used)
    answer_chars: int = 0
    #: multiplier on output length (e.g. 3-6 when step-by-step reasoning is requested)
    effort: float = 1.0


def render(
    call: Call,
    model: ModelSpec,
    rng: random.Random,
    identity: dict[str, Any],
    p429: float,
    p500: float,
) -> dict[str, Any]:
    """The canonical event of *call*; *identity* holds the account-level fields."""
    p = call.params
    chars = len(call.prompt) + call.history_chars + len(call.system_prompt or "")
    prompt_tokens = chars // 4 + 3 * call.n_messages + 1
    roll = rng.random()
    status = 429 if roll < p429 else 500 if roll < p429 + p500 else 200
    completion: int | None = 0
    reasoning: int | None = 0 if model.reasoning else None
    finish: str | None = None
    if status == 200:
        limit = min(p.max_tokens or model.max_output_tokens, model.max_output_tokens)
        base = call.answer_chars or rng.lognormvariate(math.log(900.0), 0.6)
        if call.effort > 1.5:  # written-out reasoning is long even for short answers
            base = max(base, 600.0)
        visible = max(1, int(base * call.effort * rng.lognormvariate(0.0, 0.35) / 4))
        hidden = 0
        if model.reasoning:
            hidden = int(rng.lognormvariate(math.log(350.0 * call.effort), 0.7))
        if p.tools and rng.random() < 0.3:
            visible, hidden, finish = rng.randint(15, 120), min(hidden, 200), "tool_calls"
        total = visible + hidden
        if total > limit:
            finish = "length"
            hidden = min(hidden, limit)
            total = limit
        elif finish is None:
            finish = "stop"
        if p.n > 1:
            total = sum(max(1, int(total * rng.uniform(0.8, 1.0))) for _ in range(p.n - 1)) + total
            hidden *= p.n
        completion = total
        reasoning = hidden if model.reasoning else None
    else:
        prompt_tokens = 0
    ms = int(call.ts * 1000)
    return {
        "request_id": "req_" + hex_id(rng, 24),
        "ts": rfc3339_ms(ms),
        **identity,
        "api_key_id": call.api_key,
        "ip": call.endpoint.ip,
        "asn": call.endpoint.asn,
        "country": call.endpoint.country,
        "user_agent": call.user_agent,
        "conversation_id": call.conversation_id,
        "model": call.model,
        "system_prompt": call.system_prompt,
        "prompt": call.prompt,
        "n_messages": call.n_messages,
        "max_tokens": p.max_tokens,
        "temperature": p.temperature,
        "top_p": p.top_p,
        "n": p.n,
        "logprobs": p.logprobs,
        "top_logprobs": p.top_logprobs if p.logprobs else None,
        "stream": p.stream,
        "tools": p.tools,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "reasoning_tokens": reasoning,
        "finish_reason": finish,
        "status": status,
    }

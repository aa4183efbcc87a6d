"""Stripping reasoning from JSON bodies and SSE streams, without servers."""

from __future__ import annotations

import random

import orjson
import pytest

from distillwatch.gateway.reasoning import (
    ReasoningStripper,
    SSETransformer,
    StreamMarker,
    ThinkFilter,
    mark_json,
    strip_reasoning_json,
    strip_think,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain answer", "plain answer"),
        ("<think>a\nb</think>Answer", "Answer"),
        ("x<think>1</think>y<think>2</think>z", "xyz"),
        ("start<think>never closed", "start"),
        ("hidden plan</think>Answer", "Answer"),
        ("a < b and c > d", "a < b and c > d"),
    ],
)
def test_strip_think(text, expected):
    assert strip_think(text) == expected


def test_think_filter_matches_strip_think_at_every_split():
    rng = random.Random(7)
    texts = [
        "<think>abc</think>Hello <b>world</b>",
        "pre<think>x<thin</think>post<",
        "a<think>b</think>c<think>d</think>e<think>f",
        "no tags at all < > </",
    ]
    for text in texts:
        for _ in range(200):
            cuts = sorted(rng.sample(range(1, len(text)), rng.randint(0, min(6, len(text) - 1))))
            pieces = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)], strict=True)]
            f = ThinkFilter()
            out = "".join(f.feed(p) for p in pieces) + f.flush()
            assert out == strip_think(text), pieces


def test_strip_reasoning_json_chat():
    body = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "<think>plan</think>42",
                    "reasoning_content": "r",
                    "reasoning": "r2",
                    "reasoning_details": [{"type": "reasoning.text", "text": "r3"}],
                },
                "logprobs": {"content": [{"token": "<think>"}]},
                "finish_reason": "stop",
            },
            {
                "index": 1,
                "message": {"role": "assistant", "content": "clean"},
                "logprobs": {"x": 1},
            },
        ],
        "usage": {"completion_tokens": 5, "completion_tokens_details": {"reasoning_tokens": 3}},
    }
    assert strip_reasoning_json(body) is True
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "42"}
    assert body["choices"][0]["logprobs"] is None
    assert body["choices"][1]["logprobs"] == {"x": 1}  # untouched choice keeps its logprobs
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 3
    assert strip_reasoning_json(body) is False


def test_strip_reasoning_json_content_parts_and_odd_bodies():
    body = {
        "choices": [
            {
                "message": {
                    "content": [
                        {"type": "thinking", "thinking": "secret"},
                        {"type": "text", "text": "<think>s</think>visible"},
                    ]
                }
            }
        ]
    }
    assert strip_reasoning_json(body)
    assert body["choices"][0]["message"]["content"] == [{"type": "text", "text": "visible"}]
    for odd in ({}, {"choices": None}, {"choices": ["x", 3]}, [], "text"):
        assert strip_reasoning_json(odd) is False


def sse(*objs: object, sep: bytes = b"\n\n") -> bytes:
    return b"".join(b"data: " + orjson.dumps(o) + sep for o in objs)


def run(transformer: SSETransformer, data: bytes, size: int) -> bytes:
    out = b"".join(transformer.feed(data[i : i + size]) for i in range(0, len(data), size))
    return out + transformer.close()


def chunk(delta: dict, finish: str | None = None) -> dict:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


STREAM = (
    sse(
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "secret one"}),
        chunk({"content": "<think>secret two"}),
        chunk({"content": "</think>Visible "}),
        chunk({"content": "text<"}),
        chunk({}, finish="stop"),
        {"choices": [], "usage": {"completion_tokens": 9}},
    )
    + b"data: [DONE]\n\n"
)


def texts(data: bytes) -> tuple[str, list[dict]]:
    objs = [orjson.loads(e[6:]) for e in data.split(b"\n\n") if e.startswith(b"data: {")]
    text = "".join(c["delta"].get("content", "") for o in objs for c in o["choices"])
    return text, objs


@pytest.mark.parametrize("size", [1, 7, 64, 10_000])
def test_sse_stripping_is_independent_of_chunk_boundaries(size):
    out = run(SSETransformer(ReasoningStripper()), STREAM, size)
    text, objs = texts(out)
    assert text == "Visible text<" and b"secret" not in out
    assert objs[-1]["usage"] == {"completion_tokens": 9} and out.endswith(b"data: [DONE]\n\n")
    assert objs[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    # events that carried only reasoning are dropped; the finish event stays
    assert len(objs) == 5 and objs[-2]["choices"][0]["finish_reason"] == "stop"


def test_sse_crlf_comments_and_unchanged_events_pass_byte_for_byte():
    raw = b': keep-alive\r\n\r\nid: 7\r\nevent: message\r\ndata: {"choices": []}\r\n\r\n'
    raw += b"data: not json\r\n\r\n" + sse(
        chunk({"reasoning": "x", "content": "ok"}), sep=b"\r\n\r\n"
    )
    out = run(SSETransformer(ReasoningStripper()), raw, 3)
    events = out.split(b"\n\n")
    assert events[0] == b": keep-alive"
    assert events[1] == b'id: 7\nevent: message\ndata: {"choices": []}'
    assert events[2] == b"data: not json"
    assert orjson.loads(events[3][6:])["choices"][0]["delta"] == {"content": "ok"}


def test_sse_unterminated_last_event_is_still_processed():
    out = run(
        SSETransformer(ReasoningStripper()),
        b'data: {"choices":[{"delta":{"reasoning":"x","content":"y"}}]}',
        5,
    )
    assert out == b'data: {"choices":[{"delta":{"content":"y"}}]}\n\n'


def test_completions_stream_text_is_filtered():
    data = sse(
        {"choices": [{"index": 0, "text": "<think>a"}]},
        {"choices": [{"index": 0, "text": "b</think>c", "finish_reason": "length"}]},
    )
    out = run(SSETransformer(ReasoningStripper()), data, 4)
    objs = [orjson.loads(e[6:]) for e in out.split(b"\n\n") if e]
    assert [o["choices"][0]["text"] for o in objs] == ["c"]


class Tag:
    def mark(self, text: str, campaign_id: str | None) -> str:
        return f"{text}[{campaign_id}]"


def test_marker_on_json_and_stream():
    body = {
        "choices": [{"message": {"content": "hi"}}, {"text": "there"}, {"message": {"content": ""}}]
    }
    assert mark_json(body, Tag(), "cmp-1")
    assert body["choices"][0]["message"]["content"] == "hi[cmp-1]"
    assert body["choices"][1]["text"] == "there[cmp-1]"
    assert body["choices"][2]["message"]["content"] == ""
    out = run(
        SSETransformer(StreamMarker(Tag(), None)),
        sse(chunk({"content": "a"}), chunk({"content": "b"})),
        5,
    )
    assert texts(out)[0] == "a[None]b[None]"

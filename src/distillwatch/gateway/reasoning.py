"""Rewrite responses: strip reasoning (``strip_reasoning``) or hand the text to a
:class:`Marker` (``mark``), in a JSON body or in an SSE stream as it passes.

Removed: the fields ``reasoning_content``, ``reasoning`` and ``reasoning_details`` of
``choices[].message`` and ``choices[].delta``; ``<think>...</think>`` spans in
``content`` (and in ``choices[].text`` of ``/v1/completions``), also when a span is split
across SSE chunks; ``choices[].logprobs`` of a choice whose think span was removed (they
would spell it out). ``usage`` is kept.

>>> body = {"choices": [{"message": {"content": "<think>x</think>Paris",
...                                  "reasoning_content": "y"}}], "usage": {"total_tokens": 9}}
>>> strip_reasoning_json(body), body
(True, {'choices': [{'message': {'content': 'Paris'}}], 'usage': {'total_tokens': 9}})
>>> s = SSETransformer(ReasoningStripper())
>>> chunks = [b'data: {"choices":[{"index":0,"delta":{"content":"<thi"}}]}\\n\\n',
...           b'data: {"choices":[{"index":0,"delta":{"content":"nk>no</think>yes"}}]}\\n\\n',
...           b"data: [DONE]\\n\\n"]
>>> b"".join(s.feed(c) for c in chunks) + s.close()
b'data: {"choices":[{"index":0,"delta":{"content":"yes"}}]}\\n\\ndata: [DONE]\\n\\n'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

import orjson

REASONING_FIELDS = ("reasoning_content", "reasoning", "reasoning_details")
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
_SPAN = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL)
_DROPPED_PARTS = ("reasoning", "thinking", "redacted_thinking")


class Marker(Protocol):
    """Marks the text served to a suspect account (the provenance marker, a later issue)."""

    def mark(self, text: str, campaign_id: str | None) -> str:
        """The text to serve instead of *text*."""
        ...


def strip_think(text: str) -> str:
    """*text* without ``<think>...</think>`` spans; an unclosed ``<think>`` runs to the end;
    a ``</think>`` with no opening tag before it (templates that open the span in the
    prompt) removes everything up to it.

    >>> strip_think("a<think>b</think>c<think>d")
    'ac'
    >>> strip_think("plan...</think>answer")
    'answer'
    """
    close = text.find(THINK_CLOSE)
    if close >= 0 and THINK_OPEN not in text[:close]:
        text = text[close + len(THINK_CLOSE) :]
    if THINK_OPEN not in text:
        return text
    return _SPAN.sub("", text)


def _held(text: str, tag: str) -> int:
    """Length of the longest end of *text* that is a proper beginning of *tag*."""
    for k in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:k]):
            return k
    return 0


class ThinkFilter:
    """Removes ``<think>...</think>`` spans from text that arrives in pieces.

    A piece that ends with what may be the start of a tag is held back until the next one.

    >>> f = ThinkFilter()
    >>> [f.feed(p) for p in ("a<", "think>b</th", "ink>c<")] + [f.flush()]
    ['a', '', 'c', '<']
    """

    __slots__ = ("inside", "pending", "removed")

    def __init__(self) -> None:
        self.inside = False
        self.pending = ""
        self.removed = False

    def feed(self, text: str) -> str:
        buf = self.pending + text
        out: list[str] = []
        while True:
            tag = THINK_CLOSE if self.inside else THINK_OPEN
            idx = buf.find(tag)
            if idx >= 0:
                if not self.inside:
                    out.append(buf[:idx])
                self.removed = True
                self.inside = not self.inside
                buf = buf[idx + len(tag) :]
                continue
            keep = _held(buf, tag)
            if not self.inside:
                out.append(buf[: len(buf) - keep])
            self.pending = buf[len(buf) - keep :]
            return "".join(out)

    def flush(self) -> str:
        """The text held back, at the end of the stream."""
        rest, self.pending = ("" if self.inside else self.pending), ""
        return rest


def _strip_message(msg: dict[str, Any]) -> tuple[bool, bool]:
    """Strip one message or delta in place: (changed, a think span was removed)."""
    changed = think = False
    for key in REASONING_FIELDS:
        if key in msg:
            del msg[key]
            changed = True
    content = msg.get("content")
    if isinstance(content, str):
        new = strip_think(content)
        if new != content:
            msg["content"] = new
            changed = think = True
    elif isinstance(content, list):
        kept = [p for p in content if not (isinstance(p, dict) and p.get("type") in _DROPPED_PARTS)]
        for part in kept:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                new = strip_think(part["text"])
                if new != part["text"]:
                    part["text"] = new
                    think = True
        if think or len(kept) != len(content):
            msg["content"] = kept
            changed = True
    return changed, think


def strip_reasoning_json(obj: Any) -> bool:
    """Strip reasoning from a chat or completion response body in place; True if changed."""
    changed = False
    choices = obj.get("choices") if isinstance(obj, dict) else None
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, dict):
            continue
        think = False
        for key in ("message", "delta"):
            msg = choice.get(key)
            if isinstance(msg, dict):
                c, t = _strip_message(msg)
                changed, think = changed or c, think or t
        text = choice.get("text")
        if isinstance(text, str):
            new = strip_think(text)
            if new != text:
                choice["text"] = new
                changed = think = True
        if think and choice.get("logprobs") is not None:
            choice["logprobs"] = None
    return changed


def mark_json(obj: Any, marker: Marker, campaign_id: str | None) -> bool:
    """Pass every choice's text through *marker*, in place; True if any text changed."""
    changed = False
    choices = obj.get("choices") if isinstance(obj, dict) else None
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, dict):
            continue
        for holder, key in (
            (choice.get("message"), "content"),
            (choice.get("delta"), "content"),
            (choice, "text"),
        ):
            if isinstance(holder, dict) and isinstance(holder.get(key), str) and holder[key]:
                new = marker.mark(holder[key], campaign_id)
                if new != holder[key]:
                    holder[key] = new
                    changed = True
    return changed


# -- SSE ------------------------------------------------------------------------------------

#: what an event transform returns: (changed, the event's new data, or None to drop it)
EventResult = tuple[bool, Any]


class ReasoningStripper:
    """Per-stream state for stripping reasoning from SSE chunks (one filter per choice)."""

    def __init__(self) -> None:
        self.filters: dict[int, ThinkFilter] = {}

    def __call__(self, obj: Any) -> EventResult:
        changed = False
        for slot, choice in _stream_choices(obj):
            filt = self.filters.setdefault(slot, ThinkFilter())
            final = choice.get("finish_reason") is not None
            delta = choice.get("delta")
            if isinstance(delta, dict):
                for key in REASONING_FIELDS:
                    if key in delta:
                        del delta[key]
                        changed = True
                changed |= _filter_field(delta, "content", filt, final)
            changed |= _filter_field(choice, "text", filt, final)
            if filt.removed and choice.get("logprobs") is not None:
                choice["logprobs"] = None
                changed = True
        if changed and _empty(obj):
            return True, None
        return changed, obj


def _stream_choices(obj: Any) -> list[tuple[int, dict[str, Any]]]:
    """The choices of a stream chunk with the slot (``index``) each belongs to."""
    choices = obj.get("choices") if isinstance(obj, dict) else None
    if not isinstance(choices, list):
        return []
    out = []
    for pos, choice in enumerate(choices):
        if isinstance(choice, dict):
            index = choice.get("index", pos)
            out.append((index if isinstance(index, int) else pos, choice))
    return out


def _filter_field(holder: dict[str, Any], key: str, filt: PieceFilter, final: bool) -> bool:
    text = holder.get(key)
    if not isinstance(text, str):
        if final and filt.pending and key == "content":
            holder[key] = filt.flush()
            return True
        return False
    new = filt.feed(text) + (filt.flush() if final else "")
    if new == text:
        return False
    holder[key] = new
    return True


def _empty(obj: dict[str, Any]) -> bool:
    """True when a stripped chunk carries nothing for the client any more."""
    if obj.get("usage"):
        return False
    for choice in obj.get("choices", []):
        if not isinstance(choice, dict) or choice.get("finish_reason") is not None:
            return False
        if choice.get("text"):
            return False
        delta = choice.get("delta")
        if isinstance(delta, dict) and any(v not in ("", None) for v in delta.values()):
            return False
    return True


class PieceFilter(Protocol):
    """Rewrites text that arrives in pieces, holding some back (see :class:`ThinkFilter`)."""

    @property
    def pending(self) -> str: ...

    def feed(self, text: str) -> str: ...

    def flush(self) -> str: ...


class StreamMarker:
    """Marks the text of a stream as it passes.

    A marker with ``open_stream(campaign_id)`` (the provenance marker) gets one
    :class:`PieceFilter` per choice, which may hold text back until a sentence is complete,
    so a streamed answer is marked exactly as the same answer would be whole; any other
    marker sees each fragment on its own.
    """

    def __init__(self, marker: Marker, campaign_id: str | None) -> None:
        self.marker = marker
        self.campaign_id = campaign_id
        self.opener: Callable[[str | None], PieceFilter] | None = getattr(
            marker, "open_stream", None
        )
        self.streams: dict[int, PieceFilter] = {}

    def __call__(self, obj: Any) -> EventResult:
        if self.opener is None:
            return mark_json(obj, self.marker, self.campaign_id), obj
        changed = False
        for slot, choice in _stream_choices(obj):
            if slot not in self.streams:
                self.streams[slot] = self.opener(self.campaign_id)
            piece = self.streams[slot]
            final = choice.get("finish_reason") is not None
            delta = choice.get("delta")
            if isinstance(delta, dict):
                changed |= _filter_field(delta, "content", piece, final)
            changed |= _filter_field(choice, "text", piece, final)
        if changed and _empty(obj):
            return True, None
        return changed, obj


class SSETransformer:
    """Applies an event transform to the JSON ``data:`` of each server-sent event.

    Bytes are cut into events at blank lines (``\\n\\n``, ``\\r\\n\\r\\n``); an event whose
    data is not JSON (``[DONE]``) or that the transform leaves unchanged is passed on
    byte for byte; other lines of a changed event (``id:``, ``event:``, comments) are kept.
    """

    def __init__(self, transform: Callable[[Any], EventResult]) -> None:
        self.transform = transform
        self.buf = b""

    def feed(self, chunk: bytes) -> bytes:
        """The complete events of ``buffer + chunk``, transformed; the rest is kept."""
        buf = self.buf + chunk
        if b"\r" in buf:
            hold = buf.endswith(b"\r")
            tail = b"\r" if hold else b""
            buf = (buf[:-1] if hold else buf).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        else:
            tail = b""
        end = buf.rfind(b"\n\n")
        if end < 0:
            self.buf = buf + tail
            return b""
        self.buf = buf[end + 2 :] + tail
        return b"".join(self._event(raw) for raw in buf[:end].split(b"\n\n"))

    def close(self) -> bytes:
        """What is left at the end of the stream (an event without its blank line)."""
        rest, self.buf = self.buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), b""
        rest = rest.strip(b"\n")
        return self._event(rest) if rest else b""

    def _event(self, raw: bytes) -> bytes:
        if not raw:
            return b""
        original = raw + b"\n\n"
        lines = raw.split(b"\n")
        data = [ln[5:].removeprefix(b" ") for ln in lines if ln.startswith(b"data:")]
        if not data:
            return original
        payload = b"\n".join(data)
        if payload.strip() == b"[DONE]":
            return original
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return original
        changed, new = self.transform(obj)
        if not changed:
            return original
        if new is None:
            return b""
        other = [ln for ln in lines if not ln.startswith(b"data:")]
        return b"\n".join([*other, b"data: " + orjson.dumps(new)]) + b"\n\n"

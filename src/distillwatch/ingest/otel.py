"""OpenTelemetry GenAI spans (OTLP/JSON documents or flat spans) -> canonical fields.

An OTLP/JSON export (``resourceSpans[].scopeSpans[].spans[]``, attributes as
``[{key, value: {stringValue|intValue|...}}]``) yields one record per span, with the
resource attributes merged under the span's. A flat span is one span object with
``attributes`` as a plain object (or as an OTLP list). The ``gen_ai.*`` semantic
conventions are mapped by :data:`ATTRIBUTE_MAP`; docs/ingest.md has the full table.

Only inference spans are events: a span with no ``gen_ai.*`` attribute, or whose
``gen_ai.operation.name`` is not an inference operation, is skipped (and counted).

>>> span = {"spanId": "5fb397be34d26b51", "startTimeUnixNano": "1767571200000000000",
...         "attributes": [
...             {"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
...             {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
...             {"key": "gen_ai.input.messages", "value": {"stringValue":
...                 '[{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]'}},
...             {"key": "user.id", "value": {"stringValue": "acct_9"}}]}
>>> mapped = map_span(span, {})
>>> mapped.fields["prompt"], mapped.fields["prompt_tokens"], mapped.fields["request_id"]
('Hi', 12, '5fb397be34d26b51')
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from distillwatch import schema
from distillwatch.ingest.coerce import BadRecord, show
from distillwatch.ingest.extras import merge_extra
from distillwatch.ingest.messages import content_text, summarize

_CANONICAL: Final = frozenset(schema.FIELD_NAMES)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

#: canonical field <- attribute keys, first present wins (after the canonical name itself)
ATTRIBUTE_MAP: Final[dict[str, tuple[str, ...]]] = {
    "request_id": ("gen_ai.response.id",),
    "account_id": ("user.id", "enduser.id"),
    "ip": ("client.address",),
    "country": ("geo.country.iso_code",),
    "user_agent": ("user_agent.original",),
    "conversation_id": ("gen_ai.conversation.id", "session.id"),
    "model": ("gen_ai.request.model", "gen_ai.response.model"),
    "max_tokens": ("gen_ai.request.max_tokens",),
    "temperature": ("gen_ai.request.temperature",),
    "top_p": ("gen_ai.request.top_p",),
    "n": ("gen_ai.request.choice.count",),
    "stream": ("gen_ai.request.stream", "gen_ai.request.streaming", "llm.is_streaming"),
    "prompt_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
    "completion_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
    "reasoning_tokens": (
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.output_tokens.reasoning",
    ),
    "status": ("http.response.status_code", "http.status_code"),
}
#: attributes read by special rules below (messages, finish reasons, tools, ...)
SPECIAL_KEYS: Final = frozenset(
    {
        "gen_ai.input.messages",
        "gen_ai.system_instructions",
        "gen_ai.prompt",
        "gen_ai.response.finish_reasons",
        "gen_ai.tool.definitions",
        "gen_ai.operation.name",
    }
)
#: response content: never kept (large, and not needed to judge the request)
DROPPED_KEYS: Final = frozenset({"gen_ai.output.messages", "gen_ai.completion"})
_DROPPED_PREFIXES: Final = ("gen_ai.completion.", "gen_ai.prompt.")

#: gen_ai.operation.name values that are one model call (absent also counts as one)
INFERENCE_OPERATIONS: Final = frozenset({"chat", "text_completion", "generate_content"})
#: events whose attributes may carry the prompt (older conventions)
_PROMPT_EVENTS: Final = frozenset(
    {
        "gen_ai.content.prompt",
        "gen_ai.client.inference.operation.details",
    }
)
_SPAN_ID_KEYS: Final = ("spanId", "span_id")
_START_KEYS: Final = ("startTimeUnixNano", "start_time_unix_nano")
SPAN_MARKER_KEYS: Final = frozenset(
    {
        "spanId",
        "span_id",
        "traceId",
        "trace_id",
        "context",
        "startTimeUnixNano",
        "start_time_unix_nano",
        "start_time",
    }
)


@dataclass
class MappedSpan:
    """A span as canonical fields and extras, or why it is not an inference span."""

    fields: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    #: ``non_genai`` or the span's operation name when it is skipped; None otherwise
    skipped: str | None = None


def is_flat_span(record: dict[str, Any]) -> bool:
    """Whether *record* is one span object (attributes plus a span id or start time).

    >>> is_flat_span({"attributes": {}, "spanId": "ab"}), is_flat_span({"attributes": {}})
    (True, False)
    """
    attributes = record.get("attributes")
    return isinstance(attributes, dict | list) and not SPAN_MARKER_KEYS.isdisjoint(record)


def any_value(value: object) -> object:
    """Decode an OTLP/JSON ``AnyValue`` object (other values are returned unchanged).

    >>> any_value({"intValue": "7"}), any_value({"arrayValue": {"values": [{"boolValue": True}]}})
    (7, [True])
    """
    if not isinstance(value, dict) or len(value) != 1:
        return None if value == {} else value
    ((kind, inner),) = value.items()
    if kind == "stringValue" or kind == "boolValue" or kind == "bytesValue":
        return inner
    if kind == "intValue":
        try:
            return int(inner)
        except (TypeError, ValueError):
            return inner
    if kind == "doubleValue":
        try:
            return float(inner)
        except (TypeError, ValueError):
            return inner
    if kind == "arrayValue":
        items = inner.get("values", []) if isinstance(inner, dict) else []
        return [any_value(v) for v in items] if isinstance(items, list) else inner
    if kind == "kvlistValue":
        items = inner.get("values", []) if isinstance(inner, dict) else []
        return key_values(items)
    return value


def key_values(items: object) -> dict[str, Any]:
    """OTLP attribute list ``[{key, value}]`` (or an already flat object) -> dict.

    >>> key_values([{"key": "a", "value": {"doubleValue": 0.5}}])
    {'a': 0.5}
    """
    if isinstance(items, dict):
        return items
    if not isinstance(items, list):
        raise BadRecord("bad_type:attributes", f"attributes must be a list, got {show(items)}")
    out: dict[str, Any] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out[item["key"]] = any_value(item.get("value"))
    return out


def iter_otlp_spans(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(span, resource attributes) for every span of an OTLP/JSON traces document."""
    resource_spans = document.get("resourceSpans")
    if not isinstance(resource_spans, list):
        raise BadRecord("bad_type:resourceSpans", f"expected a list, got {show(resource_spans)}")
    for resource_span in resource_spans:
        if not isinstance(resource_span, dict):
            continue
        resource = resource_span.get("resource")
        resource_attrs = (
            key_values(resource.get("attributes", [])) if isinstance(resource, dict) else {}
        )
        scopes = resource_span.get("scopeSpans", resource_span.get("instrumentationLibrarySpans"))
        for scope in scopes if isinstance(scopes, list) else []:
            spans = scope.get("spans") if isinstance(scope, dict) else None
            for span in spans if isinstance(spans, list) else []:
                yield span, resource_attrs


def _parsed(value: object) -> object:
    """JSON text attribute values (structured content recorded as a string) -> objects."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _span_id(span: dict[str, Any]) -> object:
    for key in _SPAN_ID_KEYS:
        if span.get(key):
            return span[key]
    context = span.get("context")
    return context.get("span_id") if isinstance(context, dict) else None


def _start(span: dict[str, Any]) -> object:
    for key in _START_KEYS:
        value = span.get(key)
        if value is not None:
            try:
                return _EPOCH + timedelta(microseconds=int(value) // 1000)
            except (TypeError, ValueError, OverflowError):
                raise BadRecord(
                    "bad_timestamp:ts", f"{key} {show(value)} is not a nanosecond count"
                ) from None
    return span.get("start_time")


def _prompt_fields(attrs: dict[str, Any], fields: dict[str, Any]) -> None:
    system = _parsed(attrs.get("gen_ai.system_instructions"))
    if system is not None:
        fields["system_prompt"] = content_text(system, "gen_ai.system_instructions")
    messages = _parsed(attrs.get("gen_ai.input.messages"))
    field_name = "gen_ai.input.messages"
    if messages is None:
        messages = _parsed(attrs.get("gen_ai.prompt"))
        field_name = "gen_ai.prompt"
        if isinstance(messages, str):  # the deprecated attribute as plain text
            fields["prompt"] = messages
            return
    if messages is None:
        messages = _indexed_prompt(attrs)
    if messages is None:
        return
    summary = summarize(messages, field_name)
    if summary.prompt is not None:
        fields["prompt"] = summary.prompt
    n_messages = summary.n_messages
    if summary.system_prompt is not None:
        fields.setdefault("system_prompt", summary.system_prompt)
    elif "system_prompt" in fields:
        n_messages += 1  # counted as OpenAI counts a system message
    fields["n_messages"] = n_messages


def _indexed_prompt(attrs: dict[str, Any]) -> list[dict[str, Any]] | None:
    """``gen_ai.prompt.<i>.role`` / ``.content`` attributes (OpenLLMetry) -> messages."""
    messages: list[dict[str, Any]] = []
    i = 0
    while f"gen_ai.prompt.{i}.role" in attrs or f"gen_ai.prompt.{i}.content" in attrs:
        messages.append(
            {
                "role": attrs.get(f"gen_ai.prompt.{i}.role"),
                "content": attrs.get(f"gen_ai.prompt.{i}.content"),
            }
        )
        i += 1
    return messages or None


def _is_dropped(key: str) -> bool:
    return key in DROPPED_KEYS or key.startswith(_DROPPED_PREFIXES)


def _merge_event_attributes(span: dict[str, Any], attrs: dict[str, Any]) -> None:
    events = span.get("events")
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict) and event.get("name") in _PROMPT_EVENTS:
            for key, value in key_values(event.get("attributes", [])).items():
                attrs.setdefault(key, value)


def map_span(span: object, resource_attrs: dict[str, Any]) -> MappedSpan:
    """Canonical fields (unvalidated) and extras of one span; raises BadRecord."""
    if not isinstance(span, dict):
        raise BadRecord("not_an_object", f"a span must be an object, got {show(span)}")
    attrs = dict(resource_attrs)
    resource = span.get("resource")
    if isinstance(resource, dict):  # flat spans carry their resource inline
        attrs.update(key_values(resource.get("attributes", {})))
    attrs.update(key_values(span.get("attributes", [])))
    _merge_event_attributes(span, attrs)
    if not any(key.startswith("gen_ai.") for key in attrs):
        return MappedSpan(skipped="non_genai")
    operation = attrs.get("gen_ai.operation.name")
    if operation is not None and operation not in INFERENCE_OPERATIONS:
        return MappedSpan(skipped=str(operation))

    # canonical names used as attributes (a provider's own) win over the conventions
    explicit = {k: attrs[k] for k in _CANONICAL.intersection(attrs) if attrs[k] is not None}
    fields: dict[str, Any] = {}
    used: set[str] = set()  # attributes that became a field; the others are kept in extra
    for name, keys in ATTRIBUTE_MAP.items():
        if name in explicit:
            continue
        for key in keys:
            if attrs.get(key) is not None:
                fields[name] = attrs[key]
                used.add(key)
                break
    reasons = _parsed(attrs.get("gen_ai.response.finish_reasons"))
    if isinstance(reasons, list):
        reasons = reasons[0] if reasons else None
    if reasons is not None:
        fields["finish_reason"] = reasons
    tools = _parsed(attrs.get("gen_ai.tool.definitions"))
    if isinstance(tools, list):
        fields["tools"] = len(tools)
    _prompt_fields(attrs, fields)
    if "request_id" not in explicit and fields.get("request_id") is None:
        fields["request_id"] = _span_id(span)
    if "ts" not in explicit:
        fields["ts"] = _start(span)
    fields.update(explicit)

    extras: dict[str, Any] = {}
    for key, value in attrs.items():
        if (
            value is not None
            and key not in _CANONICAL
            and key not in used
            and key not in SPECIAL_KEYS
            and key != "extra"
            and not _is_dropped(key)
        ):
            extras[key] = value
    _span_extras(span, extras)
    if attrs.get("extra") is not None:
        merge_extra(extras, attrs["extra"])
    return MappedSpan(fields, extras)


def _span_extras(span: dict[str, Any], extras: dict[str, Any]) -> None:
    context = span.get("context")
    context = context if isinstance(context, dict) else {}
    trace_id = _first_present(span, ("traceId", "trace_id")) or context.get("trace_id")
    span_id = _span_id(span)
    for key, value in (
        ("otel.trace_id", trace_id),
        ("otel.span_id", span_id),
        ("otel.span_name", span.get("name")),
    ):
        if value:
            extras[key] = value
    status = span.get("status")
    code = status.get("code", status.get("status_code")) if isinstance(status, dict) else None
    if code not in (None, 0, "STATUS_CODE_UNSET", "UNSET"):
        extras["otel.status_code"] = code


def _first_present(span: dict[str, Any], keys: tuple[str, ...]) -> object:
    for key in keys:
        if span.get(key):
            return span[key]
    return None

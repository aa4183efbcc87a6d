"""OpenAI-style request/response log records -> canonical fields + extras.

Three layouts are read (docs/ingest.md, "OpenAI-style records"):

- a log record ``{"request": {...}, "response": {...}, ...metadata}`` (bodies may also be
  JSON text);
- a Batch API output line ``{"id", "custom_id", "response": {"status_code", "request_id",
  "body"}, "error"}``, with the request body (if known) under ``request`` or ``body``;
- a request body inline: a record with ``messages`` and no ``prompt``.

Canonical fields given explicitly win over derived ones: top level, then a ``metadata``
object, then the request body, then the response.

>>> fields, extras = map_openai({
...     "ts": "2026-01-05T00:00:00Z", "metadata": {"account_id": "acct_1", "tier": 3},
...     "request": {"model": "gpt-x", "messages": [{"role": "user", "content": "Hi"}],
...                 "tools": [{}, {}], "seed": 7},
...     "response": {"id": "chatcmpl-1", "choices": [{"finish_reason": "stop"}],
...                  "usage": {"prompt_tokens": 5, "completion_tokens": 2}}})
>>> fields["request_id"], fields["prompt"], fields["tools"], fields["finish_reason"]
('chatcmpl-1', 'Hi', 2, 'stop')
>>> extras
{'tier': 3, 'request.seed': 7}
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from distillwatch import schema
from distillwatch.ingest.coerce import BadRecord, show
from distillwatch.ingest.extras import merge_extra
from distillwatch.ingest.messages import summarize

_CANONICAL: Final = frozenset(schema.FIELD_NAMES)

#: request-body keys this module maps (everything else scalar goes to extra)
REQUEST_KEYS: Final = frozenset(
    {
        "model",
        "messages",
        "input",
        "instructions",
        "prompt",
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "temperature",
        "top_p",
        "n",
        "logprobs",
        "top_logprobs",
        "stream",
        "tools",
        "user",
        "safety_identifier",
    }
)
#: response-body keys this module maps or drops (``object`` is always redundant)
RESPONSE_KEYS: Final = frozenset(
    {"id", "created", "created_at", "model", "choices", "usage", "object"}
)
#: top-level keys consumed by the record layout itself
_LAYOUT_KEYS: Final = frozenset({"request", "response", "metadata", "extra", "status_code"})
_LAYOUT_CONSUMED: Final = _LAYOUT_KEYS | {"body"}
_INLINE_CONSUMED: Final = _LAYOUT_CONSUMED | REQUEST_KEYS
#: request parameters copied unchanged to the canonical field of the same name
_SAME_NAME: Final = ("temperature", "top_p", "n", "logprobs", "top_logprobs", "stream")


def is_openai(record: dict[str, Any]) -> bool:
    """Whether *record* has one of the OpenAI layouts (not a flat canonical event).

    >>> is_openai({"request": {"messages": []}}), is_openai({"prompt": "x", "ts": 1})
    (True, False)
    """
    request = record.get("request")
    response = record.get("response")
    if isinstance(request, dict) or isinstance(response, dict):
        return True
    if isinstance(request, str) and request.lstrip().startswith("{"):
        return True
    if "custom_id" in record and ("response" in record or isinstance(record.get("body"), dict)):
        return True
    return isinstance(record.get("messages"), list) and "prompt" not in record


def _body(value: object, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise BadRecord(f"bad_type:{field}", f"{field} is text but not JSON") from None
    if not isinstance(value, dict):
        raise BadRecord(f"bad_type:{field}", f"{field} must be an object, got {show(value)}")
    return value


def _first(*values: object) -> object:
    for value in values:
        if value is not None:
            return value
    return None


def _from_response(body: dict[str, Any], fields: dict[str, Any]) -> None:
    fields["request_id"] = body.get("id")
    fields["ts"] = _first(body.get("created"), body.get("created_at"))
    fields["model"] = body.get("model")
    choices = body.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        fields["finish_reason"] = choices[0].get("finish_reason")
    usage = body.get("usage")
    if isinstance(usage, dict):
        fields["prompt_tokens"] = _first(usage.get("prompt_tokens"), usage.get("input_tokens"))
        fields["completion_tokens"] = _first(
            usage.get("completion_tokens"), usage.get("output_tokens")
        )
        for key in ("completion_tokens_details", "output_tokens_details"):
            details = usage.get(key)
            if isinstance(details, dict) and details.get("reasoning_tokens") is not None:
                fields["reasoning_tokens"] = details["reasoning_tokens"]
                break


def _set(fields: dict[str, Any], name: str, value: object) -> None:
    if value is not None:
        fields[name] = value


def _from_request(body: dict[str, Any], fields: dict[str, Any]) -> None:
    _set(fields, "model", body.get("model"))
    messages = body.get("messages")
    prompt_input = body.get("input")
    if messages is not None:
        summary = summarize(messages, "messages")
        _set(fields, "prompt", summary.prompt)
        _set(fields, "system_prompt", summary.system_prompt)
        fields["n_messages"] = summary.n_messages
    elif isinstance(prompt_input, str):  # Responses API, plain text input
        fields["prompt"] = prompt_input
        fields["n_messages"] = 1
    elif prompt_input is not None:  # Responses API, list of input items
        summary = summarize(prompt_input, "input")
        _set(fields, "prompt", summary.prompt)
        _set(fields, "system_prompt", summary.system_prompt)
        fields["n_messages"] = summary.n_messages
    else:  # legacy completions: a string or a list of strings (the last one is kept)
        legacy = body.get("prompt")
        if isinstance(legacy, list) and legacy and all(isinstance(p, str) for p in legacy):
            legacy = legacy[-1]
        _set(fields, "prompt", legacy)
    instructions = body.get("instructions")
    if isinstance(instructions, str) and "system_prompt" not in fields:
        fields["system_prompt"] = instructions
    _set(
        fields,
        "max_tokens",
        _first(
            body.get("max_completion_tokens"), body.get("max_tokens"), body.get("max_output_tokens")
        ),
    )
    for name in _SAME_NAME:
        _set(fields, name, body.get(name))
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise BadRecord("bad_type:tools", f"request tools must be a list, got {show(tools)}")
        fields["tools"] = len(tools)
    _set(fields, "account_id", _first(body.get("user"), body.get("safety_identifier")))


def _scalar_extras(
    body: dict[str, Any], skip: frozenset[str], prefix: str, extras: dict[str, Any]
) -> None:
    for key, value in body.items():
        if key not in skip and isinstance(value, str | int | float | bool):
            extras[prefix + key] = value


def map_openai(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Canonical fields (unvalidated) and extras of an OpenAI-layout record.

    Raises :class:`~distillwatch.ingest.coerce.BadRecord` when a body has the wrong type.
    """
    inline = not isinstance(record.get("request"), dict | str) and "messages" in record
    if inline:
        request = record
    else:
        request = _body(_first(record.get("request"), record.get("body")), "request")
    wrapper = record.get("response")
    status: object = record.get("status_code")
    batch_request_id: object = None
    if (
        isinstance(wrapper, dict)
        and "body" in wrapper
        and ("status_code" in wrapper or "custom_id" in record)
    ):
        status = _first(status, wrapper.get("status_code"))
        batch_request_id = wrapper.get("request_id")
        response = _body(wrapper.get("body"), "response.body")
    else:
        response = _body(wrapper, "response")

    fields: dict[str, Any] = {}
    _from_response(response, fields)
    fields["request_id"] = _first(fields["request_id"], batch_request_id, record.get("id"))
    _from_request(request, fields)
    _set(fields, "status", status)

    extras: dict[str, Any] = {}
    metadata = record.get("metadata")
    explicit: dict[str, Any] = {}
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            if value is None:
                continue
            if key in _CANONICAL:
                explicit[key] = value
            else:
                extras[key] = value
    elif metadata is not None:
        extras["metadata"] = metadata
    consumed = _INLINE_CONSUMED if inline else _LAYOUT_CONSUMED
    for key, value in record.items():
        if value is None or key == "extra":
            continue
        if key in _CANONICAL:
            if not (inline and key in REQUEST_KEYS):
                explicit[key] = value
        elif key not in consumed:
            extras[key] = value
    if "body" in record and request is not record.get("body") and record["body"] is not None:
        extras["body"] = record["body"]
    fields.update(explicit)

    if not inline:
        _scalar_extras(request, REQUEST_KEYS, "request.", extras)
    _scalar_extras(response, RESPONSE_KEYS, "response.", extras)
    if batch_request_id is not None and fields.get("request_id") != batch_request_id:
        extras["response.request_id"] = batch_request_id
    # fallback sources that were not used are kept (the end-user id matters for resellers)
    for key in ("id", "model"):
        value = response.get(key)
        if value is not None and fields.get("request_id" if key == "id" else key) != value:
            extras[f"response.{key}"] = value
    for key in ("user", "safety_identifier"):
        value = request.get(key)
        if value is not None and fields.get("account_id") != value:
            extras[f"{'' if inline else 'request.'}{key}"] = value
    if record.get("extra") is not None:
        merge_extra(extras, record["extra"])
    return fields, extras

"""Chat messages (OpenAI and OpenTelemetry GenAI forms) -> prompt, system prompt, count.

A message is an object with a ``role`` and either ``content`` (a string or a list of
parts) or ``parts`` (the OpenTelemetry form). A part contributes its text when its
``type`` is ``text`` or ``input_text`` (or absent), from its ``text`` or ``content`` key.

>>> msgs = [{"role": "system", "content": "Be brief."},
...         {"role": "user", "content": [{"type": "text", "text": "Hi"},
...                                      {"type": "image_url", "image_url": {}}]}]
>>> summarize(msgs, "messages")
MessageSummary(prompt='Hi', system_prompt='Be brief.', n_messages=2)
"""

from __future__ import annotations

from dataclasses import dataclass

from distillwatch.ingest.coerce import BadRecord, show

TEXT_PART_TYPES = frozenset({"text", "input_text"})
SYSTEM_ROLES = frozenset({"system", "developer"})


@dataclass(frozen=True)
class MessageSummary:
    """What the canonical event keeps of a message list."""

    #: text of the last ``user`` message (None if there is no user message)
    prompt: str | None
    #: texts of all ``system``/``developer`` messages, joined by a blank line
    system_prompt: str | None
    n_messages: int


def part_text(part: object) -> str | None:
    """Text of one content part, or None if it carries no text.

    >>> part_text({"type": "text", "content": "a"}), part_text({"type": "image_url"})
    ('a', None)
    """
    if isinstance(part, str):
        return part
    if not isinstance(part, dict) or part.get("type", "text") not in TEXT_PART_TYPES:
        return None
    for key in ("text", "content"):
        value = part.get(key)
        if isinstance(value, str):
            return value
    return None


def content_text(content: object, field: str) -> str:
    """Text of a message ``content``/``parts`` value: a string, or text parts joined by a
    newline. Raises BadRecord for other types.

    >>> content_text([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "m")
    'a\\nb'
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [t for t in map(part_text, content) if t is not None]
        return "\n".join(texts)
    raise BadRecord(
        f"bad_type:{field}", f"message content must be text or parts, got {show(content)}"
    )


def message_text(message: dict[str, object], field: str) -> str:
    """Text of one message (``content`` or, failing that, OpenTelemetry ``parts``)."""
    content = message.get("content")
    if content is None:
        content = message.get("parts")
    return content_text(content, field)


def summarize(messages: object, field: str) -> MessageSummary:
    """Prompt (last user message), system prompt and count of a message list.

    *field* names the input field in quarantine reasons (``bad_type:<field>``).
    """
    if not isinstance(messages, list):
        raise BadRecord(f"bad_type:{field}", f"expected a list of messages, got {show(messages)}")
    prompt: str | None = None
    systems: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            raise BadRecord(
                f"bad_type:{field}", f"a message must be an object, got {show(message)}"
            )
        role = message.get("role")
        if role == "user":
            prompt = message_text(message, field)
        elif role in SYSTEM_ROLES:
            systems.append(message_text(message, field))
    system_prompt = "\n\n".join(systems) if systems else None
    return MessageSummary(prompt, system_prompt, len(messages))

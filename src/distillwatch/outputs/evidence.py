"""Turn a signal's evidence dict into a few short ``(field, value)`` lines for people.

Evidence is whatever a signal put in its typed ``Evidence`` dataclass (as a JSON-ready dict),
so values may be numbers, strings, lists or nested dicts. Writers show only the first
fields, each value shortened; they escape the text for their own medium.

>>> key_fields({"share": 0.8712, "phrases": ["step by step", "show work", "why", "how"]})
[('share', '0.871'), ('phrases', 'step by step, show work, why (+1 more)')]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from distillwatch.outputs.fmt import truncate

MAX_FIELDS = 6
MAX_ITEMS = 3
MAX_CHARS = 120


def fmt_value(value: Any, *, depth: int = 0) -> str:
    """One evidence value as a short string.

    >>> fmt_value(3), fmt_value(0.000123456), fmt_value(True), fmt_value(None)
    ('3', '0.000123', 'true', '—')
    >>> fmt_value({"a": 1, "b": [1, 2]})
    'a=1, b=[1, 2]'
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, Mapping):
        items = list(value.items())
        parts = [f"{k}={fmt_value(v, depth=depth + 1)}" for k, v in items[:MAX_ITEMS]]
        return _with_more(parts, len(items))
    if isinstance(value, list | tuple | set | frozenset):
        seq = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        parts = [fmt_value(v, depth=depth + 1) for v in seq[:MAX_ITEMS]]
        if depth > 0:
            return "[" + ", ".join(parts) + ("" if len(seq) <= MAX_ITEMS else ", …") + "]"
        return _with_more(parts, len(seq))
    return truncate(str(value), MAX_CHARS)


def _with_more(parts: list[str], total: int) -> str:
    text = ", ".join(parts)
    if total > len(parts):
        text += f" (+{total - len(parts)} more)"
    return truncate(text, MAX_CHARS)


def key_fields(evidence: Mapping[str, Any], limit: int = MAX_FIELDS) -> list[tuple[str, str]]:
    """The first *limit* evidence fields as ``(name, short value)`` pairs, in signal order.

    >>> key_fields({"a": 1, "b": 2, "c": 3}, limit=2)
    [('a', '1'), ('b', '2')]
    """
    return [(str(k), fmt_value(v)) for k, v in list(evidence.items())[:limit]]

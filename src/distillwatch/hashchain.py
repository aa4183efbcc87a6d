"""The pure functions of an append-only, hash-chained log (the hub's audit log, the case store's).

An entry is a JSON-ready dict; its hash is ``sha256(prev_hash + canonical(entry))`` as hex,
where :func:`canonical` is JSON with sorted keys, no spaces and UTF-8 kept. The first
entry follows :data:`GENESIS` (64 zeros). Altering, removing or reordering any entry
changes every hash after it.

>>> first = entry_hash(GENESIS, {"seq": 1, "what": "x"})
>>> second = entry_hash(first, {"seq": 2, "what": "y"})
>>> len(second), second == entry_hash(first, {"what": "y", "seq": 2})
(64, True)
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["GENESIS", "canonical", "entry_hash"]

#: the ``prev_hash`` of the first entry of every chain
GENESIS = "0" * 64


def canonical(entry: dict[str, Any]) -> str:
    """The canonical JSON text of an entry (sorted keys, compact, UTF-8 kept).

    >>> canonical({"b": 1, "a": "é"})
    '{"a":"é","b":1}'
    """
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """``sha256(prev_hash + canonical_json(entry))`` as hex."""
    return hashlib.sha256((prev_hash + canonical(entry)).encode("utf-8")).hexdigest()

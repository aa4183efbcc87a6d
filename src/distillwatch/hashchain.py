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

__all__ = ["GENESIS", "canonical", "entry_hash", "link_problem"]

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


def link_problem(
    expected_seq: int,
    prev_hash: str,
    seq: int,
    stored_prev_hash: str,
    stored_hash: str,
    entry: dict[str, Any],
) -> tuple[str, int] | None:
    """Why a stored entry does not continue the chain, and the seq concerned (None when it
    does): the entry *expected_seq* is missing, the entry does not follow the one before
    (whose hash is *prev_hash*), or it was altered (its hash no longer matches *entry*).

    >>> good = entry_hash(GENESIS, {"seq": 1})
    >>> link_problem(1, GENESIS, 1, GENESIS, good, {"seq": 1}) is None
    True
    >>> link_problem(1, GENESIS, 2, GENESIS, good, {"seq": 2})
    ('entry 1 is missing (next is 2)', 1)
    """
    if seq != expected_seq:
        return f"entry {expected_seq} is missing (next is {seq})", expected_seq
    if stored_prev_hash != prev_hash:
        return f"entry {seq} does not follow the one before", seq
    if entry_hash(prev_hash, entry) != stored_hash:
        return f"entry {seq} was altered after it was written", seq
    return None

"""The quarantine: one JSON line per input record that could not become an event.

Each line is ``{"source", "reason", "detail", "raw"}`` (plus ``"raw_truncated": true``
when ``raw`` was cut to :data:`RAW_LIMIT_BYTES`). ``raw`` is always text: the original
line, or the row/span serialised as JSON. Reason codes are listed in docs/ingest.md.

>>> import io
>>> out = io.BytesIO()
>>> q = QuarantineWriter(out)
>>> q.write(QuarantineEntry("a.jsonl:3", "invalid_json", "unexpected end", "{"))
>>> out.getvalue()
b'{"source":"a.jsonl:3","reason":"invalid_json","detail":"unexpected end","raw":"{"}\\n'
>>> q.counts
Counter({'invalid_json': 1})
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO, Final

import orjson

from distillwatch.ingest.extras import dump_json

#: longest ``raw`` kept, in UTF-8 bytes (64 KiB)
RAW_LIMIT_BYTES: Final = 64 * 1024
_DETAIL_LIMIT: Final = 500


@dataclass(frozen=True)
class QuarantineEntry:
    """One unusable record and why."""

    #: ``path:line``, ``path#row N`` (1-based), with ``#span K`` for spans of a document
    source: str
    #: short stable code, e.g. ``invalid_json`` or ``missing_field:prompt``
    reason: str
    #: one line for humans
    detail: str
    #: the original text (or JSON of the row), at most RAW_LIMIT_BYTES
    raw: str
    raw_truncated: bool = False


def raw_text(raw: object) -> tuple[str, bool]:
    """Quarantine text of an input record: bytes decoded (bad bytes escaped), anything
    else as JSON; cut to RAW_LIMIT_BYTES. Returns (text, was_cut).

    >>> raw_text(b"ab\\xffc"), raw_text({"a": 1})
    (('ab\\\\xffc', False), ('{"a":1}', False))
    """
    if isinstance(raw, str):
        data = raw.encode("utf-8", "surrogatepass")
    elif isinstance(raw, bytes | bytearray | memoryview):
        data = bytes(raw)
    else:
        data = dump_json(raw).encode("utf-8", "surrogatepass")
    cut = len(data) > RAW_LIMIT_BYTES
    if cut:
        data = data[:RAW_LIMIT_BYTES]
    return data.decode("utf-8", "backslashreplace"), cut


def one_line(text: str) -> str:
    """*text* on one line, at most a few hundred characters.

    >>> one_line("a\\n b")
    'a b'
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= _DETAIL_LIMIT else flat[: _DETAIL_LIMIT - 3] + "..."


class QuarantineWriter:
    """Appends entries to an open binary stream and counts them by reason."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.counts: Counter[str] = Counter()

    def write(self, entry: QuarantineEntry) -> None:
        """Write *entry* as one JSON line."""
        doc: dict[str, object] = {
            "source": entry.source,
            "reason": entry.reason,
            "detail": one_line(entry.detail),
            "raw": entry.raw,
        }
        if entry.raw_truncated:
            doc["raw_truncated"] = True
        try:
            line = orjson.dumps(doc)
        except TypeError:  # lone surrogates, e.g. from an undecodable file name
            line = json.dumps(doc, separators=(",", ":")).encode()
        self.stream.write(line + b"\n")
        self.counts[entry.reason] += 1

    def reject(self, reason: str, detail: str, raw: object, prefix: str, number: int) -> None:
        """Write the record at ``f"{prefix}{number}"`` (number 0: *prefix* alone); *raw* is
        its input text (bytes) or object."""
        text, cut = raw_text(raw)
        source = f"{prefix}{number}" if number else prefix
        self.write(QuarantineEntry(source, reason, detail, text, cut))

"""Marking text that arrives in pieces (a streamed answer), exactly as if it came whole.

A piece is held back until the text so far ends a sentence or a line with every quotation,
code fence and inline code span closed; then the new sentences are marked with everything
before them as context and released. Phrases never cross a sentence end, so the result is
the same as marking the whole answer at once (tested), and the test reads the served text
as the marker did. The cost is latency: a client of a marked stream receives the answer
one sentence at a time.

>>> from distillwatch.provenance.keys import ProvenanceKey
>>> from distillwatch.provenance.lexicon import load_lexicon
>>> s = MarkStream(ProvenanceKey("pk-doc", bytes(32)), load_lexicon())
>>> [s.feed(p) for p in ("Hello th", "ere. And ", "more")] + [s.flush()]
['', 'Hello there. ', '', 'And more']
"""

from __future__ import annotations

import re

from distillwatch.provenance.keys import ProvenanceKey
from distillwatch.provenance.lexicon import Lexicon
from distillwatch.provenance.mark import mark_text

_BOUNDARY = re.compile(r"[.!?]['\")\]\u2019\u201d]*[ \t]+|\n")
_FENCE = re.compile(r"```|~~~")


def _balanced(text: str) -> bool:
    """True when no quotation, code fence or inline code span is left open in ``text``."""
    if len(_FENCE.findall(text)) % 2:
        return False
    prose = _FENCE.sub("", text)
    if prose.count("`") % 2 or prose.count('"') % 2:
        return False
    return prose.count("\u201c") == prose.count("\u201d")


class MarkStream:
    """The marker for one streamed text (one choice of one response)."""

    __slots__ = ("digests", "key", "lexicon", "original", "released")

    def __init__(self, key: ProvenanceKey, lexicon: Lexicon) -> None:
        self.key = key
        self.lexicon = lexicon
        self.original = ""
        self.released = 0  # characters of ``original`` already marked and sent
        self.digests: set[int] = set()

    @property
    def pending(self) -> str:
        """Text received and not yet released."""
        return self.original[self.released :]

    def feed(self, piece: str) -> str:
        """Take the next piece; return the marked text that can be released now."""
        self.original += piece
        cut = self._cut()
        return self._release(cut) if cut > self.released else ""

    def flush(self) -> str:
        """Release everything held back (the end of the stream)."""
        return self._release(len(self.original)) if self.pending else ""

    def _cut(self) -> int:
        ends = [m.end() for m in _BOUNDARY.finditer(self.original, self.released)]
        for end in reversed(ends[-4:]):  # the latest sentence end that leaves nothing open
            if _balanced(self.original[:end]):
                return end
        return self.released

    def _release(self, cut: int) -> str:
        result = mark_text(self.original[:cut], self.key, self.lexicon, since=self.released)
        self.digests |= result.digests
        out = result.text[self.released :]
        self.released = cut
        return out

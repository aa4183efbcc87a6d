"""Apply the mark: at each eligible lexicon occurrence, the variant the key picks.

The choice depends only on the key, the group and the canonical context (see
:mod:`distillwatch.provenance.text`), so the same key always makes the same choices and
different keys make independent ones. At ``strength`` below 1 only that share of
positions (chosen by the key too) is marked. Every marked position can be recorded as a
keyed 64-bit digest in a ledger, which later lets the test look only where the mark was
served; the ledger holds no text.

>>> from distillwatch.provenance.keys import ProvenanceKey
>>> from distillwatch.provenance.lexicon import load_lexicon
>>> key = ProvenanceKey("pk-doc", bytes(32))
>>> out = mark_text("We do not know. `do not` stays.", key, load_lexicon())
>>> out.text.endswith("`do not` stays.")
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

from distillwatch.provenance.keys import ProvenanceKey
from distillwatch.provenance.lexicon import Lexicon
from distillwatch.provenance.text import Occurrence, occurrences


@dataclass(frozen=True)
class MarkResult:
    """A marked text and what the marker did to it."""

    text: str
    words: int  # words in the original text
    positions: int  # eligible lexicon occurrences
    active: int  # of which marked at this strength
    changed: int  # occurrences whose wording changed
    words_changed: int  # words of the original that were replaced
    digests: frozenset[int] = field(default=frozenset(), repr=False)

    @property
    def share_changed(self) -> float:
        """Share of the original's words that were replaced."""
        return self.words_changed / self.words if self.words else 0.0


def _render(variant: tuple[str, ...], occ: Occurrence, curly: bool) -> str:
    out = " ".join(variant)
    if occ.capitalised:
        out = out[0].upper() + out[1:]
    return out.replace("'", "\u2019") if curly else out


def count_words(text: str) -> int:
    """Whitespace-separated words, the denominator of the changed share."""
    return len(text.split())


def mark_text(
    text: str,
    key: ProvenanceKey,
    lexicon: Lexicon,
    *,
    strength: float | None = None,
    since: int = 0,
) -> MarkResult:
    """``text`` with the mark of ``key`` applied (``strength`` defaults to the key's).

    With ``since``, only occurrences starting at or after that offset are considered (the
    text before it, already served, is the context): ``text[:since]`` comes back unchanged
    and the counts cover the rest only.
    """
    level = key.strength if strength is None else strength
    curly = text.count("\u2019") > text.count("'")
    parts: list[str] = []
    last = positions = active = changed = words_changed = 0
    digests: set[int] = set()
    for occ in occurrences(text, lexicon, key.context_words):
        if not occ.eligible or occ.start < since:
            continue
        if lexicon.groups[occ.group].kind not in key.kinds:
            continue
        positions += 1
        variants = lexicon.groups[occ.group].variants
        pick, activation, digest = key.position(occ.group, occ.context, len(variants))
        if activation >= level:
            continue
        active += 1
        digests.add(digest)
        if pick == occ.variant:
            continue
        parts.append(text[last : occ.start])
        parts.append(_render(variants[pick], occ, curly))
        last = occ.end
        changed += 1
        words_changed += len(variants[occ.variant])
    parts.append(text[last:])
    return MarkResult(
        "".join(parts),
        count_words(text[since:]),
        positions,
        active,
        changed,
        words_changed,
        frozenset(digests),
    )

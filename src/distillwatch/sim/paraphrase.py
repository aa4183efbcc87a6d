"""The attacker's paraphrase: random synonym replacement before training a student.

A paraphrase that swaps interchangeable words and phrases is the cheapest way to wash a
provenance mark out of harvested text. ``groups`` lists the interchangeable forms, each
group a list of lowercase phrases (words separated by single spaces; a word may hold an
internal apostrophe or hyphen). Matching is case-insensitive, takes the longest phrase
first, and a phrase matches only across plain spaces (never across punctuation or a line
break). A replacement keeps the capitalisation of the first letter; everything outside
the replaced spans is kept byte for byte.

>>> groups = [["for example", "for instance"], ["don't", "do not"]]
>>> paraphrase("Don't worry. For example, this.", groups, 1.0, seed=0)
('Do not worry. For instance, this.', 3, 5)
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from distillwatch.errors import UsageError

# the same word units as the student's tokenizer (sim/student.py)
_WORD = re.compile(
    r"(?:[^\W\d_]\.){2,}|\d+(?:[.,:]\d+)+|[^\W_]+(?:['\u2019\-][^\W_]+)*",
)
_SPACES = re.compile(r"[ \t\u00a0]+")


@dataclass(frozen=True)
class _Match:
    first: int  # index of the first word
    last: int  # index of the last word (inclusive)
    group: int
    member: int


def paraphrase(
    text: str, groups: Sequence[Sequence[str]], rate: float, *, seed: int
) -> tuple[str, int, int]:
    """Replace each occurrence of a group member, with probability *rate*, by a uniformly
    chosen other member of its group.

    Returns ``(new text, words replaced, words in text)``; words replaced counts the words
    of the original spans that were replaced (``for example`` counts 2). Same seed, same
    result.

    >>> paraphrase("Perhaps. Maybe!", [["perhaps", "maybe"]], 1.0, seed=3)
    ('Maybe. Perhaps!', 2, 2)
    >>> paraphrase("Perhaps.", [["perhaps", "maybe"]], 0.0, seed=3)
    ('Perhaps.', 0, 1)
    """
    _check_rate(rate)
    table = _table(_frozen(groups))
    spans, matches = _segment(text, table)
    rng = random.Random(seed)
    chosen = [m for m in matches if rng.random() < rate]
    return _rewrite(text, spans, chosen, table, rng)


def paraphrase_words(
    text: str, groups: Sequence[Sequence[str]], rate: float, *, seed: int
) -> tuple[str, int, int]:
    """Pick ``round(rate * words)`` of ALL word tokens uniformly at random and replace
    those that belong to a group member (a picked word inside a multi-word phrase replaces
    the whole phrase) by a uniformly chosen other member of its group.

    Most words have no synonym, so the realised share of replaced words is lower than
    *rate*; it is returned as ``(new text, words replaced, words in text)``.

    >>> paraphrase_words("Perhaps the cat, maybe not.", [["perhaps", "maybe"]], 1.0, seed=1)
    ('Maybe the cat, perhaps not.', 2, 5)
    """
    _check_rate(rate)
    table = _table(_frozen(groups))
    spans, matches = _segment(text, table)
    rng = random.Random(seed)
    picked = set(rng.sample(range(len(spans)), round(rate * len(spans))))
    chosen = [m for m in matches if any(i in picked for i in range(m.first, m.last + 1))]
    return _rewrite(text, spans, chosen, table, rng)


# ------------------------------------------------------------------------ internals
class _Table:
    """Lookup of lowercase word tuples to (group, member), and the members as text."""

    def __init__(
        self,
        lookup: dict[tuple[str, ...], tuple[int, int]],
        members: tuple[tuple[str, ...], ...],
        max_words: int,
    ) -> None:
        self.lookup = lookup
        self.members = members
        self.max_words = max_words


def _check_rate(rate: float) -> None:
    if not 0.0 <= rate <= 1.0:
        raise UsageError(f"paraphrase rate must be between 0 and 1, got {rate!r}")


def _frozen(groups: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    if isinstance(groups, str):
        raise UsageError("groups must be a list of lists of phrases, not a string")
    for g, group in enumerate(groups):
        if isinstance(group, str) or not all(isinstance(p, str) for p in group):
            raise UsageError(f"synonym group {g} must be a list of phrases (strings)")
    return tuple(tuple(group) for group in groups)


@lru_cache(maxsize=16)
def _table(groups: tuple[tuple[str, ...], ...]) -> _Table:
    lookup: dict[tuple[str, ...], tuple[int, int]] = {}
    members: list[tuple[str, ...]] = []
    max_words = 1
    for g, group in enumerate(groups):
        distinct = tuple(dict.fromkeys(" ".join(_normal(p).split()) for p in group))
        if len(distinct) < 2:
            raise UsageError(f"synonym group {g} {list(group)} needs at least 2 distinct phrases")
        for k, phrase in enumerate(distinct):
            words = tuple(_WORD.findall(phrase))
            if " ".join(words) != phrase:
                raise UsageError(
                    f"synonym group {g}: {phrase!r} is not plain words separated by spaces"
                )
            if words in lookup:
                raise UsageError(
                    f"synonym group {g}: {phrase!r} is already in group {lookup[words][0]}; "
                    "each phrase may belong to one group only"
                )
            lookup[words] = (g, k)
            max_words = max(max_words, len(words))
        members.append(distinct)
    return _Table(lookup, tuple(members), max_words)


def _normal(word: str) -> str:
    return word.lower().replace("\u2019", "'")


def _segment(text: str, table: _Table) -> tuple[list[tuple[int, int]], list[_Match]]:
    """Character spans of every word, and the longest-first matches of group members."""
    found = list(_WORD.finditer(text))
    spans = [m.span() for m in found]
    words = [_normal(m.group()) for m in found]
    # joinable[i]: words i and i+1 are separated by plain spaces only
    joinable = [
        _SPACES.fullmatch(text, spans[i][1], spans[i + 1][0]) is not None
        for i in range(len(spans) - 1)
    ]
    matches: list[_Match] = []
    i = 0
    while i < len(words):
        longest = 1
        while longest < table.max_words and i + longest < len(words) and joinable[i + longest - 1]:
            longest += 1
        for n in range(longest, 0, -1):
            hit = table.lookup.get(tuple(words[i : i + n]))
            if hit is not None:
                matches.append(_Match(i, i + n - 1, hit[0], hit[1]))
                i += n
                break
        else:
            i += 1
    return spans, matches


def _rewrite(
    text: str,
    spans: list[tuple[int, int]],
    chosen: list[_Match],
    table: _Table,
    rng: random.Random,
) -> tuple[str, int, int]:
    parts: list[str] = []
    at = 0
    replaced = 0
    for m in chosen:
        start, end = spans[m.first][0], spans[m.last][1]
        others = [p for k, p in enumerate(table.members[m.group]) if k != m.member]
        new = rng.choice(others)
        if text[start].isupper():
            new = new[0].upper() + new[1:]
        parts.append(text[at:start])
        parts.append(new)
        at = end
        replaced += m.last - m.first + 1
    parts.append(text[at:])
    return "".join(parts), replaced, len(spans)

"""Where a text can carry the mark: the lexicon's words and phrases outside protected spans.

The marker and the test read a text the same way, so this module is their only reading:

- **protected spans** are never changed: fenced and inline code, indented code lines,
  URLs, e-mail addresses, quotations ("...", “...”, '...'), HTML tags and ``$...$``
  maths. Numbers are not words here, so they are never touched either.
- **words** are runs of letters with inner apostrophes or hyphens (``don't``,
  ``well-known``); a phrase of the lexicon matches consecutive words separated by spaces
  only, longest phrase first.
- an occurrence is **eligible** when none of its words is protected and its casing is
  ordinary: all lowercase, or capitalised at the start of a sentence or list item.
  A capitalised lexicon word inside a sentence is taken for a name and left alone.
- the **context** of an occurrence is its previous ``context_words`` words in canonical
  form (lowercase; a lexicon word or phrase becomes its group, ``g<id>``), so a context
  never depends on which variant the marker chose before it.

>>> from distillwatch.provenance.lexicon import load_lexicon
>>> occ = occurrences("For example, we do not know.", load_lexicon(), 1)
>>> [(o.surface, o.context, o.eligible) for o in occ]  # doctest: +SKIP
[('For example', '^', True), ('do not', 'we', True)]
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache

from distillwatch.provenance.lexicon import Lexicon

_PROTECTED = re.compile(
    "|".join(
        [
            r"(?:```|~~~)[\s\S]*?(?:```|~~~|\Z)",  # fenced code (an unclosed fence runs to the end)
            r"`[^`\n]+`",  # inline code
            r"(?m:^(?: {4}|\t).*$)",  # indented code lines
            r"(?:https?|ftp)://\S+|www\.\S+",  # URLs
            r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail addresses
            r"\"[^\"\n]{1,600}\"",  # straight double quotes
            r"\u201c[^\u201d]{1,600}\u201d",  # typographic double quotes
            r"\u2018[^\u2019]{1,600}\u2019(?!\w)",  # typographic single quotes
            r"(?<![\w'])'[^'\n]{1,300}'(?![\w])",  # straight single quotes
            r"<[^<>\n]{1,300}>",  # HTML or XML tags
            r"\$[^$\n]{1,300}\$",  # inline maths
            r"[\w-]+\s*:\s*[^;\n{}]{1,200};",  # CSS-like declarations outside code fences
        ]
    )
)
_WORD = re.compile(r"(?<![\w'\u2019-])[A-Za-z]+(?:['\u2019-][A-Za-z]+)*(?![\w'\u2019-])")
_SENTENCE_END = re.compile(
    r"(?:[.!?:;]['\"\u2019\u201d)\]]*\s*|\n\s*(?:[-*+\u2022]|\d{1,3}[.)])?\s*)$"
)
#: past participles after which 's means "has" ("it's been"), where "is" would be wrong
HAS_PARTICIPLES = frozenset(
    {
        "been", "got", "gotten", "had", "become", "begun", "come", "done", "gone", "grown",
        "seen", "taken", "given", "made", "shown", "known", "brought", "found", "left", "lost",
        "put", "said", "told", "thought", "won",
    }
)  # fmt: skip
_CODE_BEFORE = frozenset("._/\\@#$:")
_CODE_AFTER = frozenset("(_[{=<")
_LOOKBACK = 12  # characters before a word inspected to decide sentence start


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One lexicon word or phrase in a text."""

    start: int
    end: int
    group: int
    variant: int
    context: str
    eligible: bool
    capitalised: bool


@dataclass(frozen=True, slots=True)
class _Word:
    start: int
    end: int
    lower: str
    protected: bool


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Start and end offsets of the spans that are never changed, in order.

    >>> protected_spans('say "do not" and `x`')
    [(4, 12), (17, 20)]
    """
    return [m.span() for m in _PROTECTED.finditer(text)]


def _words(text: str) -> list[_Word]:
    spans = protected_spans(text)
    starts = [s for s, _ in spans]
    out = []
    for m in _WORD.finditer(text):
        i = bisect_right(starts, m.start()) - 1
        protected = i >= 0 and m.start() < spans[i][1]
        out.append(_Word(m.start(), m.end(), m.group().lower().replace("\u2019", "'"), protected))
    return out


def _sentence_start(text: str, pos: int) -> bool:
    if pos == 0:
        return True
    before = text[max(0, pos - _LOOKBACK) : pos]
    if not before.strip():
        return pos <= _LOOKBACK  # only whitespace before: the start of the text
    return _SENTENCE_END.search(before) is not None


def _casing_ok(text: str, words: list[_Word]) -> tuple[bool, bool]:
    """(eligible by casing, capitalised first letter)."""
    first = text[words[0].start : words[0].end]
    rest_lower = all(text[w.start : w.end].islower() for w in words[1:])
    if first.islower():
        return rest_lower, False
    if first == "I" or first.startswith(("I'", "I\u2019")):  # "I", "I'm": always capitalised
        return rest_lower, True
    if first[0].isupper() and (len(first) == 1 or first[1:].islower()) and rest_lower:
        return _sentence_start(text, words[0].start), True
    return False, True


def _code_like(text: str, start: int, end: int) -> bool:
    """A word glued to code punctuation is an identifier, not prose: ``response.ok``,
    ``ok()``, ``ok_count``, ``#ok``, ``$ok``, ``x.ok.y``, ``ok=1``."""
    before = text[start - 1 : start]
    after = text[end : end + 2]
    return (
        before in _CODE_BEFORE
        or after[:1] in _CODE_AFTER
        or (after[:1] == "." and after[1:2].isalnum())
    )


def _grammar_ok(variants: tuple[tuple[str, ...], ...], follows: str | None) -> bool:
    """False where a swap inside the group would break grammar: a pronoun-verb
    contraction ("it's", "you're", "we'll") needs a word after it ("I know what it is." has
    no "what it's."), an 's form must not stand for "has" ("it's been", "she's got"), nor
    a 'd form for "had" ("I'd gone", "we'd finished")."""
    aux, has_s, has_d = _contractions(variants)
    if not aux:
        return True  # no contraction, or a negation, which may end a clause ("I don't.")
    if follows is None:
        return False
    if has_d and (follows in HAS_PARTICIPLES or follows.endswith("ed")):
        return False  # "I'd gone" is "I had", not "I would"
    return not (has_s and follows in HAS_PARTICIPLES)


@cache
def _contractions(variants: tuple[tuple[str, ...], ...]) -> tuple[bool, bool, bool]:
    """Of a group: has a pronoun-verb contraction (not only negations), an 's form, a 'd form."""
    forms = [v[-1] for v in variants if "'" in v[-1]]
    aux = bool(forms) and not all(f.endswith("n't") for f in forms)
    return aux, any(f.endswith("'s") for f in forms), any(f.endswith("'d") for f in forms)


def occurrences(text: str, lexicon: Lexicon, context_words: int) -> list[Occurrence]:
    """Every lexicon occurrence of ``text`` in order, eligible or not, with its context."""
    words = _words(text)
    canon: list[str] = []
    found: list[Occurrence] = []
    i, n = 0, len(words)
    prefixes = lexicon.prefixes
    while i < n:
        hit = None
        run: tuple[str, ...] = (words[i].lower,)
        j = i + 1
        while run in prefixes:  # grow the run while it can still become a variant
            ref = lexicon.lookup(run)
            if ref is not None:
                hit = (len(run), ref)
            if j >= n or len(run) >= lexicon.max_words:
                break
            nxt = words[j]
            gap = text[words[j - 1].end : nxt.start]
            if not gap or gap.strip(" "):  # phrases join words across spaces only
                break
            run = (*run, nxt.lower)
            j += 1
        if hit is None:
            canon.append(words[i].lower)
            i += 1
            continue
        length, (group, variant) = hit
        span = words[i : i + length]
        casing, capitalised = _casing_ok(text, span)
        start, end = span[0].start, span[-1].end
        after = words[i + length] if i + length < n else None
        follows = (
            after.lower if after is not None and not text[end : after.start].strip(" ") else None
        )
        pad = ["^"] * max(0, context_words - len(canon))
        context = " ".join(pad + canon[len(canon) - context_words + len(pad) :])
        found.append(
            Occurrence(
                start,
                end,
                group,
                variant,
                context,
                casing
                and not _code_like(text, start, end)
                and not any(w.protected for w in span)
                and _grammar_ok(lexicon.groups[group].variants, follows),
                capitalised,
            )
        )
        canon.append(f"g{group}")
        i += length
    return found

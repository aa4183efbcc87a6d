"""The lexicon: groups of words and phrases that can replace one another without changing
meaning or grammar, which the marker chooses among.

The shipped lexicon is ``provenance/data/lexicon.toml``: a list of ``[[group]]`` tables,
each with a ``kind`` (``contraction``, ``spelling``, ``synonym`` or ``phrase``) and 2 to 4
lowercase ``variants`` of at most 4 words each. A group's id is its 0-based position in
the file. **Appending** groups keeps every old id, so keys and ledgers made before stay
valid; reordering, inserting or deleting groups renumbers them and invalidates both.

>>> lex = load_lexicon()
>>> gid, idx = lex.lookup(("for", "example"))
>>> lex.groups[gid].variants[idx]
('for', 'example')
>>> lex.lookup(("for", "lunch")) is None
True
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from distillwatch.errors import ConfigError

KINDS = ("contraction", "spelling", "synonym", "phrase")
MIN_VARIANTS = 2
MAX_VARIANTS = 4
MAX_WORDS = 4
_WORD = re.compile(r"[a-z]+(?:['-][a-z]+)*")


@dataclass(frozen=True)
class Group:
    """One set of interchangeable forms; ``variants`` holds each form as a tuple of words."""

    id: int
    kind: str
    variants: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Lexicon:
    """All groups, and an exact lookup from a lowercase word tuple to (group id, variant index).

    >>> lex = Lexicon((Group(0, "phrase", (("for", "example"), ("for", "instance"))),), 2)
    >>> lex.lookup(("for", "instance"))
    (0, 1)
    """

    groups: tuple[Group, ...]
    max_words: int  # the longest variant, in words

    @functools.cached_property
    def _index(self) -> dict[tuple[str, ...], tuple[int, int]]:
        return {v: (g.id, i) for g in self.groups for i, v in enumerate(g.variants)}

    @functools.cached_property
    def prefixes(self) -> frozenset[tuple[str, ...]]:
        """Every proper or whole beginning of a variant, as words: a run of words that is
        not one of these cannot grow into an occurrence."""
        return frozenset(words[:k] for words in self._index for k in range(1, len(words) + 1))

    def lookup(self, words: tuple[str, ...]) -> tuple[int, int] | None:
        """``(group id, variant index)`` of exactly ``words`` (lowercase), else ``None``."""
        return self._index.get(words)


def load_lexicon(path: Path | None = None) -> Lexicon:
    """Read and validate a lexicon file; ``None`` is the shipped one (cached).

    Raises :class:`~distillwatch.errors.ConfigError` naming the file, the group and the fix.

    >>> len(load_lexicon().groups) >= 250
    True
    """
    if path is None:
        return _shipped()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"lexicon {path} cannot be read: {exc}") from exc
    return _parse(text, str(path))


def lexicon_sha256(path: Path | None = None) -> str:
    """Hex SHA-256 of a lexicon's content (ids, kinds, variants), not of its comments.

    Keys record it, so a test against a different lexicon can be refused.

    >>> len(lexicon_sha256())
    64
    """
    if path is None:
        return _shipped_sha256()
    return _digest(load_lexicon(path))


@functools.cache
def _shipped() -> Lexicon:
    ref = resources.files("distillwatch.provenance").joinpath("data", "lexicon.toml")
    try:
        text = ref.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"shipped lexicon cannot be read: {exc}; reinstall distillwatch") from exc
    return _parse(text, "provenance/data/lexicon.toml")


@functools.cache
def _shipped_sha256() -> str:
    return _digest(_shipped())


def _digest(lex: Lexicon) -> str:
    canon = [[g.id, g.kind, [" ".join(v) for v in g.variants]] for g in lex.groups]
    return hashlib.sha256(json.dumps(canon, separators=(",", ":")).encode()).hexdigest()


def _parse(text: str, where: str) -> Lexicon:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"lexicon {where} is not valid TOML: {exc}") from exc
    extra = sorted(set(data) - {"group"})
    if extra:
        raise ConfigError(f"lexicon {where}: unknown top-level key(s) {extra}; only [[group]]")
    tables = data.get("group")
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"lexicon {where}: no [[group]] tables; add at least one group")
    groups: list[Group] = []
    seen: dict[tuple[str, ...], int] = {}
    for gid, table in enumerate(tables):
        group = _group(table, gid, where)
        for words in group.variants:
            if words in seen:
                first = seen[words]
                where_else = "earlier in this group" if first == gid else f"in group {first}"
                raise ConfigError(
                    f"lexicon {where}: group {gid}: duplicate variant {' '.join(words)!r} "
                    f"(already {where_else}); remove one of them"
                )
            seen[words] = gid
        groups.append(group)
    return Lexicon(tuple(groups), max(len(v) for g in groups for v in g.variants))


def _group(table: Any, gid: int, where: str) -> Group:
    at = f"lexicon {where}: group {gid}"
    if not isinstance(table, dict):
        raise ConfigError(f"{at}: must be a [[group]] table")
    extra = sorted(set(table) - {"kind", "variants"})
    if extra:
        raise ConfigError(f"{at}: unknown key(s) {extra}; a group has only kind and variants")
    kind = table.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{at}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    raw = table.get("variants")
    if not isinstance(raw, list) or not MIN_VARIANTS <= len(raw) <= MAX_VARIANTS:
        count = len(raw) if isinstance(raw, list) else "no list of"
        raise ConfigError(
            f"{at}: has {count} variants; give a list of {MIN_VARIANTS} to {MAX_VARIANTS} strings"
        )
    variants = tuple(_variant(v, at) for v in raw)
    return Group(gid, kind, variants)


def _variant(value: Any, at: str) -> tuple[str, ...]:
    if not isinstance(value, str):
        raise ConfigError(f"{at}: variant {value!r} is not a string")
    words = value.split(" ")
    if not 1 <= len(words) <= MAX_WORDS:
        raise ConfigError(f"{at}: variant {value!r} has more than {MAX_WORDS} words; shorten it")
    for word in words:
        if not _WORD.fullmatch(word):
            raise ConfigError(
                f"{at}: variant {value!r} has bad characters or spacing; use lowercase a-z "
                "words, inner ' or - only, separated by single spaces"
            )
    return tuple(words)

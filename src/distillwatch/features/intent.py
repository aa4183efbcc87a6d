"""Request intent flags: does a prompt ask for written-out reasoning, for the model's hidden
reasoning or system prompt, for a grade of a response, or for synthetic training data?

The patterns are data (``config/intent.toml``): per category, per language, RE2 regular
expressions over the normalised prompt (NFKC, lower case, single spaces). They are
validated and OR-ed into one regex per category and language the first time they are
needed. Matching runs in Arrow (RE2) over whole columns, language by language: one pass
per group of categories (:data:`SCAN_GROUPS`), then each category of the group only on the
rows that matched. Languages in another script only run on rows containing that script.
Keep patterns DFA-friendly (notes in the file): once a union overflows RE2's DFA cache,
RE2 falls back to its NFA and matching gets ~100x slower.

>>> import pyarrow as pa
>>> flags = intent_flags(pa.array(["solve it. let's think step by step.", "bake bread"]))
>>> flags["cot"].tolist(), flags["rubric"].tolist()
([True, False], [False, False])
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.config import load_toml
from distillwatch.errors import ConfigError

#: The categories, in output order (``intent_<category>`` columns).
CATEGORIES: tuple[str, ...] = ("cot", "reveal", "rubric", "synth")

_MACRO = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_LANG = re.compile(r"[a-z]{2,3}")


#: categories scanned together (one RE2 pass each); bigger unions overflow RE2's DFA cache
SCAN_GROUPS: tuple[tuple[str, ...], ...] = (("cot", "rubric"), ("reveal", "synth"))


@dataclass(frozen=True)
class IntentPatterns:
    """Validated intent patterns: per category and language, one combined RE2 regex.

    >>> p = default_intent_patterns()
    >>> sorted(p.regex) == sorted(CATEGORIES) and "ja" in p.regex["synth"]
    True
    """

    #: category -> language -> one regex (the OR of its entries, macros expanded)
    regex: dict[str, dict[str, str]]
    #: category -> number of entries
    n_patterns: dict[str, int]

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language with entries in some category, English first."""
        langs = {lang for table in self.regex.values() for lang in table}
        return tuple(sorted(langs, key=lambda x: (x != "en", x)))


def _re2_check(pattern: str, where: str) -> None:
    """Compile ``pattern`` with the engine that will run it (RE2 inside Arrow)."""
    try:
        empty = pc.match_substring_regex(pa.array([""], pa.string()), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ConfigError(f"{where} is not a valid RE2 regular expression: {exc}") from exc
    if empty[0].as_py():
        raise ConfigError(f"{where} matches the empty string, so it would flag every prompt")


def _expand(pattern: str, macros: dict[str, str], where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in macros:
            raise ConfigError(f"{where} uses unknown macro {{{name}}}; define it in [macros]")
        return macros[name]

    return _MACRO.sub(sub, pattern)


def parse_intent_patterns(data: dict[str, Any], source: str = "intent.toml") -> IntentPatterns:
    """Validate a parsed intent file and combine it; :class:`ConfigError` names a bad entry.

    >>> parse_intent_patterns({c: {"en": ["x"]} for c in CATEGORIES}).n_patterns["cot"]
    1
    >>> parse_intent_patterns({c: {"en": ["("]} for c in CATEGORIES})
    Traceback (most recent call last):
    distillwatch.errors.ConfigError: intent.toml: [cot].en[0] is not a valid RE2 ...
    """
    macros_raw = data.get("macros", {})
    if not isinstance(macros_raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in macros_raw.items()
    ):
        raise ConfigError(f'{source}: [macros] must map NAME = "regex"')
    macros: dict[str, str] = dict(macros_raw)
    unknown = sorted(set(data) - set(CATEGORIES) - {"macros"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown table [{unknown[0]}]; categories are {', '.join(CATEGORIES)}"
        )
    regex: dict[str, dict[str, str]] = {}
    counts: dict[str, int] = {}
    for cat in CATEGORIES:
        table = data.get(cat)
        if not isinstance(table, dict) or not table:
            raise ConfigError(f"{source}: [{cat}] is missing or empty; give it language lists")
        regex[cat] = {}
        counts[cat] = 0
        for lang, entries in table.items():
            if not _LANG.fullmatch(lang):
                raise ConfigError(f"{source}: [{cat}].{lang} is not a language code like 'en'")
            if not isinstance(entries, list) or not entries:
                raise ConfigError(f"{source}: [{cat}].{lang} must be a non-empty list of regexes")
            parts: list[tuple[str, str]] = []
            for i, entry in enumerate(entries):
                where = f"{source}: [{cat}].{lang}[{i}]"
                if not isinstance(entry, str) or not entry.strip():
                    raise ConfigError(f"{where} must be a non-empty string")
                parts.append((where, _expand(entry, macros, where)))
            combined = "|".join(f"(?:{p})" for _, p in parts)
            try:
                _re2_check(combined, f"{source}: [{cat}].{lang}")
            except ConfigError:
                for where, pattern in parts:  # name the entry at fault
                    _re2_check(pattern, where)
                raise
            regex[cat][lang] = combined
            counts[cat] += len(parts)
    return IntentPatterns(regex=regex, n_patterns=counts)


def load_intent_patterns(path: Path | None = None) -> IntentPatterns:
    """Load and validate the packaged ``intent.toml`` or the file at ``path``."""
    if path is None:
        return parse_intent_patterns(load_toml("intent.toml"))
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"intent patterns {path} cannot be read: {exc}") from exc
    return parse_intent_patterns(data, str(path))


@cache
def default_intent_patterns() -> IntentPatterns:
    """The packaged patterns, loaded and validated once per process."""
    return load_intent_patterns()


#: languages whose patterns only make sense on text in their script, by UTF-8 lead bytes
SCRIPT_LEAD_BYTES: dict[str, tuple[int, int]] = {
    "ru": (0xD0, 0xD3),  # Cyrillic U+0400..U+04FF
    "ja": (0xE3, 0xE9),  # kana, CJK punctuation, Han U+3000..U+9FFF
    "zh": (0xE3, 0xE9),
}


def script_scope(norm: pa.Array) -> dict[str, np.ndarray]:
    """Rows containing each :data:`SCRIPT_LEAD_BYTES` script (numpy over the UTF-8 bytes).

    >>> script_scope(pa.array(["hello", "привет", "你好"]))["ru"].tolist()
    [False, True, False]
    """
    bufs = norm.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[norm.offset : norm.offset + len(norm) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    out: dict[str, np.ndarray] = {}
    for lang, (lo, hi) in SCRIPT_LEAD_BYTES.items():
        pos = np.flatnonzero((data >= lo) & (data <= hi))
        out[lang] = np.diff(np.searchsorted(pos, offsets)) > 0
    return out


def _match(texts: pa.Array, pattern: str) -> np.ndarray:
    hit = pc.fill_null(pc.match_substring_regex(texts, pattern), False)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def intent_flags(
    norm: pa.Array,
    patterns: IntentPatterns | None = None,
    *,
    scope: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Per-category boolean flags for normalised texts (see module docstring).

    ``scope`` maps a language to the rows its patterns run on; a language not in it runs
    on every row. By default the script languages of :func:`script_scope` are scoped.
    """
    p = patterns if patterns is not None else default_intent_patterns()
    n = len(norm)
    out = {c: np.zeros(n, dtype=bool) for c in CATEGORIES}
    if n == 0:
        return out
    if scope is None:
        scope = script_scope(norm)
    for lang in p.languages:
        rows = scope.get(lang)
        idx = np.arange(n) if rows is None else np.flatnonzero(rows)
        if idx.size == 0:
            continue
        texts = norm if idx.size == n else norm.take(pa.array(idx))
        for group in SCAN_GROUPS:
            cats = [c for c in group if lang in p.regex[c]]
            if not cats:
                continue
            hit = _match(texts, "|".join(f"(?:{p.regex[c][lang]})" for c in cats))
            if not hit.any():
                continue
            if len(cats) == 1:
                out[cats[0]][idx[hit]] = True
                continue
            sub = texts.filter(pa.array(hit))
            for c in cats:
                out[c][idx[hit][_match(sub, p.regex[c][lang])]] = True
    return out

"""Coarse task domain of a prompt (math, code, health, ...), from keyword lists.

Used to measure how many domains an account's prompts cover, so it only has to be cheap
and roughly right. Keywords are data (``config/domains.toml``). A prompt's word tokens
(``features.templates.word_tokens``: its first and last 12) are looked up in the keyword
tables with Arrow hash lookups, each hit votes for its domain, and the domain with most
votes wins (ties: the one listed first). Chinese and Japanese keywords are matched as
substrings of the joined tokens instead, since each CJK character is its own token.
A prompt without any keyword is ``other``.

>>> import pyarrow as pa
>>> toks = pa.array([["write", "a", "python", "function"], ["hello", "there"]])
>>> guess_domain(toks).to_pylist()
['code', 'other']
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
from distillwatch.features.templates import FlatTokens, flat_tokens

#: The domain of a prompt with no keyword.
OTHER = "other"

_NAME = re.compile(r"[a-z][a-z_]*")
_LANG = re.compile(r"[a-z]{2,3}")
_CJK = re.compile("[\u3040-\u30ff\u3400-\u9fff]")
#: characters a keyword may not start or end with (tokens are trimmed of them)
_EDGE = set(".,;:!?\"'()[]{}*-/\\|`~^_+=&%#@")


@dataclass(frozen=True)
class DomainKeywords:
    """Validated keyword tables.

    >>> kw = default_domain_keywords()
    >>> kw.names[:2], OTHER in kw.names
    (('code', 'math'), False)
    """

    #: domain names in priority order (first wins ties)
    names: tuple[str, ...]
    #: whole-token keywords and their domain index
    exact: pa.Array
    exact_codes: np.ndarray
    #: prefix keywords (``stem*``) by stem length: (length, stems, domain indexes)
    prefixes: tuple[tuple[int, pa.Array, np.ndarray], ...]
    #: per domain, a regex of its CJK keywords ("" if none)
    cjk: tuple[str, ...]


def _check_word(w: Any, where: str) -> str:
    if not isinstance(w, str) or not w.strip("* "):
        raise ConfigError(f"{where} must be a non-empty string")
    if w != w.lower():
        raise ConfigError(f"{where} {w!r} must be lower case (text is lowered)")
    word = w[:-1] if w.endswith("*") else w
    if " " in word or "*" in word:
        raise ConfigError(f"{where} {w!r} must be one word, optionally ending in '*'")
    if word[0] in _EDGE or word[-1] in _EDGE:
        raise ConfigError(
            f"{where} {w!r} starts or ends with punctuation, which tokens never do; drop it"
        )
    return w


def parse_domain_keywords(data: dict[str, Any], source: str = "domains.toml") -> DomainKeywords:
    """Validate a parsed domains file; :class:`ConfigError` names the bad entry.

    >>> parse_domain_keywords({"domains": {"math": {"en": ["algebra", "calcul*"]}}}).names
    ('math',)
    >>> parse_domain_keywords({"domains": {"math": {"en": ["linear algebra"]}}})
    Traceback (most recent call last):
    distillwatch.errors.ConfigError: domains.toml: [domains.math].en[0] 'linear algebra' ...
    """
    table = data.get("domains")
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{source}: needs [domains.NAME] tables of keyword lists")
    exact: dict[str, int] = {}
    prefixes: dict[int, dict[str, int]] = {}
    cjk: list[list[str]] = []
    for k, (name, langs) in enumerate(table.items()):
        if not _NAME.fullmatch(name) or name == OTHER:
            raise ConfigError(f"{source}: [domains.{name}] must be [a-z_]+ and not '{OTHER}'")
        if not isinstance(langs, dict) or not langs:
            raise ConfigError(f"{source}: [domains.{name}] must map languages to keyword lists")
        cjk.append([])
        for lang, words in langs.items():
            if not _LANG.fullmatch(lang):
                raise ConfigError(f"{source}: [domains.{name}].{lang} is not a language code")
            if not isinstance(words, list) or not words:
                raise ConfigError(f"{source}: [domains.{name}].{lang} must be a non-empty list")
            for i, raw in enumerate(words):
                w = _check_word(raw, f"{source}: [domains.{name}].{lang}[{i}]")
                if _CJK.search(w):
                    cjk[-1].append(re.escape(w.rstrip("*")))
                elif w.endswith("*"):
                    prefixes.setdefault(len(w) - 1, {}).setdefault(w[:-1], k)
                else:
                    exact.setdefault(w, k)
    return DomainKeywords(
        names=tuple(table),
        exact=pa.array(list(exact), pa.string()),
        exact_codes=np.array(list(exact.values()), dtype=np.int32),
        prefixes=tuple(
            (n, pa.array(list(stems), pa.string()), np.array(list(stems.values()), np.int32))
            for n, stems in sorted(prefixes.items())
        ),
        cjk=tuple("|".join(words) for words in cjk),
    )


def load_domain_keywords(path: Path | None = None) -> DomainKeywords:
    """Load and validate the packaged ``domains.toml`` or the file at ``path``."""
    if path is None:
        return parse_domain_keywords(load_toml("domains.toml"))
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"domain keywords {path} cannot be read: {exc}") from exc
    return parse_domain_keywords(data, str(path))


@cache
def default_domain_keywords() -> DomainKeywords:
    """The packaged keywords, loaded and validated once per process."""
    return load_domain_keywords()


def _lookup(values: pa.Array, table: pa.Array, codes: np.ndarray) -> np.ndarray:
    pos = pc.fill_null(pc.index_in(values, value_set=table), -1)
    idx = np.asarray(pos.to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.where(idx >= 0, codes[np.maximum(idx, 0)] if len(codes) else -1, -1)


def word_domains(words: pa.Array, kw: DomainKeywords) -> np.ndarray:
    """Domain index of each (distinct) word; -1 if it is not a keyword."""
    code = _lookup(words, kw.exact, kw.exact_codes)
    for n, stems, stem_codes in kw.prefixes:
        todo = code < 0
        if not todo.any():
            break
        cut = pc.utf8_slice_codeunits(words, 0, n)
        code = np.where(todo, _lookup(cut, stems, stem_codes), code)
    return code


def domain_codes(
    tokens: FlatTokens, keywords: DomainKeywords | None = None, cjk: np.ndarray | None = None
) -> np.ndarray:
    """Domain index per row (``len(names)`` means :data:`OTHER`).

    ``cjk`` marks the rows that may hold Chinese/Japanese keywords (found if not given).
    """
    kw = keywords if keywords is not None else default_domain_keywords()
    n, nd = tokens.n_rows, len(kw.names)
    code = word_domains(tokens.words, kw)[tokens.index] if len(tokens.words) else np.zeros(0, int)
    hit = code >= 0
    votes = np.bincount(tokens.rows[hit] * nd + code[hit], minlength=n * nd).reshape(n, nd)
    if any(kw.cjk) and n:
        if cjk is None:
            cjk = np.zeros(n, dtype=bool)
            for lst in tokens.lists:
                found = pc.match_substring_regex(pc.binary_join(lst, ""), _CJK.pattern)
                cjk |= np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), bool)
        idx = np.flatnonzero(cjk)
        if idx.size:
            for lst in tokens.lists:
                joined = pc.binary_join(lst.take(pa.array(idx)), "")
                for k, pattern in enumerate(kw.cjk):
                    if pattern:
                        found_k = pc.count_substring_regex(joined, pattern)
                        votes[idx, k] += np.asarray(
                            pc.fill_null(found_k, 0).to_numpy(zero_copy_only=False), np.int64
                        )
    best = np.argmax(votes, axis=1) if nd else np.zeros(n, dtype=np.int64)
    return np.where(votes.max(axis=1, initial=0) > 0, best, nd).astype(np.int32)


def guess_domain(
    tokens: FlatTokens | pa.ListArray,
    keywords: DomainKeywords | None = None,
    cjk: np.ndarray | None = None,
) -> pa.Array:
    """Domain name per row of word tokens (see module docstring)."""
    kw = keywords if keywords is not None else default_domain_keywords()
    flat = tokens if isinstance(tokens, FlatTokens) else flat_tokens(tokens)
    codes = pa.array(domain_codes(flat, kw, cjk), pa.int32())
    names = pa.array([*kw.names, OTHER], pa.string())
    return pa.DictionaryArray.from_arrays(codes, names).cast(pa.string())

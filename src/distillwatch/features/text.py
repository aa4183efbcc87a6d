# Multilingual text is the data here: typographic and full-width punctuation is intended.
# ruff: noqa: RUF002
"""Per-request text features: an Arrow record batch in, an Arrow record batch out.

:func:`text_features` is a plain function of one batch, so it runs in-process or inside
Spark's ``mapInArrow`` unchanged. No language model: Arrow compute kernels (RE2) over whole
columns, numpy over the UTF-8 buffers, and ``hashlib`` for the hashes.

Normalisation (the base of everything): Unicode NFKC (only rows that are not pure ASCII
need it), lower case, every whitespace run -> one space, ends trimmed. Then:

- ``content_hash``: hash of the normalised prompt (exact repeats up to case/whitespace).
- ``skeleton_hash``, ``head``, ``tail``: see ``features.templates``.
- ``n_chars`` (code points of the raw prompt), ``n_words`` (space-separated tokens of the
  normalised prompt; each Chinese/Japanese character counts as a word).
- ``intent_*``: ``features.intent``, on the prompt OR the system prompt (each distinct
  system prompt checked once). English patterns run on every row; another language's
  only on rows that may be in it (guessed as it or unknown, two of its stop words, or its
  script), which keeps the cost near two RE2 passes per row.
- ``lang``: :func:`guess_lang`; ``domain``: ``features.domains``. Both look up the head
  and tail word tokens, not the whole text.

Hashes are blake2b with an 8-byte digest of the UTF-8 bytes, read as a little-endian
signed int64: the same in every process and run.

>>> batch = pa.RecordBatch.from_pydict({
...     "request_id": ["r1", "r2"],
...     "prompt": ["What is the derivative of x^2? Think step by step.",
...                "What is the derivative of x^3?  Think step by step."],
...     "system_prompt": [None, None]})
>>> out = text_features(batch)
>>> out["skeleton_hash"][0] == out["skeleton_hash"][1], out["intent_cot"].to_pylist()
(True, [True, True])
>>> out["lang"].to_pylist(), out["domain"].to_pylist(), out["head"][0].as_py()
(['en', 'en'], ['math', 'math'], 'what is the derivative of x^<n> think step by step')
"""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.errors import DetectionError
from distillwatch.features.domains import guess_domain
from distillwatch.features.intent import CATEGORIES, intent_flags, script_scope
from distillwatch.features.templates import (
    HAS_CJK,
    FlatTokens,
    apply_where,
    byte_flags,
    collapse_whitespace,
    flat_tokens,
    heads_and_tails,
    skeletons,
    string_buffers,
    word_tokens,
)

TEXT_FEATURE_SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.string()),
        pa.field("skeleton_hash", pa.int64()),
        pa.field("head", pa.string()),
        pa.field("tail", pa.string()),
        pa.field("content_hash", pa.int64()),
        pa.field("n_chars", pa.int32()),
        pa.field("n_words", pa.int32()),
        *[pa.field(f"intent_{c}", pa.bool_()) for c in CATEGORIES],
        pa.field("lang", pa.string()),
        pa.field("domain", pa.string()),
    ]
)

#: rows processed at a time (bounded memory; Arrow kernels are fastest on batches this size)
CHUNK_ROWS = 65_536

# ------------------------------------------------------------------------ normalisation


def normalise_with_flags(prompts: pa.Array) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """(lowered, normalised, :func:`byte_flags` of lowered): see :func:`normalise`."""
    texts = pc.fill_null(prompts, "")
    ascii_rows = np.asarray(pc.string_is_ascii(texts).to_numpy(zero_copy_only=False), dtype=bool)
    if not ascii_rows.all():
        # NFKC only where it changes something (utf8_normalize is slow; the check is not)
        idx = np.flatnonzero(~ascii_rows)
        sub = texts.take(pa.array(idx)).to_pylist()
        stable = np.array([unicodedata.is_normalized("NFKC", t) for t in sub], dtype=bool)
        change = np.zeros(len(texts), dtype=bool)
        change[idx[~stable]] = True
        texts = apply_where(texts, change, lambda t: pc.utf8_normalize(t, "NFKC"))
    lowered = pc.utf8_lower(texts)
    flags = byte_flags(lowered)
    return lowered, collapse_whitespace(lowered, flags), flags


def normalise(prompts: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(lowered, normalised) texts: NFKC + lower case, then whitespace collapsed.

    >>> low, norm = normalise(pa.array(["Ｈello\\n\\n  WORLD ", None]))
    >>> low.to_pylist(), norm.to_pylist()
    (['hello\\n\\n  world ', ''], ['hello world', ''])
    """
    lowered, norm, _ = normalise_with_flags(prompts)
    return lowered, norm


def stable_hash64(texts: pa.Array) -> np.ndarray:
    """blake2b-64 of each text's UTF-8 bytes as signed int64 (each distinct text hashed once).

    >>> stable_hash64(pa.array(["abc", "abc", ""])).tolist()
    [6455300059550759896, 6455300059550759896, -5426141060434712860]
    """
    if len(texts) == 0:
        return np.zeros(0, dtype=np.int64)
    enc = pc.dictionary_encode(pc.fill_null(texts, ""))
    hashes = _blake64(enc.dictionary.cast(pa.binary()).to_pylist())
    return hashes[np.asarray(enc.indices.to_numpy(), dtype=np.int64)]


def _blake64(values: list[bytes]) -> np.ndarray:
    blake = hashlib.blake2b
    digest = b"".join([blake(v, digest_size=8).digest() for v in values])
    return np.frombuffer(digest, dtype="<i8").astype(np.int64)


def content_and_skeleton_hashes(norm: pa.Array, sk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """:func:`stable_hash64` of both columns, hashing a skeleton only where it differs
    from its normalised text (a prompt without variables is its own skeleton)."""
    content = _blake64(norm.cast(pa.binary()).to_pylist())
    differs = np.flatnonzero(
        ~np.asarray(pc.fill_null(pc.equal(norm, sk), False).to_numpy(zero_copy_only=False), bool)
    )
    skeleton = content.copy()
    if differs.size:
        skeleton[differs] = _blake64(sk.take(pa.array(differs)).cast(pa.binary()).to_pylist())
    return content, skeleton


def word_counts(
    norm: pa.Array, cjk: np.ndarray | None = None, spaces: np.ndarray | None = None
) -> np.ndarray:
    """Space-separated tokens of normalised texts; in ``cjk`` rows (all rows if None) each
    kana/Han character counts as one more. ``spaces`` per row are counted if not given.

    >>> word_counts(pa.array(["a b c", "", "数学 ok"])).tolist()
    [3, 0, 4]
    """
    offsets, data = string_buffers(norm)
    if spaces is None:
        spaces = np.diff(np.searchsorted(np.flatnonzero(data == 32), offsets))
    words = spaces + (np.diff(offsets) > 0)
    rows = np.ones(len(norm), dtype=bool) if cjk is None else cjk
    if rows.any():
        sub = norm if rows.all() else norm.filter(pa.array(rows))
        sub_off, sub_data = string_buffers(sub)
        lead = np.flatnonzero((sub_data >= 0xE3) & (sub_data <= 0xE9))
        words[rows] += np.diff(np.searchsorted(lead, sub_off))
    return words.astype(np.int32)


# ------------------------------------------------------------------------------ language

#: language codes :func:`guess_lang` can return
LANGS: tuple[str, ...] = (
    "en", "es", "fr", "de", "pt", "it", "ru", "el", "he", "ar", "hi", "th", "ja", "zh", "ko",
    "und",
)  # fmt: skip
_LANG_ID = {code: i for i, code in enumerate(LANGS)}

# stop words (and a few letters) by language; each occurrence is one vote
_STOPWORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "the", "and", "is", "are", "of", "to", "that", "it", "for", "you", "with", "what",
        "this", "how", "can", "my", "be", "on", "does", "have", "why", "which", "your",
        "from", "not", "would", "should", "about", "there", "they", "we",
    ),
    "es": (
        "el", "la", "los", "las", "de", "que", "y", "en", "un", "una", "es", "por", "para",
        "con", "del", "se", "lo", "su", "al", "como", "más", "pero", "qué", "cómo",
        "está", "son", "muy", "también", "ñ", "¿", "¡",
    ),
    "fr": (
        "le", "la", "les", "de", "des", "et", "est", "un", "une", "du", "en", "que", "qui",
        "pour", "dans", "pas", "sur", "ce", "vous", "je", "il", "avec", "au", "ne", "comment",
        "pourquoi", "c'est", "très", "être", "sont", "aux", "ces", "cette", "ou", "où",
        "mais", "nous", "leur", "par",
    ),
    "de": (
        "der", "das", "und", "ist", "nicht", "ein", "eine", "zu", "den", "mit", "von",
        "sich", "ich", "sie", "es", "auf", "für", "dem", "wie", "auch", "bitte",
        "werden", "sind", "kann", "einen", "oder", "wir", "du", "diese", "nach", "über",
        "noch", "wenn", "aber", "eines", "einer", "zum", "zur",
    ),
    "pt": (
        "o", "os", "de", "que", "e", "da", "dos", "das", "em", "uma", "não",
        "para", "com", "por", "é", "se", "mais", "como", "você", "isso", "na", "são",
        "está", "muito", "também", "ao", "aos", "pelo", "pela", "seu", "sua", "qual",
    ),
    "it": (
        "il", "lo", "gli", "le", "di", "che", "e", "è", "un", "una", "non", "con",
        "del", "della", "sono", "perché", "questo", "anche", "nel", "alla", "si", "ma",
        "cosa", "più",
    ),
}  # fmt: skip
_LATIN_LANGS = tuple(_STOPWORDS)
#: code units of the prompt the language guess looks at
LANG_SPAN = 200


_STOP_WORDS = pa.array(sorted({w for ws in _STOPWORDS.values() for w in ws}), pa.string())
_STOP_MASKS = np.array(
    [
        sum(1 << j for j, code in enumerate(_LATIN_LANGS) if w in _STOPWORDS[code])
        for w in _STOP_WORDS.to_pylist()
    ],
    dtype=np.int64,
)


# script class of a UTF-8 byte (non-lead continuation bytes are class 0)
(_NONE, _ASCII, _LATIN, _CYR, _GREEK, _HEBREW, _ARABIC, _E0, _E3, _HAN, _EA_ED) = range(11)
_N_SCRIPT = 11
_SCRIPT_LUT = np.zeros(256, dtype=np.uint8)
_SCRIPT_LUT[ord("a") : ord("z") + 1] = _ASCII
_SCRIPT_LUT[0xC3:0xCA] = _LATIN
_SCRIPT_LUT[0xCE:0xD0] = _GREEK
_SCRIPT_LUT[0xD0:0xD4] = _CYR
_SCRIPT_LUT[0xD7] = _HEBREW
_SCRIPT_LUT[0xD8:0xDC] = _ARABIC
_SCRIPT_LUT[0xE0] = _E0
_SCRIPT_LUT[0xE3] = _E3
_SCRIPT_LUT[0xE4:0xEA] = _HAN
_SCRIPT_LUT[0xEA:0xEE] = _EA_ED
# refined classes, from the second byte
_KANA, _DEVANAGARI, _THAI, _HANGUL = 11, 12, 13, 14
_N_CLASS = 15
_SCRIPT_LANG = {
    _CYR: "ru", _GREEK: "el", _HEBREW: "he", _ARABIC: "ar", _DEVANAGARI: "hi",
    _THAI: "th", _HANGUL: "ko",
}  # fmt: skip


def _script_counts(texts: pa.Array) -> np.ndarray:
    """Characters per script class (rows x classes), counting UTF-8 lead bytes."""
    offsets, data = string_buffers(texts)
    cls = _SCRIPT_LUT[data].astype(np.int64)
    second = np.concatenate([data[1:], np.zeros(1, np.uint8)])
    cls[(cls == _E3) & (second >= 0x81) & (second <= 0x83)] = _KANA
    cls[(cls == _E3) & (second >= 0x90)] = _HAN  # CJK extension A
    cls[(cls == _E0) & ((second == 0xA4) | (second == 0xA5))] = _DEVANAGARI
    cls[(cls == _E0) & ((second == 0xB8) | (second == 0xB9))] = _THAI
    first_hangul = (data == 0xEA) & (second >= 0xB0)
    cls[(cls == _EA_ED) & (first_hangul | (data > 0xEA))] = _HANGUL
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(offsets))
    counts = np.bincount(rows * _N_CLASS + cls, minlength=len(texts) * _N_CLASS)
    return counts.reshape(len(texts), _N_CLASS)


def _script_lang(counts: np.ndarray) -> np.ndarray:
    """Language code per row from its script counts; -1 where the text is mostly Latin."""
    letter_classes = [_ASCII, _LATIN, _CYR, _GREEK, _HEBREW, _ARABIC, _KANA, _HAN]
    letters = counts[:, [*letter_classes, _DEVANAGARI, _THAI, _HANGUL]].sum(axis=1)
    out = np.full(len(counts), -1, dtype=np.int32)
    cjk = counts[:, _KANA] + counts[:, _HAN]
    major = 0.3 * np.maximum(letters, 1)
    is_cjk = (cjk >= major) & (cjk > 0)
    kana = counts[:, _KANA] >= np.maximum(2, 0.05 * cjk)
    out[is_cjk & kana] = _LANG_ID["ja"]
    out[is_cjk & ~kana] = _LANG_ID["zh"]
    for cls, code in _SCRIPT_LANG.items():
        out[(out < 0) & (counts[:, cls] >= major) & (counts[:, cls] > 0)] = _LANG_ID[code]
    return out


def stopword_votes(tokens: FlatTokens) -> np.ndarray:
    """Stop-word votes per row (rows x the six Latin-script languages of ``_STOPWORDS``)."""
    pos = pc.fill_null(pc.index_in(tokens.words, value_set=_STOP_WORDS), -1)
    idx = np.asarray(pos.to_numpy(zero_copy_only=False), dtype=np.int64)
    word_mask = np.where(idx >= 0, _STOP_MASKS[np.maximum(idx, 0)], 0)
    mask = word_mask[tokens.index] if len(word_mask) else np.zeros(0, np.int64)
    hit = mask > 0
    rows, mask = tokens.rows[hit], mask[hit]
    return np.stack(
        [
            np.bincount(rows[(mask >> j) & 1 == 1], minlength=tokens.n_rows)
            for j in range(len(_LATIN_LANGS))
        ],
        axis=1,
    )


def _stopword_lang(votes: np.ndarray) -> np.ndarray:
    """Language code per row: the clear winner with at least two votes, else ``und``."""
    ranked = np.sort(votes, axis=1)
    best = np.argmax(votes, axis=1)
    clear = (ranked[:, -1] >= 2) & (ranked[:, -1] > ranked[:, -2])
    ids = np.array([_LANG_ID[c] for c in _LATIN_LANGS], dtype=np.int32)
    return np.where(clear, ids[best], _LANG_ID["und"]).astype(np.int32)


def lang_codes(norm: pa.Array, tokens: FlatTokens, votes: np.ndarray | None = None) -> np.ndarray:
    """Index into :data:`LANGS` per normalised text, given its word tokens (and their
    :func:`stopword_votes`, computed if not given)."""
    n = len(norm)
    if votes is None:
        votes = stopword_votes(tokens)
    out = _stopword_lang(votes) if n else np.zeros(0, dtype=np.int32)
    spans = pc.utf8_slice_codeunits(norm, 0, LANG_SPAN)
    non_ascii = ~np.asarray(pc.string_is_ascii(spans).to_numpy(zero_copy_only=False), dtype=bool)
    if non_ascii.any():
        idx = np.flatnonzero(non_ascii)
        by_script = _script_lang(_script_counts(spans.take(pa.array(idx))))
        out[idx] = np.where(by_script >= 0, by_script, out[idx])
    return out


def guess_lang(norm: pa.Array, tokens: FlatTokens | None = None) -> pa.Array:
    """Language code per normalised text: by script for ru/el/he/ar/hi/th/ja/zh/ko, by
    stop words among its word tokens for en/es/fr/de/pt/it, ``und`` when unsure.

    >>> guess_lang(pa.array(["¿dónde está la estación de tren?", "東京はどこですか"])).to_pylist()
    ['es', 'ja']
    """
    if tokens is None:
        words = pc.ascii_split_whitespace(norm)
        trimmed = pc.utf8_trim(words.flatten(), "?!.,;:¿¡")
        tokens = flat_tokens(pa.ListArray.from_arrays(words.offsets, trimmed))
    names = pa.array(LANGS, pa.string())
    codes = pa.array(lang_codes(norm, tokens), pa.int32())
    return pa.DictionaryArray.from_arrays(codes, names).cast(pa.string())


# ------------------------------------------------------------------------------ features


def _system_intents(system_prompts: pa.Array) -> dict[str, np.ndarray]:
    """Intent flags of the system prompts, each distinct one checked once."""
    n = len(system_prompts)
    out = {c: np.zeros(n, dtype=bool) for c in CATEGORIES}
    if system_prompts.null_count == n:
        return out
    enc = pc.dictionary_encode(system_prompts)
    flags = intent_flags(normalise(enc.dictionary)[1])
    idx = np.asarray(pc.fill_null(enc.indices, -1).to_numpy(), dtype=np.int64)
    present = idx >= 0
    for c in CATEGORIES:
        out[c][present] = flags[c][idx[present]]
    return out


def _intent_scope(
    norm: pa.Array, codes: np.ndarray, votes: np.ndarray, cjk: np.ndarray
) -> dict[str, np.ndarray]:
    """Rows each non-English language's intent patterns run on: rows guessed as that
    language or unknown, rows with two of its stop words (a wrapper in another language
    than the task), and for ru/ja/zh the rows containing the script."""
    unknown = codes == _LANG_ID["und"]
    scope = {
        code: (codes == _LANG_ID[code]) | unknown | (votes[:, j] >= 2)
        for j, code in enumerate(_LATIN_LANGS)
        if code != "en"
    }
    scope["ja"] = scope["zh"] = cjk
    non_ascii = ~np.asarray(pc.string_is_ascii(norm).to_numpy(zero_copy_only=False), bool)
    scope["ru"] = np.zeros(len(norm), dtype=bool)
    if non_ascii.any():
        scope["ru"][non_ascii] = script_scope(norm.filter(pa.array(non_ascii)))["ru"]
    return scope


def _chunk_features(
    request_id: pa.Array, prompt: pa.Array, system_prompt: pa.Array | None
) -> list[pa.Array]:
    lowered, norm, flags = normalise_with_flags(prompt)
    cjk = (flags & HAS_CJK) > 0
    sk = skeletons(lowered, norm, flags)
    tokens = word_tokens(sk, cjk)
    head, tail = heads_and_tails(sk, tokens)
    both = flat_tokens(*tokens)
    votes = stopword_votes(both)
    codes = lang_codes(norm, both, votes)
    intents = intent_flags(norm, scope=_intent_scope(norm, codes, votes, cjk))
    if system_prompt is not None:
        for c, found in _system_intents(system_prompt).items():
            intents[c] |= found
    n_chars = pc.fill_null(pc.utf8_length(prompt), 0).cast(pa.int32())
    lang = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(LANGS))
    content_hash, skeleton_hash = content_and_skeleton_hashes(norm, sk)
    return [
        request_id,
        pa.array(skeleton_hash, pa.int64()),
        head,
        tail,
        pa.array(content_hash, pa.int64()),
        n_chars,
        pa.array(word_counts(norm, cjk), pa.int32()),
        *[pa.array(intents[c], pa.bool_()) for c in CATEGORIES],
        lang.cast(pa.string()),
        guess_domain(both, cjk=cjk),
    ]


def _string_column(batch: pa.RecordBatch, name: str) -> pa.Array:
    col = batch.column(name)
    if pa.types.is_large_string(col.type) or pa.types.is_null(col.type):
        col = col.cast(pa.string())
    if not pa.types.is_string(col.type):
        raise DetectionError(f"text_features: column {name!r} must be a string, not {col.type}")
    return col


def text_features(batch: pa.RecordBatch) -> pa.RecordBatch:
    """One row of :data:`TEXT_FEATURE_SCHEMA` per input row, in order.

    ``batch`` needs ``request_id`` and ``prompt`` (strings); ``system_prompt`` (nullable)
    is used when present. Large batches are processed :data:`CHUNK_ROWS` rows at a time.
    """
    missing = [c for c in ("request_id", "prompt") if c not in batch.schema.names]
    if missing:
        raise DetectionError(
            f"text_features needs columns request_id and prompt; missing {', '.join(missing)}"
        )
    request_id = _string_column(batch, "request_id")
    prompt = _string_column(batch, "prompt")
    system = (
        _string_column(batch, "system_prompt") if "system_prompt" in batch.schema.names else None
    )
    parts: list[list[pa.Array]] = []
    for start in range(0, max(batch.num_rows, 1), CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, batch.num_rows)
        parts.append(
            _chunk_features(
                request_id.slice(start, stop - start),
                prompt.slice(start, stop - start),
                system.slice(start, stop - start) if system is not None else None,
            )
        )
    columns = [
        pa.concat_arrays([p[i] for p in parts]).cast(f.type)
        for i, f in enumerate(TEXT_FEATURE_SCHEMA)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=TEXT_FEATURE_SCHEMA)


def with_text_features(batch: pa.RecordBatch) -> pa.RecordBatch:
    """*batch* with the :data:`TEXT_FEATURE_SCHEMA` columns (but ``request_id``) appended:
    the per-batch step of a streaming scan (``ingest.spool``; module level, so worker
    processes can run it)."""
    features = text_features(batch)
    columns, fields = list(batch.columns), list(batch.schema)
    for f, column in zip(features.schema, features.columns, strict=True):
        if f.name != "request_id":
            columns.append(column)
            fields.append(f)
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))

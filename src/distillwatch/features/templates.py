# Multilingual text is the data here: typographic and full-width punctuation is intended.
# ruff: noqa: RUF001
"""Prompt templates: skeletons, their heads and tails, and near-duplicate template clusters.

A *skeleton* is a prompt with its variable parts replaced by placeholders, so prompts
made from one template share it: fenced or indented code blocks -> ``<c>``, template
variables (``{x}``, ``{{x}}``, ``${x}``, ``$x``, ``<x>``) -> ``<v>``, URLs and e-mail
addresses -> ``<u>``, quoted spans ("..", '..', “..”, «..», 「..」, `..`) -> ``<q>``,
numbers -> ``<n>``; on top of the normalisation of ``features.text`` (NFKC, lower case,
whitespace collapsed). Rules apply in that order, each only to the rows whose bytes can
match it, all as Arrow (RE2) kernels over a whole column.

``head``/``tail`` are the first/last 12 word tokens of the skeleton (whitespace-separated,
punctuation trimmed off their ends, each Chinese/Japanese character a token): a wrapper
template keeps a fixed head or tail even when the task inside changes.
:func:`template_clusters` groups near-identical heads (or tails) with MinHash LSH.

>>> import pyarrow as pa
>>> low = pa.array(['translate "good morning" into french, 3 times: https://x.io/a'])
>>> sk = skeletons(low, low)
>>> sk.to_pylist()
['translate <q> into french, <n> times: <u>']
>>> heads_and_tails(sk)[0].to_pylist()
['translate <q> into french <n> times <u>']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import rensa

from distillwatch.errors import UsageError

#: word tokens kept in ``head`` and ``tail``
N_TOKENS = 12
#: code units of skeleton searched for them (CJK text: fewer, one token per character)
SPAN, SPAN_CJK = 120, 36
#: byte n-gram length of the MinHash shingles of :func:`template_clusters`
SHINGLE = 5

# ---------------------------------------------------------------------------- arrow helpers

_WS = r"[\t\n\v\f\r ]{2,}|[\t\n\v\f\r]"


def collapse_whitespace(texts: pa.Array, flags: np.ndarray | None = None) -> pa.Array:
    """Every run of whitespace -> one space, ends trimmed. ``flags`` (:func:`byte_flags`
    of ``texts``) let rows without newlines, tabs or double spaces skip the regex.

    >>> collapse_whitespace(pa.array([" a \\n\\n b\\tc     d "])).to_pylist()
    ['a b c d']
    """
    texts = pc.fill_null(texts, "")
    if flags is None:
        todo = np.ones(len(texts), dtype=bool)
    else:
        todo = (flags & (_NEWLINE | _OTHER_WS_BIT)) > 0
        if not todo.all():
            offsets, data = string_buffers(texts)
            doubles = np.flatnonzero((data[1:] == 32) & (data[:-1] == 32))
            todo |= np.diff(np.searchsorted(doubles, offsets)) > 0
    return pc.utf8_trim_whitespace(apply_where(texts, todo, _replace(_WS, " ")))


def apply_where(texts: pa.Array, mask: np.ndarray, fn: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """``fn`` applied to the rows where ``mask`` is true; the other rows unchanged."""
    if not mask.any():
        return texts
    if mask.all():
        return fn(texts)
    idx = np.flatnonzero(mask)
    done = fn(texts.take(pa.array(idx)))
    return pc.replace_with_mask(texts, pa.array(mask), done)


def string_buffers(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets as int64 starting at 0, the UTF-8 bytes) of a string array, zero copy."""
    if texts.type == pa.large_string():
        otype: type[np.signedinteger] = np.int64
    elif texts.type == pa.string():
        otype = np.int32
    else:
        raise UsageError(f"expected a string array, got {texts.type}")
    bufs = texts.buffers()
    offsets = np.frombuffer(bufs[1], dtype=otype)[texts.offset : texts.offset + len(texts) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    start = int(offsets[0]) if len(offsets) else 0
    return offsets.astype(np.int64) - start, data[start : start + int(offsets[-1]) - start]


# ------------------------------------------------------------------------------ skeletons

# byte classes that make a rule worth running on a row
_DIGIT, _QUOTE, _VAR, _URL, _FENCE, _CJK, _NEWLINE, _OTHER_WS_BIT = 1, 2, 4, 8, 16, 32, 64, 128
_APOS, _QUOTE_LEAD = 256, 512
#: :func:`byte_flags` bit of rows with kana, CJK punctuation or Han characters
HAS_CJK = _CJK
_LUT = np.zeros(256, dtype=np.uint16)
_LUT[ord("0") : ord("9") + 1] |= _DIGIT
for _ch in '"`':
    _LUT[ord(_ch)] |= _QUOTE
_LUT[ord("'")] |= _APOS
_LUT[[0xC2, 0xE2, 0xE3]] |= _QUOTE_LEAD  # lead bytes of the typographic quotes
for _ch in "{$<":
    _LUT[ord(_ch)] |= _VAR
for _ch in "/@":
    _LUT[ord(_ch)] |= _URL
for _ch in "`~":
    _LUT[ord(_ch)] |= _FENCE
_LUT[0xE3:0xEA] |= _CJK  # lead bytes of U+3000..U+9FFF: kana, CJK punctuation, Han
_LUT[ord("\n")] |= _NEWLINE
for _ch in "\t\v\f\r":
    _LUT[ord(_ch)] |= _OTHER_WS_BIT
_WORDISH = 1  # in _WORD_LUT: ASCII letters, digits and _
_WORD_LUT = np.zeros(256, dtype=np.uint8)
for _lo, _hi in (("a", "z"), ("A", "Z"), ("0", "9"), ("_", "_")):
    _WORD_LUT[ord(_lo) : ord(_hi) + 1] = _WORDISH
# the same classes for a pair of bytes (read as one little-endian uint16): half the lookups
_LUT2 = _LUT[np.arange(65536) & 0xFF] | _LUT[np.arange(65536) >> 8]

_FENCED = r"(?s)(?:```.*?(?:```|$)|~~~.*?(?:~~~|$))"
_INDENTED = r"(?m)(?:^(?: {4}|\t)[^\n]*(?:\n|$)){2,}"
_VARIABLE = (
    r"\{\{[^{}]{1,60}\}\}|\{[a-z_][a-z0-9_ .-]{0,40}\}|\$\{[^{}]{1,60}\}"
    r"|\$[a-z_][a-z0-9_]*|<[a-z_][a-z0-9_-]{0,30}>"
)
_LINK = r"(?:https?://|ftp://|www\.)[^\s<>\"]+|[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+"
_QUOTED = r'"[^"]*"|“[^”]*”|„[^“”]*[“”]|«[^»]*»|‹[^›]*›|「[^」]*」|『[^』]*』|`[^`]*`|‘[^’]*’'
_NONWORD = r"[^a-z0-9_\x{80}-\x{10FFFF}]"
_QUOTES = f"(^|{_NONWORD})'[^']*'({_NONWORD}|$)|{_QUOTED}"
_NUMBER = r"[0-9]+(?:[.,:/-][0-9]+)*"


def _indented_rows(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Rows with a line that starts with a tab or four spaces."""
    n = len(offsets) - 1
    out = np.zeros(n, dtype=bool)
    nl = np.flatnonzero(data == 10)
    if nl.size == 0:
        return out
    last = len(data) - 1
    nxt = [data[np.minimum(nl + k, last)] for k in range(1, 5)]
    hit = (nxt[0] == 9) | ((nxt[0] == 32) & (nxt[1] == 32) & (nxt[2] == 32) & (nxt[3] == 32))
    rows = np.searchsorted(offsets, nl[hit], side="right") - 1
    out[rows] = True
    return out


def _rows_with(positions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Rows containing at least one of the (sorted) byte ``positions``."""
    return np.diff(np.searchsorted(positions, offsets)) > 0


def _quote_rows(offsets: np.ndarray, data: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Rows that may hold a quoted span: with " or `, with a typographic quote's lead byte,
    or with ' after a non-word character (inside a word, as in "don't", it opens nothing)."""
    rows = (flags & (_QUOTE | _QUOTE_LEAD)) > 0
    todo = ((flags & _APOS) > 0) & ~rows
    if todo.any():
        apos = np.flatnonzero(data == 39)
        prev = data[np.maximum(apos - 1, 0)]
        opening = ((prev < 128) & (_WORD_LUT[prev] == 0)) | np.isin(apos, offsets[:-1])
        rows |= todo & _rows_with(apos[opening], offsets)
    return rows


def _strip_code(lowered: pa.Array) -> pa.Array:
    txt = pc.replace_substring_regex(lowered, _FENCED, " <c> ")
    txt = pc.replace_substring_regex(txt, _INDENTED, " <c>\n")
    return collapse_whitespace(txt)


def _replace(pattern: str, repl: str) -> Callable[[pa.Array], pa.Array]:
    return lambda t: pc.replace_substring_regex(t, pattern, repl)


def byte_flags(texts: pa.Array) -> np.ndarray:
    """Per row, the OR of the byte classes of its UTF-8 bytes (``HAS_*`` bits).

    Bytes are looked up in pairs, so a row may also see the class of its neighbour's
    first or last byte: the flags can only over-report, which costs a wasted regex pass
    on that row, never a missed one. ``HAS_CJK``, which changes a row's tokens, is exact.

    >>> text = pa.array(["ab", "\u4e2d", "cd"])  # a Han character between two ASCII rows
    >>> ((byte_flags(text) & HAS_CJK) > 0).tolist()
    [False, True, False]
    """
    offsets, data = string_buffers(texts)
    pairs = data[: len(data) // 2 * 2].view(np.uint16)
    flags = np.zeros(len(offsets) - 1, dtype=np.uint16)
    if len(data) == 0:
        return flags
    per_pair = _LUT2[pairs] if pairs.size else np.zeros(0, np.uint16)
    if len(data) % 2:
        per_pair = np.append(per_pair, _LUT[data[-1]])
    starts = offsets[:-1] // 2
    stops = (offsets[1:] + 1) // 2
    nonempty = stops > starts
    # reduceat runs up to the next row's first pair; the row's last pair may be that one
    flags[nonempty] = np.bitwise_or.reduceat(per_pair, starts[nonempty])
    flags[nonempty] |= per_pair[stops[nonempty] - 1]
    # HAS_CJK is a feature, not only a hint to run a rule: it must be exact, or a row's
    # tokens would depend on its neighbours in the batch. Re-check the few rows flagged.
    for row in np.flatnonzero(flags & HAS_CJK):
        own = data[offsets[row] : offsets[row + 1]]
        if not (_LUT[own] & HAS_CJK).any():
            flags[row] &= ~np.uint16(HAS_CJK)
    return flags


def skeletons(lowered: pa.Array, norm: pa.Array, flags: np.ndarray | None = None) -> pa.Array:
    """Skeletons from the lowered prompt (``lowered``, newlines kept, for code blocks) and
    its whitespace-collapsed form ``norm`` (see the module docstring). ``flags`` are
    :func:`byte_flags` of ``lowered`` (computed if not given)."""
    offsets, data = string_buffers(lowered)
    if flags is None:
        flags = byte_flags(lowered)
    code = ((flags & _FENCE) > 0) | _indented_rows(offsets, data)
    sk = norm
    if code.any():
        idx = np.flatnonzero(code)
        sk = pc.replace_with_mask(sk, pa.array(code), _strip_code(lowered.take(pa.array(idx))))
    sk = apply_where(sk, (flags & _VAR) > 0, _replace(_VARIABLE, "<v>"))
    sk = apply_where(sk, (flags & _URL) > 0, _replace(_LINK, "<u>"))
    sk = apply_where(sk, _quote_rows(offsets, data, flags), _replace(_QUOTES, r"\1<q>\2"))
    return apply_where(sk, (flags & _DIGIT) > 0, _replace(_NUMBER, "<n>"))


def has_cjk(texts: pa.Array) -> np.ndarray:
    """Rows containing kana, CJK punctuation or Han characters (by UTF-8 lead byte)."""
    return (byte_flags(texts) & HAS_CJK) > 0


# --------------------------------------------------------------------------- head and tail

#: characters trimmed from both ends of a token (placeholders keep their < >)
TRIM = ".,;:!?¿¡\"'()[]{}*-–—…/\\|`~^_+=&%#@“”‘’«»‹›„，。！？：；、「」『』（）【】《》·"
_CJK_CHAR = r"([\p{Han}\p{Hiragana}\p{Katakana}])"
#: whitespace tokens taken from each end before trimming (some are only punctuation)
_RAW_TOKENS = N_TOKENS + 4


def _clean(
    lists: pa.ListArray, k: int, *, last: bool, skip_first: np.ndarray | None = None
) -> pa.ListArray:
    """Trim punctuation off every token, drop the empty ones, keep the first/last ``k``.

    ``skip_first`` marks rows whose first token is to be dropped (a cut-off remainder).
    """
    offsets = np.asarray(lists.offsets.to_numpy(), dtype=np.int64)
    offsets -= offsets[0]
    clean = pc.utf8_trim(lists.flatten(), TRIM)
    keep = np.asarray(pc.greater(pc.binary_length(clean), 0).to_numpy(zero_copy_only=False))
    if skip_first is not None and skip_first.any():
        keep[offsets[:-1][skip_first]] = False
    cum = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    per_row = np.diff(cum[offsets])
    row = np.repeat(np.arange(len(per_row)), np.diff(offsets))
    rank = cum[1:] - cum[offsets[:-1]][row]  # 1-based rank among the row's kept tokens
    keep &= rank > per_row[row] - k if last else rank <= k
    counts = np.minimum(per_row, k)
    new_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(new_offsets), clean.filter(pa.array(keep)))


def _cjk_spaced(spans: pa.Array, cjk: np.ndarray, head: bool) -> pa.Array:
    def spaced(t: pa.Array) -> pa.Array:
        t = (
            pc.utf8_slice_codeunits(t, 0, SPAN_CJK)
            if head
            else pc.utf8_slice_codeunits(t, -SPAN_CJK)
        )
        return pc.replace_substring_regex(t, _CJK_CHAR, r" \1 ")

    return apply_where(spans, cjk, spaced)


def _spans(texts: pa.Array, head: bool, ascii_rows: np.ndarray) -> pa.Array:
    """The first (or last) :data:`SPAN` code points; sliced as bytes for ASCII rows (the
    code-point slice is ~5x slower), rebuilt without re-validating the UTF-8."""
    start, stop = (0, SPAN) if head else (-SPAN, None)
    fast = pc.binary_slice(texts.cast(pa.binary()), start, stop)
    if not ascii_rows.all():
        slow = pc.utf8_slice_codeunits(texts.filter(pa.array(~ascii_rows)), start, stop)
        fast = pc.replace_with_mask(fast, pa.array(~ascii_rows), slow.cast(pa.binary()))
    return pa.Array.from_buffers(pa.string(), len(fast), fast.buffers(), offset=fast.offset)


def word_tokens(
    skeleton: pa.Array, cjk: np.ndarray | None = None
) -> tuple[pa.ListArray, pa.ListArray]:
    """First and last :data:`N_TOKENS` word tokens of each skeleton, as list arrays.

    Tokens are whitespace-separated with punctuation trimmed off their ends; each Chinese
    or Japanese character is a token. ``cjk`` (rows with such characters) is computed if
    not given.

    >>> h, t = word_tokens(pa.array(["a, b: c", ""]))
    >>> h.to_pylist(), t.to_pylist()
    ([['a', 'b', 'c'], []], [['a', 'b', 'c'], []])
    """
    if cjk is None:
        cjk = has_cjk(skeleton)
    ascii_rows = np.asarray(pc.string_is_ascii(skeleton).to_numpy(zero_copy_only=False), bool)
    heads = _cjk_spaced(_spans(skeleton, True, ascii_rows), cjk, head=True)
    tails = _cjk_spaced(_spans(skeleton, False, ascii_rows), cjk, head=False)
    head_split = pc.ascii_split_whitespace(heads, max_splits=_RAW_TOKENS)
    tail_split = pc.ascii_split_whitespace(tails, max_splits=_RAW_TOKENS, reverse=True)
    # with max_splits, a row's last (first, in reverse) piece is the unsplit remainder;
    # the head keeps at most N_TOKENS tokens anyway, the tail drops that piece
    tail_rest = np.asarray(pc.list_value_length(tail_split).to_numpy(), dtype=np.int64)
    return (
        _clean(head_split, N_TOKENS, last=False),
        _clean(tail_split, N_TOKENS, last=True, skip_first=tail_rest > _RAW_TOKENS),
    )


@dataclass(frozen=True)
class FlatTokens:
    """Word tokens of many rows, flattened for lookups: the row of each token and its index
    into ``words`` (the distinct tokens), so a lookup runs once per distinct word.

    >>> ft = flat_tokens(pa.array([["a", "b"], []]), pa.array([["b"], ["c"]]))
    >>> ft.rows.tolist(), ft.words.to_pylist(), ft.index.tolist()
    ([0, 0, 0, 1], ['a', 'b', 'c'], [0, 1, 1, 2])
    """

    n_rows: int
    rows: np.ndarray
    words: pa.Array
    index: np.ndarray
    #: the token lists it was made from (for per-row joins)
    lists: tuple[pa.ListArray, ...]


def flat_tokens(*lists: pa.ListArray) -> FlatTokens:
    """:class:`FlatTokens` of the row-wise union of ``lists`` (all of the same length)."""
    n = len(lists[0]) if lists else 0
    rows, values = [], []
    for lst in lists:
        offsets = np.asarray(lst.offsets.to_numpy(), dtype=np.int64)
        rows.append(np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets)))
        values.append(lst.flatten())
    flat = pa.concat_arrays(values) if values else pa.array([], pa.string())
    enc = pc.dictionary_encode(flat)
    return FlatTokens(
        n_rows=n,
        rows=np.concatenate(rows) if rows else np.zeros(0, np.int64),
        words=enc.dictionary,
        index=np.asarray(enc.indices.to_numpy(), dtype=np.int64),
        lists=tuple(lists),
    )


def heads_and_tails(
    skeleton: pa.Array, tokens: tuple[pa.ListArray, pa.ListArray] | None = None
) -> tuple[pa.Array, pa.Array]:
    """``head`` and ``tail`` strings: :func:`word_tokens` joined by single spaces."""
    head, tail = tokens if tokens is not None else word_tokens(skeleton)
    return pc.binary_join(head, " "), pc.binary_join(tail, " ")


# ----------------------------------------------------------------------- template clusters


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads structured 64-bit values over all bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    out: np.ndarray = x ^ (x >> np.uint64(31))
    return out


def shingle_hashes(texts: pa.Array, n: int = SHINGLE) -> tuple[np.ndarray, np.ndarray]:
    """Hashed byte ``n``-grams (``n`` <= 7) of each text, flat, with row offsets (CSR).

    A text shorter than ``n`` bytes is one shingle; an empty text has none. Each shingle
    is read as one little-endian 8-byte word at its position (an unaligned strided view),
    masked to its length and tagged with the length. No further mixing: rensa's hash
    permutations spread these values (measured: same estimation error as mixed values).

    >>> h, off = shingle_hashes(pa.array(["abcdef", "ab", ""]))
    >>> off.tolist(), len(set(h.tolist()))
    ([0, 2, 3, 3], 3)
    """
    offsets, data = string_buffers(texts)
    lengths = np.diff(offsets)
    counts = np.where(lengths >= n, lengths - n + 1, (lengths > 0).astype(np.int64))
    row_off = np.concatenate([[0], np.cumsum(counts)])
    starts = np.repeat(offsets[:-1] - row_off[:-1], counts)
    starts += np.arange(int(row_off[-1]), dtype=np.int64)
    padded = np.concatenate([data, np.zeros(8, np.uint8)])
    words = np.ndarray((len(data) + 1,), dtype="<u8", buffer=padded.data, strides=(1,))
    width = np.repeat(np.minimum(lengths, n), counts).astype(np.uint64)
    mask = (np.uint64(1) << (width * np.uint64(8))) - np.uint64(1)
    packed = (words[starts] & mask) | (width << np.uint64(56))
    return packed, row_off.astype(np.uint64)


def band_layout(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band): the most rows per band (fewest spurious candidates) that
    still makes a pair at exactly ``threshold`` a candidate with probability >= 0.85.

    >>> band_layout(0.6, 64)
    (16, 4)
    """
    best = 1
    for r in range(1, num_perm + 1):
        if num_perm % r == 0 and 1 - (1 - threshold**r) ** (num_perm // r) >= 0.85:
            best = r
    return num_perm // best, best


def _band_keys(sig: np.ndarray, band: int, rows: int) -> np.ndarray:
    cols = sig[:, band * rows : (band + 1) * rows].astype(np.uint64)
    key = np.full(len(sig), np.uint64(band + 1), dtype=np.uint64)
    for j in range(rows):
        key = _mix64(key ^ cols[:, j])
    return key


def _bucket_edges(sig: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """For each band, rows sharing the band's values form a bucket. Returns (star, chain)
    pairs over all bands: each member with the bucket's first member, and with its
    predecessor in the bucket; a bucket of k rows gives 2(k-1) pairs, not k^2."""
    m = len(sig)
    pos = np.arange(m)
    star, chain = [], []
    for band in range(bands):
        keys = _band_keys(sig, band, rows)
        order = np.argsort(keys, kind="stable")
        sk = keys[order]
        same = np.concatenate([[False], sk[1:] == sk[:-1]])
        if not same.any():
            continue
        first = order[np.maximum.accumulate(np.where(same, 0, pos))][same]
        member = order[same]
        prev = order[np.flatnonzero(same) - 1]
        star.append(np.stack([first, member], axis=1))
        chain.append(np.stack([prev, member], axis=1))
    if not star:
        empty = np.zeros((0, 2), dtype=np.int64)
        return empty, empty
    return np.concatenate(star), np.concatenate(chain)


def _verified(sig: np.ndarray, pairs: np.ndarray, threshold: float) -> np.ndarray:
    """Pairs whose MinHash estimate of Jaccard similarity is >= ``threshold``."""
    ok = np.zeros(len(pairs), dtype=bool)
    need = int(np.ceil(threshold * sig.shape[1] - 1e-9))
    step = max(1, 4_000_000 // sig.shape[1])
    for i in range(0, len(pairs), step):
        a, b = pairs[i : i + step, 0], pairs[i : i + step, 1]
        ok[i : i + step] = (sig[a] == sig[b]).sum(axis=1) >= need
    return pairs[ok]


def _components(m: int, edges: np.ndarray) -> np.ndarray:
    """Connected-component label per node = smallest node index in its component
    (min-label propagation along the edges, with pointer jumping)."""
    label = np.arange(m)
    if len(edges) == 0:
        return label
    src = np.concatenate([edges[:, 0], edges[:, 1]])
    dst = np.concatenate([edges[:, 1], edges[:, 0]])
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    nodes, starts = np.unique(src, return_index=True)
    while True:
        new = label.copy()
        new[nodes] = np.minimum(new[nodes], np.minimum.reduceat(label[dst], starts))
        while True:  # pointer jumping: follow labels to their root
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, label):
            return label
        label = new


def _as_strings(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks else pa.array([], pa.string())
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        raise UsageError(f"template_clusters needs a string array, got {texts.type}")
    return pc.fill_null(texts, "")


def template_clusters(
    texts: pa.Array | pa.ChunkedArray, *, threshold: float = 0.6, num_perm: int = 64, seed: int = 0
) -> np.ndarray:
    """Near-duplicate cluster id of each (distinct) text: the smallest index in its cluster.

    Texts are sets of byte 5-grams (about 60 per 12-word head: a graded similarity that
    survives inflections, typos and punctuation, needs no word segmentation for CJK, and
    is computed for all rows at once in numpy; word 2-grams give a 12-word head only ~11
    shingles). ``rensa`` computes the MinHash signatures and, with its LSH index, flags
    the rows that share a band with any other row; only those go on. Their band buckets
    give candidate pairs (each member with the bucket's first and previous member), kept
    when the MinHash estimate of their Jaccard similarity is >= ``threshold``; clusters
    are the connected components. As with any LSH, a pair right at the threshold is
    found with probability ~0.9 (see :func:`band_layout`); clusters rarely depend on one
    pair. Empty texts are singletons. ``seed`` keys the hash permutations.

    >>> heads = ["translate the following text into french <q> please",
    ...          "translate the following text into german <q> please",
    ...          "what is the capital of peru"]
    >>> template_clusters(pa.array(heads)).tolist()
    [0, 0, 2]
    """
    arr = _as_strings(texts)
    n = len(arr)
    if not 0.0 < threshold <= 1.0:
        raise UsageError(f"threshold must be in (0, 1], got {threshold}")
    if num_perm < 2:
        raise UsageError(f"num_perm must be at least 2, got {num_perm}")
    out = np.arange(n, dtype=np.int64)
    nonempty = np.flatnonzero(np.asarray(pc.utf8_length(arr).to_numpy(), dtype=np.int64) > 0)
    if nonempty.size < 2:
        return out
    sub = arr.take(pa.array(nonempty)) if nonempty.size < n else arr
    bands, rows = band_layout(threshold, num_perm)
    tokens, row_off = shingle_hashes(sub)
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(tokens, row_off, num_perm, seed)
    lsh = rensa.RMinHashLSH(threshold, num_perm, bands)
    flagged = np.asarray(lsh.insert_matrix_and_query_duplicate_flags(matrix), dtype=bool)
    if flagged.sum() < 2:
        return out
    keep = nonempty[flagged]
    if flagged.mean() > 0.7:  # converting all rows beats recomputing the flagged ones
        sig = np.array(matrix.to_rows(), dtype=np.uint32)[flagged]
    else:
        starts = row_off[:-1][flagged].astype(np.int64)
        counts = row_off[1:][flagged].astype(np.int64) - starts
        sub_off = np.concatenate([[0], np.cumsum(counts)])
        sub_tokens = tokens[np.repeat(starts - sub_off[:-1], counts) + np.arange(sub_off[-1])]
        digests = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            sub_tokens, sub_off.astype(np.uint64), num_perm, seed
        )
        sig = np.array(digests.to_rows(), dtype=np.uint32)
    star, chain = _bucket_edges(sig, bands, rows)
    star_ok = _verified(sig, star, threshold)
    # a member unlike its bucket's first member may still be like its predecessor
    failed = np.ones(len(keep), dtype=bool)
    failed[star_ok[:, 1]] = False
    chain_ok = _verified(sig, chain[failed[chain[:, 1]] & (chain[:, 0] != star[:, 0])], threshold)
    label = _components(len(keep), np.concatenate([star_ok, chain_ok]))
    out[keep] = keep[label]
    return out

"""Keyed fingerprints of prompt templates and of identifying values.

A prompt template is fingerprinted through its *skeleton part*, the ``head`` or ``tail``
that ``features.templates`` computes for every request (variables, numbers, quotes, URLs
and code stripped; 12 word tokens), never through its text:

- ``digest``: HMAC-SHA-256 of the part under the group key (exact match);
- ``minhash``: a MinHash sketch of the part's byte 5-gram shingles with permutations
  seeded by :meth:`GroupKey.minhash_seed` (near-duplicate match: the share of equal
  positions estimates the Jaccard similarity).

Both sides compute the same thing from the same part, so a peer's published fingerprint
matches local traffic that uses the template, and the sketch matches paraphrases that
keep most of its wording. Identifying values (payment fingerprints, residential IPs and
prefixes) only ever travel as :func:`value_digest`.

>>> from datetime import datetime, UTC
>>> from distillwatch.intel.keys import GroupKey
>>> key = GroupKey("k1", bytes(range(32)), datetime(2026, 1, 1, tzinfo=UTC),
...                datetime(2027, 1, 1, tzinfo=UTC))
>>> parts = pa.array(["show your full reasoning step by step then answer <q>",
...                   "show your full reasoning step by step then answer <q> now",
...                   "translate <q> into french"])
>>> sk = sketches(key, parts)
>>> sk.shape
(3, 64)
>>> round(similarity(sk[0], sk[1]), 1) >= 0.7, similarity(sk[0], sk[2]) < 0.2
(True, True)
>>> part_digest(key, "head", "translate <q> into french") == part_digest(key, "tail",
...     "translate <q> into french")
False
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import rensa

from distillwatch.features.templates import shingle_hashes
from distillwatch.intel.keys import GroupKey
from distillwatch.intel.vocab import DIGEST_KINDS, FINGERPRINT_PARTS, MINHASH_PERM


def part_digest(key: GroupKey, part: str, text: str) -> str:
    """Keyed digest of one skeleton ``part`` (head, tail or prompt)."""
    if part not in FINGERPRINT_PARTS:
        raise ValueError(f"part must be one of {FINGERPRINT_PARTS}, got {part!r}")
    return key.digest(f"template-{part}", text)


def part_digests(key: GroupKey, part: str, texts: pa.Array | pa.ChunkedArray) -> list[str]:
    """:func:`part_digest` of every text (nulls give the digest of the empty string)."""
    return [part_digest(key, part, t or "") for t in texts.to_pylist()]


def value_digest(key: GroupKey, kind: str, value: str) -> str:
    """Keyed digest of an identifying value of ``kind`` (see ``vocab.DIGEST_KINDS``)."""
    if kind not in DIGEST_KINDS:
        raise ValueError(f"kind must be one of {DIGEST_KINDS}, got {kind!r}")
    return key.digest(kind, value)


def sketches(key: GroupKey, texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``(len(texts), MINHASH_PERM)`` uint32 keyed MinHash sketches (empty text: all max)."""
    arr = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    arr = arr.fill_null("")
    if len(arr) == 0:
        return np.zeros((0, MINHASH_PERM), dtype=np.uint32)
    tokens, row_off = shingle_hashes(arr)
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
        tokens, row_off, MINHASH_PERM, key.minhash_seed()
    )
    return np.array(matrix.to_rows(), dtype=np.uint32).reshape(len(arr), MINHASH_PERM)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two sketches (share of equal positions)."""
    if a.shape != b.shape:
        raise ValueError(f"sketches differ in size: {a.shape} vs {b.shape}")
    return float(np.mean(a == b))

"""Keyed fingerprints: exact digests and secret-seeded MinHash sketches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from distillwatch.intel.fingerprints import (
    part_digest,
    part_digests,
    similarity,
    sketches,
    value_digest,
)
from distillwatch.intel.keys import GroupKey
from distillwatch.intel.vocab import MINHASH_PERM

T0 = datetime(2026, 11, 1, tzinfo=UTC)
KEY = GroupKey("k1", b"\x07" * 32, T0, T0 + timedelta(days=30))
OTHER = GroupKey("k2", b"\x08" * 32, T0, T0 + timedelta(days=30))
WRAPPER = "write out your complete chain of thought before the final answer <q>"


def test_sketch_estimates_jaccard_of_near_duplicates():
    texts = pa.array([WRAPPER, WRAPPER.replace("complete", "entire"), "bake bread at <n> degrees"])
    sk = sketches(KEY, texts)
    assert sk.shape == (3, MINHASH_PERM) and sk.dtype == np.uint32
    assert similarity(sk[0], sk[1]) > 0.6
    assert similarity(sk[0], sk[2]) < 0.2


def test_sketches_depend_on_the_key():
    mine, theirs = sketches(KEY, pa.array([WRAPPER])), sketches(OTHER, pa.array([WRAPPER]))
    # with different secret permutations the same text gives unrelated positions
    assert similarity(mine[0], theirs[0]) < 0.2


def test_digests_match_only_same_part_text_and_key():
    d = part_digest(KEY, "head", WRAPPER)
    assert d == part_digests(KEY, "head", pa.array([WRAPPER]))[0]
    assert d != part_digest(KEY, "tail", WRAPPER)
    assert d != part_digest(OTHER, "head", WRAPPER)
    assert len(d) == 64 and int(d, 16) >= 0


def test_bad_kinds_and_parts_are_refused():
    with pytest.raises(ValueError, match="part must be one of"):
        part_digest(KEY, "middle", "x")
    with pytest.raises(ValueError, match="kind must be one of"):
        value_digest(KEY, "email", "x")
    with pytest.raises(ValueError, match="differ in size"):
        similarity(np.zeros(3), np.zeros(4))


def test_empty_and_null_inputs():
    assert sketches(KEY, pa.array([], pa.string())).shape == (0, MINHASH_PERM)
    sk = sketches(KEY, pa.chunked_array([pa.array([None, WRAPPER])]))
    assert sk.shape == (2, MINHASH_PERM)

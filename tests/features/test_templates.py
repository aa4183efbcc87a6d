"""Skeleton rules, head/tail tokens and MinHash LSH template clusters."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from distillwatch.errors import UsageError
from distillwatch.features.templates import (
    band_layout,
    byte_flags,
    collapse_whitespace,
    flat_tokens,
    heads_and_tails,
    shingle_hashes,
    skeletons,
    template_clusters,
    word_tokens,
)


def skel(texts: list[str]) -> list[str]:
    low = pa.array(texts, pa.string())
    return skeletons(low, collapse_whitespace(low)).to_pylist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pay 1,234.50 by 2024-01-02", "pay <n> by <n>"),
        ('say "hi there" now', "say <q> now"),
        ("say 'hi there' now", "say <q> now"),
        ("call «ça va» or 「こんにちは」 or `ls -l`", "call <q> or <q> or <q>"),
        ("see https://x.io/a?b=1 or www.y.org", "see <u> or <u>"),
        ("mail bob.smith+1@mail.example.com today", "mail <u> today"),
        ("hi {name}, {{ city }} ${var} $user <lang>", "hi <v>, <v> <v> <v> <v>"),
        ("run ```\npip install x\n``` then", "run <c> then"),
        ("fix:\n\n    a = 1\n    b = 2\n\ndone", "fix: <c> done"),
        ("it's john's book", "it's john's book"),
    ],
)
def test_skeleton_rules(text: str, expected: str) -> None:
    assert skel([text]) == [expected]


def test_byte_flags_never_miss_a_class() -> None:
    rng = random.Random(0)
    alphabet = 'ab1"{/`\n 中é'
    for _ in range(200):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 7))) for _ in range(5)]
        flags = byte_flags(pa.array(texts))
        single = [int(byte_flags(pa.array([t]))[0]) for t in texts]
        assert all(int(f) & s == s for f, s in zip(flags, single, strict=True))


def test_collapse_whitespace() -> None:
    texts = pa.array([" a\n\n b\t c  ", "x", "", "  "])
    assert collapse_whitespace(texts).to_pylist() == ["a b c", "x", "", ""]
    flags = byte_flags(texts)
    assert collapse_whitespace(texts, flags).to_pylist() == ["a b c", "x", "", ""]


def test_word_tokens_trim_punctuation_and_drop_empties() -> None:
    head, tail = word_tokens(pa.array(["(hello), world! -- how are <n> you?", ""]))
    assert head.to_pylist()[0] == ["hello", "world", "how", "are", "<n>", "you"]
    assert tail.to_pylist() == head.to_pylist()
    h, t = heads_and_tails(pa.array(["one two three"]))
    assert h.to_pylist() == t.to_pylist() == ["one two three"]


def test_tail_of_long_text() -> None:
    text = " ".join(f"t{i}" for i in range(100))
    _, tail = heads_and_tails(pa.array([text]))
    assert tail.to_pylist() == [" ".join(f"t{i}" for i in range(88, 100))]


def test_flat_tokens() -> None:
    ft = flat_tokens(pa.array([["x", "y"], ["y"]]), pa.array([[], ["z", "x"]]))
    assert ft.n_rows == 2
    assert ft.rows.tolist() == [0, 0, 1, 1, 1]
    assert [ft.words[i].as_py() for i in ft.index] == ["x", "y", "y", "z", "x"]


# ---------------------------------------------------------------------- template clusters

WRAPPERS = [
    "you are a helpful tutor answer the question below and explain your reasoning",
    "please translate the following text into french and keep the formatting",
    "act as a senior engineer and review the code below for bugs",
]
TOPICS = ["photosynthesis", "rome", "trees", "taxes", "black holes", "bread", "networks", "tides"]
UNRELATED = [
    "what is the capital of peru",
    "how do i fix a flat bicycle tire",
    "write a haiku about autumn leaves",
    "why is the sky blue during the day",
    "recommend a good science fiction novel",
]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_wrapper_heads_cluster_and_unrelated_stay_apart(seed: int) -> None:
    texts = []
    labels = []
    for w, wrapper in enumerate(WRAPPERS):
        for topic in TOPICS:
            texts.append(f"{wrapper} {topic}")
            labels.append(w)
    texts += UNRELATED
    labels += [100 + i for i in range(len(UNRELATED))]
    order = np.random.default_rng(1).permutation(len(texts))
    texts = [texts[i] for i in order]
    labels = [labels[i] for i in order]
    ids = template_clusters(pa.array(texts), seed=seed)
    assert ids.dtype == np.int64 and len(ids) == len(texts)
    for i in range(len(texts)):
        for j in range(len(texts)):
            assert (ids[i] == ids[j]) == (labels[i] == labels[j]), (texts[i], texts[j])
    # cluster id = smallest index in the cluster
    for c in set(ids.tolist()):
        assert c == min(i for i in range(len(ids)) if ids[i] == c)


def test_few_similar_among_many_unrelated() -> None:
    # most rows share no LSH band with any other: only the flagged few are compared
    pair = [f"{WRAPPERS[1]} rome", f"{WRAPPERS[1]} tides"]
    ids = template_clusters(pa.array([*UNRELATED, *pair]))
    n = len(UNRELATED)
    assert ids.tolist() == [*range(n), n, n]


def test_threshold_controls_merging() -> None:
    a = "summarize the following news article in three bullet points please"
    b = "summarize the following news article in five short sentences please"
    assert template_clusters(pa.array([a, b]), threshold=0.3).tolist() == [0, 0]
    assert template_clusters(pa.array([a, b]), threshold=0.95).tolist() == [0, 1]


def test_clusters_deterministic_and_seeded() -> None:
    texts = pa.array([f"{w} {t}" for w in WRAPPERS for t in TOPICS] + UNRELATED)
    first = template_clusters(texts, seed=3)
    assert np.array_equal(first, template_clusters(texts, seed=3))
    assert len(set(template_clusters(texts, seed=11).tolist())) == len(set(first.tolist()))


def test_edge_inputs() -> None:
    assert template_clusters(pa.array([], pa.string())).tolist() == []
    assert template_clusters(pa.array(["only one"])).tolist() == [0]
    assert template_clusters(pa.array(["", None, "abc", "abc"])).tolist() == [0, 1, 2, 2]
    chunked = pa.chunked_array([["hello world again"], ["hello world again"]])
    assert template_clusters(chunked).tolist() == [0, 0]


def test_bad_arguments() -> None:
    with pytest.raises(UsageError, match="threshold"):
        template_clusters(pa.array(["a", "b"]), threshold=0.0)
    with pytest.raises(UsageError, match="num_perm"):
        template_clusters(pa.array(["a", "b"]), num_perm=1)
    with pytest.raises(UsageError, match="string"):
        template_clusters(pa.array([1, 2]))


def test_shingles_and_bands() -> None:
    hashes, offsets = shingle_hashes(pa.array(["abcdef", "abcdeg", "ab", ""]))
    assert offsets.tolist() == [0, 2, 4, 5, 5]
    assert hashes[0] == hashes[2] and hashes[1] != hashes[3]
    bands, rows = band_layout(0.6, 64)
    assert bands * rows == 64
    assert 1 - (1 - 0.6**rows) ** bands >= 0.85

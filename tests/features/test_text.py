# Multilingual text is the data here: typographic and full-width punctuation is intended.
# ruff: noqa: RUF001
"""text_features: schema, skeleton invariance and sensitivity, hashes, lengths, language and
domain guesses."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from distillwatch.errors import DetectionError
from distillwatch.features import text as text_mod
from distillwatch.features.text import (
    TEXT_FEATURE_SCHEMA,
    guess_lang,
    normalise,
    stable_hash64,
    text_features,
    word_counts,
)


def features(prompts: list[str | None], system: list[str | None] | None = None) -> pa.RecordBatch:
    data: dict[str, list[str | None]] = {
        "request_id": [f"r{i}" for i in range(len(prompts))],
        "prompt": prompts,
    }
    if system is not None:
        data["system_prompt"] = system
    schema = pa.schema([(k, pa.string()) for k in data])
    return text_features(pa.RecordBatch.from_pydict(data, schema=schema))


def blake64(text: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(text.encode(), digest_size=8).digest(), "little", signed=True
    )


# ------------------------------------------------------------------------------- schema


def test_schema_and_row_order() -> None:
    prompts = [f"Question {i}: what is {i} plus {i}?" for i in range(5)]
    out = features(prompts)
    assert out.schema == TEXT_FEATURE_SCHEMA
    assert out["request_id"].to_pylist() == [f"r{i}" for i in range(5)]
    assert out.num_rows == 5


def test_missing_column_is_a_detection_error() -> None:
    batch = pa.RecordBatch.from_pydict({"request_id": ["a"]})
    with pytest.raises(DetectionError, match="prompt"):
        text_features(batch)


def test_empty_batch_and_nulls() -> None:
    assert features([]).num_rows == 0
    out = features([None, ""], system=[None, None])
    assert out["n_chars"].to_pylist() == [0, 0]
    assert out["n_words"].to_pylist() == [0, 0]
    assert out["head"].to_pylist() == ["", ""]
    assert out["content_hash"][0] == out["content_hash"][1]
    assert out["domain"].to_pylist() == ["other", "other"]


def test_large_batch_is_chunked_identically(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts = [f"Translate '{w}' into French, {n} times." for n, w in enumerate("abcdefg" * 3)]
    whole = features(prompts)
    monkeypatch.setattr(text_mod, "CHUNK_ROWS", 4)
    chunked = features(prompts)
    assert chunked.equals(whole)


def test_large_string_input() -> None:
    batch = pa.RecordBatch.from_pydict(
        {"request_id": ["a"], "prompt": pa.array(["Hello there"], pa.large_string())}
    )
    assert text_features(batch)["n_words"].to_pylist() == [2]


# ---------------------------------------------------------------------------- skeletons

VARIANTS = [
    # numbers, quotes, URLs, code blocks, template variables
    (
        'Translate "good morning" into French, 3 times. See https://a.io/x?id=7 or mail '
        "bob@example.com. ```print(1)``` Use {name} and $user and <lang>."
    ),
    (
        "translate  «buenas noches» into French, 12 times.\nSee http://b.org/page or mail "
        "alice.smith@corp.io. ```\nfor i in range(9): pass\n``` Use {city} and $item and <dialect>."
    ),
]


def test_skeleton_invariant_to_variables() -> None:
    out = features(VARIANTS)
    assert out["skeleton_hash"][0] == out["skeleton_hash"][1]
    assert out["content_hash"][0] != out["content_hash"][1]
    assert out["head"][0] == out["head"][1]
    head = out["head"][0].as_py()
    assert head.startswith("translate <q> into french <n> times see <u>")


def test_skeleton_indented_code_and_curly_quotes() -> None:
    a = "Fix this code:\n\n    x = 1\n    y = x + 2\n\nIt says “undefined”."
    b = "Fix this code:\n\n    total = sum(values)\n    print(total)\n\nIt says “type error”."
    out = features([a, b])
    assert out["skeleton_hash"][0] == out["skeleton_hash"][1]
    assert out["head"][0].as_py() == "fix this code <c> it says <q>"


def test_skeleton_sensitive_to_wording() -> None:
    out = features(
        [
            "Translate the following sentence into French: 'hello'.",
            "Translate the following sentence into German: 'hello'.",
            "Summarise the following sentence in French: 'hello'.",
        ]
    )
    hashes = out["skeleton_hash"].to_pylist()
    assert len(set(hashes)) == 3


def test_apostrophes_are_not_quotes() -> None:
    out = features(["Don't worry, it's fine.", "Don't panic, it's fine."])
    assert "<q>" not in out["head"][0].as_py()
    assert out["skeleton_hash"][0] != out["skeleton_hash"][1]


def test_content_hash_ignores_case_and_whitespace_only() -> None:
    out = features(["Hello   World\n", "hello world", "hello, world"])
    h = out["content_hash"].to_pylist()
    assert h[0] == h[1] != h[2]


def test_head_and_tail_are_twelve_word_tokens() -> None:
    words = [f"w{chr(97 + i % 26)}x" for i in range(30)]
    out = features([" ".join(words) + "!", "Short prompt?"])
    assert out["head"][0].as_py() == " ".join(words[:12])
    assert out["tail"][0].as_py() == " ".join(words[-12:])
    assert out["head"][1].as_py() == out["tail"][1].as_py() == "short prompt"


def test_cjk_tokens_are_characters() -> None:
    out = features(["请把下面的句子翻译成英文"])
    assert out["head"][0].as_py() == " ".join("请把下面的句子翻译成英文")


# ------------------------------------------------------------------------------- hashes


def test_hashes_are_blake2b_and_stable_across_processes() -> None:
    out = features(["Hello World", "What is 2+2?"])
    assert out["content_hash"].to_pylist() == [blake64("hello world"), blake64("what is 2+2?")]
    assert out["skeleton_hash"][1].as_py() == blake64("what is <n>+<n>?")
    code = (
        "import pyarrow as pa; from distillwatch.features.text import stable_hash64;"
        "print(stable_hash64(pa.array(['hello world'])).tolist()[0])"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert int(other) == blake64("hello world")


def test_stable_hash64_repeats_and_empty() -> None:
    h = stable_hash64(pa.array(["a", "b", "a", ""]))
    assert h.dtype == np.int64
    assert h[0] == h[2] != h[1]
    assert h[3] == blake64("")
    assert stable_hash64(pa.array([], pa.string())).size == 0


# ------------------------------------------------------------------------ normalisation


def test_normalise_nfkc_lower_whitespace() -> None:
    low, norm = normalise(pa.array(["Ｆｕｌｌ\u00a0WIDTH\t\tＡＢＣ１２３", "ﬁne   café"]))
    assert norm.to_pylist() == ["full width abc123", "fine café"]
    assert "\t" in low[0].as_py()


def test_counts() -> None:
    out = features(["Hello,   big world!", "数学 ok", "", "naïve café"])
    assert out["n_chars"].to_pylist() == [19, 5, 0, 10]
    assert out["n_words"].to_pylist() == [3, 4, 0, 2]
    assert word_counts(pa.array(["a b", "x"])).tolist() == [2, 1]


# ----------------------------------------------------------------------------- language

LANG_EXAMPLES = {
    "en": "What is the best way to learn a new language quickly?",
    "es": "¿Cuál es la mejor manera de aprender un idioma nuevo rápidamente?",
    "fr": "Quelle est la meilleure façon d'apprendre une nouvelle langue rapidement ?",
    "de": "Was ist der beste Weg, um schnell eine neue Sprache zu lernen?",
    "pt": "Qual é a melhor maneira de aprender um novo idioma rapidamente?",
    "ru": "Как быстрее всего выучить новый язык?",
    "ja": "新しい言語を早く学ぶ最良の方法は何ですか？",
    "zh": "快速学习一门新语言的最好方法是什么？",
}


def test_language_guesses() -> None:
    out = features(list(LANG_EXAMPLES.values()))
    assert out["lang"].to_pylist() == list(LANG_EXAMPLES)


def test_language_unsure_and_other_scripts() -> None:
    out = features(["ok", "12345", "안녕하세요 반갑습니다", "مرحبا كيف حالك"])
    assert out["lang"].to_pylist() == ["und", "und", "ko", "ar"]
    assert guess_lang(pa.array(["the cat and the dog"])).to_pylist() == ["en"]


# ------------------------------------------------------------------------------ domains

DOMAIN_EXAMPLES = {
    "code": "Write a Python function that reverses a linked list.",
    "math": "Solve the quadratic equation x^2 - 5x + 6 = 0 and check the roots.",
    "health": "What are the early symptoms of diabetes and when should I see a doctor?",
    "cooking": "Give me a recipe for a chocolate cake without eggs.",
    "travel": "Plan a five day trip itinerary for Rome with hotel suggestions.",
    "sports": "Who won the most championships in NBA basketball history?",
    "history": "Explain the main causes of the revolution in the 18th century.",
    "geography": "What is the capital of Australia and its population?",
    "law": "Can my landlord keep my deposit? What does the law say about tenants?",
    "finance": "Should I invest in stocks or pay off my mortgage first?",
    "other": "Hello there, how are you?",
}


def test_domain_examples() -> None:
    out = features(list(DOMAIN_EXAMPLES.values()))
    assert out["domain"].to_pylist() == list(DOMAIN_EXAMPLES)


def test_domain_in_other_languages() -> None:
    out = features(
        ["¿Cuál es la receta tradicional de la paella?", "この数学の問題を解いてください。"]
    )
    assert out["domain"].to_pylist() == ["cooking", "math"]

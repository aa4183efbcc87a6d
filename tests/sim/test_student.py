"""The n-gram student: interpolated Kneser-Ney probabilities, exact sampling, tokens."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest

from distillwatch.errors import UsageError
from distillwatch.sim.corpora import find_corpora_dir
from distillwatch.sim.student import EOS, NGramStudent, detokenize, tokenize
from distillwatch.sim.teacher import teacher_texts

CYCLE = "the cat sat on the mat ."
TWO = ["the cat sat on the mat .", "the dog sat on the rug ."]


def _trigrams(tokens: list[str]) -> set[tuple[str, str, str]]:
    return set(zip(tokens, tokens[1:], tokens[2:], strict=False))


def test_tokenize_keeps_words_and_splits_punctuation():
    assert tokenize("Don't stop: a well-known fact!\n(Yes)") == [
        "Don't",
        "stop",
        ":",
        "a",
        "well-known",
        "fact",
        "!",
        "\n",
        "(",
        "Yes",
        ")",
    ]
    assert tokenize("Costs $3.50, i.e. 2,000 yen") == [
        "Costs",
        "$",
        "3.50",
        ",",
        "i.e.",
        "2,000",
        "yen",
    ]


def test_detokenize_is_readable():
    tokens = ["Well", ",", "it", "'", "s", "(", "fine", ")", ":", '"', "yes", '"', "!", "\n", "No"]
    assert detokenize(tokens) == 'Well, it\'s (fine): "yes"!\nNo'
    text = 'He said: "go (now), please"; then left.\nNext line? Yes!'
    assert detokenize(tokenize(text)) == text


def test_probabilities_follow_interpolated_kneser_ney_by_hand():
    s = NGramStudent(order=2, discount=0.5).fit(["a b", "a c", "b c"])
    # unigram continuation counts: a 1, b 2, c 2, </s> 2 (total 7, 4 types); uniform 1/4
    p_b = (2 - 0.5) / 7 + (0.5 * 4 / 7) * (1 / 4)
    assert s.prob("b", ["unseen"]) == pytest.approx(p_b)
    # an empty context is <s>: a twice, b once
    assert s.prob("b") == pytest.approx((1 - 0.5) / 3 + (0.5 * 2 / 3) * p_b)
    # after "a": b once, c once
    assert s.prob("b", ["a"]) == pytest.approx((1 - 0.5) / 2 + (0.5 * 2 / 2) * p_b)
    assert s.prob("never-seen", ["a"]) == 0.0


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_probabilities_sum_to_one(order):
    s = NGramStudent(order=order).fit(TWO * 3 + ["a cat . a dog !"])
    vocab = [*{tok for text in TWO for tok in tokenize(text)}, "a", "!", EOS]
    for context in ([], ["on", "the"], ["the"], ["cat", "zzz"], ["a", "dog"]):
        assert sum(s.prob(tok, context) for tok in vocab) == pytest.approx(1.0)


def test_sampling_matches_the_model_probabilities():
    s = NGramStudent(order=2, discount=0.5).fit(["a b", "a c", "b c", "c a b"])
    tokens = s.generate_tokens(30_000, seed=5)
    after_a = Counter(nxt for tok, nxt in pairwise(tokens) if tok == "a")
    n = sum(after_a.values())
    assert n > 5000
    for word, shown in (("b", "b"), ("c", "c"), ("a", "a"), (EOS, "\n")):
        assert after_a[shown] / n == pytest.approx(s.prob(word, ["a"]), abs=0.03)


def test_tiny_text_reproduces_its_only_continuations():
    s = NGramStudent(order=3, discount=0.01).fit(TWO * 500)
    seen = set().union(*(_trigrams(["<s>", "<s>", *tokenize(t), EOS]) for t in TWO))
    for seed in range(3):
        tokens = s.generate_tokens(100, seed=seed)
        # a document end is written as a blank line; the next document starts from <s> <s>
        docs = " ".join(tokens).split(" \n \n ")
        assert len(docs) > 10
        for k, doc in enumerate(docs):
            end = [EOS] if k < len(docs) - 1 else []
            assert _trigrams(["<s>", "<s>", *doc.split(" "), *end]) <= seen
    assert s.generate(3, seed=0, prompt="sat on the") in ("mat.\n\nthe cat", "rug.\n\nthe dog")


def test_same_seed_same_text_other_seed_other_text():
    s = NGramStudent().fit(TWO * 2 + ["a cat sat on a dog .", "the rug sat ."])
    assert s.generate(200, seed=1) == s.generate(200, seed=1)
    assert s.generate(200, seed=1) != s.generate(200, seed=2)
    many = s.generate_many(5, 20, seed=3, prompts=["the cat"])
    assert many == s.generate_many(5, 20, seed=3, prompts=["the cat"])
    assert len(many) == 5 and len(set(many)) > 1


def test_generate_counts_words_not_punctuation():
    s = NGramStudent().fit(TWO)
    tokens = s.generate_tokens(57, seed=4)
    assert sum(tok[0].isalnum() for tok in tokens) == 57
    assert tokens[-1][0].isalnum()


def test_higher_order_context_dominates_when_seen():
    texts = ["x a b", "y a c"] * 30
    s = NGramStudent(order=3).fit(texts)
    assert s.prob("b", ["x", "a"]) > 0.95
    assert s.prob("c", ["y", "a"]) > 0.95
    # unseen trigram context: the bigram "a" decides, and it saw b and c equally
    assert s.prob("b", ["z", "a"]) == pytest.approx(s.prob("c", ["z", "a"]))
    assert s.prob("b", ["x", "a"]) > 3 * s.prob("b", ["z", "a"])
    firsts_x = Counter(s.generate(1, seed=k, prompt="well x a") for k in range(100))
    firsts_y = Counter(s.generate(1, seed=k, prompt="y a") for k in range(100))
    assert firsts_x["b"] >= 90
    assert firsts_y["c"] >= 90


def test_generated_tokens_come_from_the_training_vocabulary():
    texts = [t.text for t in teacher_texts(find_corpora_dir(None))[:800]]
    s = NGramStudent(order=3).fit(texts)
    training = {tok for text in texts for tok in tokenize(text.strip())}
    tokens = s.generate_tokens(5000, seed=9, prompt="Tell me about unseen-words please")
    assert set(tokens) - {"\n"} <= training
    assert s.vocabulary_size == len(training)
    assert len(set(tokens)) > 500  # it does sample widely, not one loop


def test_usage_errors():
    with pytest.raises(UsageError, match="fit"):
        NGramStudent().generate(3, seed=1)
    with pytest.raises(UsageError, match="no text"):
        NGramStudent().fit(["", "   "])
    with pytest.raises(UsageError, match="order"):
        NGramStudent(order=0).fit(["a b"])
    with pytest.raises(UsageError, match="discount"):
        NGramStudent(discount=1.5).fit(["a b"])
    with pytest.raises(UsageError, match="no word"):
        NGramStudent().fit(["!!"]).generate(2, seed=1)


def test_one_seed_with_different_prompts_does_not_couple():
    texts = [t.text for t in teacher_texts(find_corpora_dir(None))[:800]]
    s = NGramStudent(order=3).fit(texts)
    a = s.generate_tokens(2000, seed=1, prompt="How do I cook rice?")
    b = s.generate_tokens(2000, seed=1, prompt="Tell me about the history of Rome.")
    shared = _trigrams(a[-600:]) & _trigrams(b[-600:])
    assert len(shared) < 0.2 * len(_trigrams(a[-600:]))

"""The attacker's paraphrase: random synonym replacement, per occurrence and per word."""

from __future__ import annotations

import re

import pytest

from distillwatch.errors import UsageError
from distillwatch.sim.paraphrase import paraphrase, paraphrase_words

GROUPS = [
    ["for example", "for instance", "e.g."],
    ["don't", "do not"],
    ["perhaps", "maybe"],
    ["buy", "purchase"],
    ["example", "sample"],
]
TEXT = (
    "For example, you don't need to buy it. Perhaps later; maybe never.\n"
    "An example helps. Do not buy for, example, the BUY button? Buy-in stays."
)
WORDS = re.compile(r"[^\W_]+(?:['\u2019\-][^\W_]+)*")
MEMBERS = {phrase for group in GROUPS for phrase in group}


def _members(text: str) -> list[str]:
    """Group members found longest-first (the same rule the paraphrase uses)."""
    found = []
    for m in re.finditer(
        r"for example|for instance|e\.g\.|don't|do not|perhaps|maybe|buy|purchase|example"
        r"|sample",
        text,
        flags=re.IGNORECASE,
    ):
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end()] if m.end() < len(text) else " "
        if not (before.isalnum() or before == "-" or after.isalnum() or after == "-"):
            found.append(m.group())
    return found


@pytest.mark.parametrize("function", [paraphrase, paraphrase_words])
def test_rate_zero_changes_nothing(function):
    new, replaced, words = function(TEXT, GROUPS, 0.0, seed=1)
    assert new == TEXT
    assert replaced == 0
    assert words == len(WORDS.findall(TEXT))


@pytest.mark.parametrize("function", [paraphrase, paraphrase_words])
def test_rate_one_changes_every_member(function):
    originals = _members(TEXT)
    assert len(originals) == 10
    new, replaced, words = function(TEXT, GROUPS, 1.0, seed=2)
    changed = _members(new)
    assert len(changed) == len(originals)
    for before, after in zip(originals, changed, strict=True):
        assert before.lower() != after.lower()
        group = next(g for g in GROUPS if before.lower() in g)
        assert after.lower() in group
        assert before[0].isupper() == after[0].isupper()
    assert replaced == sum(len(m.split()) for m in originals)
    assert words == len(WORDS.findall(TEXT))


def test_capitalisation_of_the_first_letter_is_kept():
    new, replaced, _ = paraphrase("Don't. For example. Maybe.", GROUPS, 1.0, seed=0)
    assert new.startswith("Do not. For instance") or new.startswith("Do not. E.g.")
    assert new.endswith(" Perhaps.")
    assert replaced == 1 + 2 + 1


def test_non_members_are_untouched():
    new, _, _ = paraphrase(TEXT, GROUPS, 1.0, seed=3)
    pattern = re.compile(
        r"for example|for instance|e\.g\.|don't|do not|perhaps|maybe|(?<![\w-])buy(?![\w-])"
        r"|purchase|(?<!for )example|sample",
        flags=re.IGNORECASE,
    )
    # with every member blanked out, the two texts are identical
    assert pattern.sub("#", new) == pattern.sub("#", TEXT)
    assert "Buy-in stays." in new
    assert "for, " in new  # punctuation breaks the phrase "for example"
    assert "\n" in new


def test_longest_phrase_wins_and_phrases_need_plain_spaces():
    assert paraphrase("for example", GROUPS, 1.0, seed=0)[1] == 2
    new, replaced, words = paraphrase("for\nexample", GROUPS, 1.0, seed=0)
    assert new == "for\nsample"
    assert (replaced, words) == (1, 2)


def test_curly_apostrophe_matches():
    new, replaced, _ = paraphrase("I don\u2019t know", GROUPS, 1.0, seed=0)
    assert new == "I do not know"
    assert replaced == 1


def test_deterministic_per_seed_and_rate_is_realised():
    text = " ".join(["perhaps buy it"] * 400)
    a = paraphrase(text, GROUPS, 0.3, seed=7)
    assert a == paraphrase(text, GROUPS, 0.3, seed=7)
    assert a != paraphrase(text, GROUPS, 0.3, seed=8)
    members = 800
    assert 0.25 * members < a[1] < 0.35 * members
    assert a[1] == a[0].split().count("maybe") + a[0].split().count("purchase")


def test_paraphrase_words_picks_rate_of_all_words():
    text = " ".join(["maybe purchase"] * 50)  # every word has a synonym
    new, replaced, words = paraphrase_words(text, GROUPS, 0.3, seed=4)
    assert words == 100
    assert replaced == 30
    assert sum(a != b for a, b in zip(new.split(), text.split(), strict=True)) == 30
    assert paraphrase_words(text, GROUPS, 0.3, seed=4) == (new, replaced, words)
    mixed = " ".join(["maybe the cat sat on a mat"] * 50)  # one word in seven
    _, replaced, words = paraphrase_words(mixed, GROUPS, 0.3, seed=4)
    assert replaced < 0.3 * words / 2
    assert replaced > 0


def test_bad_groups_and_rates_are_usage_errors():
    with pytest.raises(UsageError, match="between 0 and 1"):
        paraphrase("x", GROUPS, 1.5, seed=0)
    with pytest.raises(UsageError, match="at least 2"):
        paraphrase("x", [["maybe", "Maybe"]], 0.5, seed=0)
    with pytest.raises(UsageError, match="one group only"):
        paraphrase("x", [["maybe", "perhaps"], ["maybe", "possibly"]], 0.5, seed=0)
    with pytest.raises(UsageError, match="plain words"):
        paraphrase("x", [["a, b", "c"]], 0.5, seed=0)
    with pytest.raises(UsageError, match="list of phrases"):
        paraphrase_words("x", ["maybe", "perhaps"], 0.5, seed=0)

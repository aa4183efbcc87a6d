"""The marker: keyed, deterministic, meaning-preserving, and blind to protected spans."""

from __future__ import annotations

import re

import pytest

from distillwatch.provenance.keys import ProvenanceKey
from distillwatch.provenance.lexicon import Group, Lexicon, load_lexicon
from distillwatch.provenance.mark import mark_text
from distillwatch.provenance.text import occurrences, protected_spans

SMALL = Lexicon(
    (
        Group(0, "phrase", (("for", "example"), ("for", "instance"))),
        Group(1, "contraction", (("do", "not"), ("don't",))),
        Group(2, "synonym", (("perhaps",), ("maybe",))),
        Group(3, "synonym", (("buy",), ("purchase",))),
    ),
    2,
)


def tag(i: int) -> str:
    """Letters for a number: a distinct word (numbers are not words to the marker)."""
    return "".join("abcdefghij"[int(d)] for d in str(i))


def keys(n: int) -> list[ProvenanceKey]:
    return [ProvenanceKey(f"k{i}", bytes([i]) * 32) for i in range(n)]


def test_occurrences_contexts_are_canonical_and_skip_names():
    text = "For example, we do not know. Then Maybe Paul said perhaps."
    occ = occurrences(text, SMALL, 1)
    got = [(text[o.start : o.end], o.context, o.eligible) for o in occ]
    assert got == [
        ("For example", "^", True),
        ("do not", "we", True),
        ("Maybe", "then", False),  # capitalised inside a sentence: a name
        ("perhaps", "said", True),
    ]
    # a context word that is itself in the lexicon is its group, whatever the variant
    a = occurrences("maybe buy it", SMALL, 1)[1]
    b = occurrences("perhaps buy it", SMALL, 1)[1]
    assert a.context == b.context == "g2"


def test_two_context_words_pad_at_the_start():
    occ = occurrences("perhaps we buy", SMALL, 2)
    assert [o.context for o in occ] == ["^ ^", "g2 we"]


PROTECTED = (
    'He wrote "do not buy it" and `do not` then\n```\nperhaps do not\n```\n'
    "See https://example.com/buy-perhaps or me@buy.org, 'perhaps buy' <b buy> $buy$\n"
    "    do not run this indented code\n"
    "It cost 42 dollars, 3.5 percent, in 2024."
)


def test_protected_spans_numbers_and_code_never_change():
    spans = [PROTECTED[a:b] for a, b in protected_spans(PROTECTED)]
    for fragment in ('"do not buy it"', "`do not`", "https://example.com/buy-perhaps"):
        assert fragment in spans
    for key in keys(20):
        marked = mark_text(PROTECTED, key, SMALL, strength=1.0).text
        for a, b in protected_spans(PROTECTED):
            assert PROTECTED[a:b] in marked
        assert re.findall(r"\d+(?:\.\d+)?", marked) == re.findall(r"\d+(?:\.\d+)?", PROTECTED)


def test_same_key_same_choices_other_keys_independent():
    text = " ".join(f"w{tag(i)} perhaps v{tag(i)} for example." for i in range(300))
    k = keys(3)
    first = mark_text(text, k[0], SMALL).text
    assert mark_text(text, k[0], SMALL).text == first
    assert mark_text(first, k[0], SMALL).text == first  # marking twice changes nothing more
    choices = []
    for key in k:
        occ = occurrences(mark_text(text, key, SMALL).text, SMALL, 1)
        choices.append([o.variant for o in occ])
    agree = sum(a == b for a, b in zip(choices[0], choices[1], strict=True)) / len(choices[0])
    assert 0.35 < agree < 0.65  # independent two-way choices agree about half the time


def test_capitalisation_and_typographic_apostrophes_are_kept():
    text = "Perhaps we don\u2019t. Maybe so."
    outs = {mark_text(text, key, SMALL).text for key in keys(30)}
    assert "Maybe we don\u2019t. Maybe so." in outs or "Maybe we do not. Maybe so." in outs
    for out in outs:
        assert out[0].isupper() and "'" not in out


def test_strength_marks_a_share_and_reports_changes():
    text = " ".join(f"x{tag(i)} perhaps y{tag(i)} buy" for i in range(2000))
    key = keys(1)[0]
    full = mark_text(text, key, SMALL, strength=1.0)
    half = mark_text(text, key, SMALL, strength=0.5)
    assert full.active == full.positions == 4000
    assert 0.45 < half.active / half.positions < 0.55
    assert 0 < half.words_changed < full.words_changed
    assert full.share_changed == pytest.approx(full.words_changed / 8000)
    assert len(full.digests) == full.active  # every context is distinct here


def test_shipped_lexicon_marks_real_text_and_keeps_its_meaning_markers():
    text = (
        "For example, you do not need to purchase a new laptop; perhaps you can begin "
        "by upgrading the memory. It is usually cheaper, and it is often faster to install."
    )
    lex = load_lexicon()
    results = [mark_text(text, key, lex) for key in keys(10)]
    assert any(r.changed for r in results)
    assert all(r.positions == results[0].positions > 0 for r in results)
    for r in results:
        assert r.text.count(".") == text.count(".") and r.text.count(";") == 1


def test_spelling_variants_are_left_alone_unless_the_key_asks():
    text = " ".join(f"w{tag(i)} the colour of the behaviour." for i in range(40))
    default = [mark_text(text, key, load_lexicon()) for key in keys(5)]
    assert all(r.text == text and r.positions == 0 for r in default)
    spelled = [ProvenanceKey(k.key_id, k.secret, kinds=("spelling",)) for k in keys(5)]
    assert any(mark_text(text, key, load_lexicon()).changed for key in spelled)


def test_identifiers_glued_to_code_punctuation_are_not_prose():
    text = "if response.ok: print(ok) and perhaps_x = maybe(1) or obj.perhaps.y; perhaps so"
    occ = occurrences(text, SMALL, 2)
    eligible = {text[o.start : o.end]: o.eligible for o in occ}
    assert [text[o.start : o.end] for o in occ if o.eligible] == ["perhaps"]
    assert occ[-1].start == text.rindex("perhaps") and eligible["perhaps"]

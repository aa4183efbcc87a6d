from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from distillwatch.errors import ConfigError
from distillwatch.provenance.lexicon import (
    KINDS,
    Group,
    Lexicon,
    lexicon_sha256,
    load_lexicon,
)


def _shipped_text() -> str:
    ref = resources.files("distillwatch.provenance").joinpath("data", "lexicon.toml")
    return ref.read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str, name: str = "lex.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = '[[group]]\nkind = "phrase"\nvariants = ["for example", "for instance"]\n'


def _one(kind: str = '"synonym"', variants: str = '["often", "frequently"]') -> str:
    return f"[[group]]\nkind = {kind}\nvariants = {variants}\n"


# --- the shipped file ---------------------------------------------------------------


def test_shipped_lexicon_loads_and_is_within_the_brief():
    lex = load_lexicon()
    assert 250 <= len(lex.groups) <= 400
    assert [g.id for g in lex.groups] == list(range(len(lex.groups)))
    assert lex.max_words == max(len(v) for g in lex.groups for v in g.variants)
    assert lex.max_words <= 4
    for g in lex.groups:
        assert g.kind in KINDS
        assert 2 <= len(g.variants) <= 4
        for i, v in enumerate(g.variants):
            assert lex.lookup(v) == (g.id, i)


def test_shipped_contraction_groups_pair_one_contracted_form():
    for g in load_lexicon().groups:
        if g.kind == "contraction":
            assert len(g.variants) == 2, g
            assert sum(any("'" in w for w in v) for v in g.variants) == 1, g


def test_shipped_lexicon_is_cached():
    assert load_lexicon() is load_lexicon()


def test_explicit_path_reads_the_same_groups_as_the_shipped_one(tmp_path):
    copy = load_lexicon(_write(tmp_path, _shipped_text()))
    assert copy.groups == load_lexicon().groups
    assert copy is not load_lexicon()


# --- lookup ---------------------------------------------------------------------------


def test_lookup_finds_multi_word_phrases_and_their_partners():
    lex = load_lexicon()
    gid, idx = lex.lookup(("in", "order", "to"))  # type: ignore[misc]
    assert lex.groups[gid].variants[idx] == ("in", "order", "to")
    assert lex.lookup(("so", "as", "to")) == (gid, 1 - idx)
    gid2, _ = lex.lookup(("do", "not"))  # type: ignore[misc]
    assert ("don't",) in lex.groups[gid2].variants


@pytest.mark.parametrize(
    "words",
    [("in", "order"), ("order", "to"), ("banana",), ("For", "example"), (), ("for example",)],
)
def test_lookup_returns_none_for_non_members(words):
    assert load_lexicon().lookup(words) is None


def test_lookup_on_a_hand_built_lexicon():
    lex = Lexicon(
        (Group(0, "synonym", (("a",), ("b",))), Group(1, "phrase", (("c", "d"), ("e",)))), 2
    )
    assert lex.lookup(("c", "d")) == (1, 0)
    assert lex.lookup(("e",)) == (1, 1)
    assert lex.lookup(("d",)) is None


# --- ids are stable under appending ------------------------------------------------------


def test_appending_a_group_keeps_every_old_id(tmp_path):
    base = load_lexicon()
    extra = '\n[[group]]\nkind = "synonym"\nvariants = ["zzfoo", "zzbar"]\n'
    grown = load_lexicon(_write(tmp_path, _shipped_text() + extra))
    assert grown.groups[: len(base.groups)] == base.groups
    assert grown.lookup(("zzbar",)) == (len(base.groups), 1)
    assert lexicon_sha256(tmp_path / "lex.toml") != lexicon_sha256()


def test_reordering_changes_ids(tmp_path):
    one = load_lexicon(_write(tmp_path, GOOD + _one(), "a.toml"))
    two = load_lexicon(_write(tmp_path, _one() + GOOD, "b.toml"))
    assert one.lookup(("often",)) == (1, 0)
    assert two.lookup(("often",)) == (0, 0)


def test_digest_ignores_comments_but_not_content(tmp_path):
    plain = _write(tmp_path, GOOD + _one(), "plain.toml")
    commented = _write(tmp_path, "# a note\n" + GOOD + "# doubt: x\n" + _one(), "c.toml")
    changed = _write(tmp_path, GOOD + _one(variants='["often", "oftentimes"]'), "d.toml")
    assert lexicon_sha256(plain) == lexicon_sha256(commented)
    assert lexicon_sha256(plain) != lexicon_sha256(changed)
    assert len(lexicon_sha256()) == 64


# --- invalid files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_group", "needle"),
    [
        (_one(variants='["often", "often"]'), "duplicate variant 'often'"),
        (_one(variants='["for example", "usually"]'), "duplicate variant 'for example'"),
        (_one(variants='["Often", "frequently"]'), "bad characters"),
        (_one(variants='["often", "fre4quently"]'), "bad characters"),
        (_one(variants='["in  order", "so as"]'), "bad characters"),
        (_one(variants='[" often", "frequently"]'), "bad characters"),
        (_one(variants='["often", "frequently\'"]'), "bad characters"),
        (_one(variants='["often", "-frequently"]'), "bad characters"),
        (_one(variants='["often", ""]'), "bad characters"),
        (_one(variants='["often"]'), "has 1 variants"),
        (_one(variants="[]"), "has 0 variants"),
        (_one(variants='["a", "b", "c", "d", "e"]'), "has 5 variants"),
        (_one(variants='"often"'), "no list of variants"),
        (_one(variants='["often", 3]'), "is not a string"),
        (_one(variants='["a b c d e", "b"]'), "more than 4 words"),
        (_one(kind='"adverb"'), "unknown kind 'adverb'"),
        ('[[group]]\nvariants = ["often", "frequently"]\n', "unknown kind None"),
        ('[[group]]\nkind = "synonym"\n', "no list of variants"),
        (_one() + "weight = 2\n", "unknown key(s) ['weight']"),
    ],
)
def test_invalid_group_raises_config_error_naming_file_and_group(tmp_path, bad_group, needle):
    path = _write(tmp_path, GOOD + bad_group)
    with pytest.raises(ConfigError) as info:
        load_lexicon(path)
    message = str(info.value)
    assert str(path) in message
    assert "group 1" in message
    assert needle in message
    assert "\n" not in message


def test_duplicate_across_groups_names_both(tmp_path):
    path = _write(tmp_path, GOOD + _one() + _one(variants='["seldom", "frequently"]'))
    with pytest.raises(ConfigError, match=r"group 2: duplicate variant 'frequently' .*group 1"):
        load_lexicon(path)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[[group]\n", "not valid TOML"),
        ("", "no [[group]] tables"),
        ("group = 3\n", "no [[group]] tables"),
        ("version = 1\n" + GOOD, "unknown top-level key"),
    ],
)
def test_invalid_file_raises_config_error(tmp_path, text, needle):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[")) as info:
        load_lexicon(path)
    assert str(path) in str(info.value)


def test_missing_file_raises_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_lexicon(tmp_path / "absent.toml")

"""load_intel: the local intel directory -> peers' indicators in force."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.intel.conftest_match import (
    PEER,
    PEER_ID,
    T0,
    digest_objects,
    identity,
    indicator,
    range_indicator,
    sighting,
    template_objects,
    write_bundle,
)

from distillwatch.errors import IntelError
from distillwatch.intel.store import load_intel, parse_pattern

AT = T0 + timedelta(days=1)


def test_latest_version_wins_across_files(tmp_path):
    old = range_indicator("198.51.100.0/24", confidence=40)
    new = range_indicator(
        "198.51.100.0/24", confidence=90, modified=T0 + timedelta(hours=5), ident=old["id"]
    )
    # the newer version is in the file read first: order of files must not matter
    write_bundle(tmp_path, "a/1.json", [identity(), new])
    write_bundle(tmp_path, "b/2.json", [old])
    intel = load_intel(tmp_path, at=AT)
    assert len(intel.ranges) == 1
    info = intel.ranges[0].info
    assert info.confidence == 90 and info.publisher == PEER and info.publisher_id == PEER_ID


def test_revoked_objects_are_dropped(tmp_path):
    ind = range_indicator("198.51.100.0/24")
    revoked = {**ind, "modified": "2026-11-03T00:00:00.000Z", "revoked": True}
    kept = range_indicator("203.0.113.0/24")
    write_bundle(tmp_path, "c/1.json", [ind, kept])
    write_bundle(tmp_path, "c/2.json", [revoked])
    intel = load_intel(tmp_path, at=AT)
    assert [r.info.indicator_id for r in intel.ranges] == [kept["id"]]
    assert intel.skipped["object: revoked"] == 1


def test_expired_indicators_are_dropped(tmp_path):
    live = range_indicator("198.51.100.0/24", ttl=timedelta(days=30))
    dead = range_indicator("203.0.113.0/24", valid_from=T0 - timedelta(days=40))
    write_bundle(tmp_path, "c/1.json", [live, dead])
    intel = load_intel(tmp_path, at=AT)
    assert [r.info.indicator_id for r in intel.ranges] == [live["id"]]
    assert intel.skipped["indicator: expired"] == 1
    # the same directory later: both expired
    assert len(load_intel(tmp_path, at=T0 + timedelta(days=31))) == 0


def test_a_renewal_sighting_keeps_an_expired_indicator_in_force(tmp_path):
    start = T0 - timedelta(days=40)  # valid_until = T0 - 10 days
    renewed = range_indicator("203.0.113.0/24", valid_from=start)
    dismissed = range_indicator("198.51.100.0/24", valid_from=start)
    objects = [
        renewed,
        dismissed,
        sighting(renewed["id"], T0 - timedelta(days=15)),  # renews until T0 + 15 days
        sighting(dismissed["id"], T0 - timedelta(days=15), false_positive=True),
    ]
    write_bundle(tmp_path, "c/1.json", objects)
    intel = load_intel(tmp_path, at=AT)
    assert [r.info.indicator_id for r in intel.ranges] == [renewed["id"]]
    info = intel.ranges[0].info
    assert info.renewed and info.active_until == T0 + timedelta(days=15)
    assert len(load_intel(tmp_path, at=T0 + timedelta(days=16))) == 0


def test_broken_files_are_skipped_and_counted(tmp_path):
    write_bundle(tmp_path, "c/good.json", [range_indicator("198.51.100.0/24")])
    (tmp_path / "c" / "broken.json").write_text('{"type": "bundle", "objects": [', "utf-8")
    (tmp_path / "c" / "list.json").write_text("[1, 2]", "utf-8")
    (tmp_path / "state.json").write_text('{"hub|c": {"added_after": "x"}}', "utf-8")
    write_bundle(tmp_path, "c/odd.json", [{"type": "indicator"}, "text"])
    intel = load_intel(tmp_path, at=AT)
    assert len(intel) == 1 and intel.n_files == 4  # state.json is not a bundle file
    assert intel.skipped["file: not readable JSON"] == 1
    assert intel.skipped["file: not a STIX bundle"] == 1
    assert intel.skipped["object: no type or id"] == 2


def test_unknown_patterns_and_pattern_types_are_counted(tmp_path):
    objs = [
        indicator("[file:hashes.'SHA-256' = 'aa']"),
        indicator("[ipv4-addr:value = '198.51.100.1'] OR [ipv4-addr:value = '198.51.100.2']"),
        {**indicator("title: x"), "pattern_type": "sigma"},
        indicator(
            "[keyed-digest:kind = 'email' AND keyed-digest:digest = '"
            + "a" * 64
            + "' AND keyed-digest:key_id = 'k']"
        ),
        *digest_objects("payment-fingerprint", "card_1"),
    ]
    write_bundle(tmp_path, "c/1.json", objs)
    intel = load_intel(tmp_path, at=AT)
    assert [d.kind for d in intel.digests] == ["payment-fingerprint"]
    assert intel.skipped["indicator: unsupported pattern"] == 3
    assert intel.skipped["indicator: pattern_type 'sigma' not matched"] == 1


def test_template_indicator_carries_its_sco_sketch(tmp_path):
    with_sco = template_objects("head", "show your reasoning step by step <q>")
    without = template_objects("tail", "then give the final answer <q>")[:1]
    write_bundle(tmp_path, "c/1.json", [*with_sco, *without])
    intel = load_intel(tmp_path, at=AT)
    by_part = {t.part: t for t in intel.templates}
    assert by_part["head"].minhash == tuple(with_sco[1]["minhash"])
    assert by_part["tail"].minhash is None
    assert intel.notes["template without a valid sketch (exact match only)"] == 1
    assert intel.key_ids() == {"isac-k1"}


def test_indicator_without_publisher_is_skipped(tmp_path):
    ind = range_indicator("198.51.100.0/24")
    del ind["created_by_ref"]
    write_bundle(tmp_path, "c/1.json", [ind])
    intel = load_intel(tmp_path, at=AT)
    assert len(intel) == 0 and intel.skipped["indicator: no created_by_ref identity"] == 1


def test_missing_directory_is_one_intel_error(tmp_path):
    with pytest.raises(IntelError, match="intel pull"):
        load_intel(tmp_path / "nope", at=AT)


@pytest.mark.parametrize(
    ("pattern", "kind"),
    [
        ("[ipv6-addr:value ISSUBSET '2001:db8::/64']", "hosting-range"),
        (
            "[llm-prompt-fingerprint:key_id = 'k' AND llm-prompt-fingerprint:part = 'tail'"
            " AND llm-prompt-fingerprint:digest = '" + "AB" * 32 + "']",
            "template",
        ),
        ("[ipv4-addr:value ISSUBSET '198.51.100.7/24']", None),  # host bits set
        ("[ipv4-addr:value ISSUBSET '198.51.100.0/24'] WITHIN 5 SECONDS", None),
        ("[llm-prompt-fingerprint:part = 'head' AND llm-prompt-fingerprint:digest = 'ab']", None),
        ("[keyed-digest:kind = 'ip-address' AND keyed-digest:kind = 'ip-prefix']", None),
        ("[ipv4-addr:value ISSUBSET 'it\\'s']", None),
        ("", None),
    ],
)
def test_parse_pattern_accepts_exactly_the_three_shapes(pattern, kind):
    parsed = parse_pattern(pattern)
    assert (parsed[0] if parsed else None) == kind
    if kind == "template":
        assert parsed[1] == {"part": "tail", "digest": "ab" * 32, "key_id": "k"}

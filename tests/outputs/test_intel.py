from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
import stix2

from distillwatch.errors import OutputError, UsageError
from distillwatch.outputs import tlp
from distillwatch.outputs.atlas import load_atlas
from distillwatch.outputs.ids import campaign_pseudonym
from distillwatch.outputs.intel import build_bundle
from distillwatch.results import CampaignVerdict

AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"


def _objects(text: str) -> list[dict]:
    return json.loads(text)["objects"]


def _of_type(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["type"] == kind]


@pytest.fixture
def bundle_text(scan_result):
    return build_bundle(scan_result, org_name="acme-ai")


def test_parses_as_strict_stix21(bundle_text):
    parsed = stix2.parse(bundle_text, allow_custom=False)
    assert parsed.type == "bundle"
    counts = Counter(o.type for o in parsed.objects)
    assert counts == Counter(
        {
            "identity": 1,
            "marking-definition": 1,
            "campaign": 1,  # only the flagged campaign
            "attack-pattern": 3,  # the catalogued techniques it uses (AML.T9999 is not)
            "relationship": 3,
        }
    )
    assert all(o.spec_version == "2.1" for o in parsed.objects)


def test_identity_and_markings_on_every_object(bundle_text):
    objects = _objects(bundle_text)
    (identity,) = _of_type(objects, "identity")
    assert identity["identity_class"] == "organization" and identity["name"] == "acme-ai"
    (marking,) = _of_type(objects, "marking-definition")
    assert marking == tlp.marking_object("amber")
    assert marking["id"] == AMBER and marking["created"] == "2022-10-01T00:00:00.000Z"
    assert marking["extensions"][TLP2_EXTENSION] == {
        "extension_type": "property-extension",
        "tlp_2_0": "amber",
    }
    for obj in objects:
        if obj["type"] == "marking-definition":
            continue
        assert obj["created_by_ref"] == identity["id"], obj["id"]
        assert obj["object_marking_refs"] == [AMBER], obj["id"]


def test_campaign_content(bundle_text, scan_result):
    (camp,) = _of_type(_objects(bundle_text), "campaign")
    source = next(c for c in scan_result.campaigns if c.campaign_id == "cmp-0001")
    assert camp["name"] == campaign_pseudonym("cmp-0001", "acme-ai")
    assert camp["first_seen"] == "2026-03-02T01:00:00.25Z"
    assert camp["last_seen"] == "2026-03-08T23:00:00Z"
    assert f"{len(source.account_ids)} accounts" in camp["description"]
    assert f"{source.n_requests} requests" in camp["description"]
    for signal_id in source.top_signals():
        assert signal_id in camp["description"]


def test_attack_patterns_and_uses_relationships(bundle_text):
    objects = _objects(bundle_text)
    atlas = load_atlas()
    patterns = {p["id"]: p for p in _of_type(objects, "attack-pattern")}
    external = {}
    for pattern in patterns.values():
        (ref,) = pattern["external_references"]
        assert ref["source_name"] == "mitre-atlas"
        assert ref["url"] == f"https://atlas.mitre.org/techniques/{ref['external_id']}"
        assert pattern["name"] == atlas.get(ref["external_id"]).name
        external[pattern["id"]] = ref["external_id"]
    assert sorted(external.values()) == sorted(["AML.T0024.002", "AML.T0040", "AML.T0008.005"])
    (camp,) = _of_type(objects, "campaign")
    rels = _of_type(objects, "relationship")
    assert {r["relationship_type"] for r in rels} == {"uses"}
    assert {r["source_ref"] for r in rels} == {camp["id"]}
    assert {r["target_ref"] for r in rels} == set(patterns)


def test_never_shares_prompts_accounts_ips_or_cards(bundle_text, secrets):
    lowered = bundle_text.lower()
    leaked = [value for value in secrets.all() if value.lower() in lowered]
    assert leaked == []
    # nor pieces of the prompts (a truncated prompt would leak too)
    for prompt in secrets.prompts:
        assert prompt[:40].lower() not in lowered


def test_ids_are_deterministic(scan_result):
    first = build_bundle(scan_result, org_name="acme-ai")
    assert build_bundle(scan_result, org_name="acme-ai") == first
    ids = {o["id"] for o in _objects(first)}
    other_org = {o["id"] for o in _objects(build_bundle(scan_result, org_name="other-ai"))}
    # only the fixed TLP marking is shared between organizations
    assert ids & other_org == {AMBER}


def test_campaign_id_is_stable_when_evidence_grows(scan_result):
    before = _of_type(_objects(build_bundle(scan_result, org_name="acme-ai")), "campaign")[0]
    camp = next(c for c in scan_result.campaigns if c.campaign_id == "cmp-0001")
    camp.last_seen += timedelta(days=1)
    camp.n_requests += 1000
    scan_result.campaigns.append(
        CampaignVerdict("cmp-0003", ["x-1"], 5, 0.99, True, camp.first_seen, camp.first_seen)
    )
    after = _of_type(_objects(build_bundle(scan_result, org_name="acme-ai")), "campaign")
    updated = next(c for c in after if c["name"] == before["name"])
    assert updated["id"] == before["id"] and updated["created"] == before["created"]
    assert updated["modified"] > before["modified"]
    assert len(after) == 2


def test_no_flagged_campaign_is_still_a_valid_bundle(scan_result, empty_result):
    for result in (empty_result, scan_result):
        for camp in result.campaigns:
            camp.flagged = False
        parsed = stix2.parse(build_bundle(result, org_name="acme-ai"), allow_custom=False)
        assert sorted(o.type for o in parsed.objects) == ["identity", "marking-definition"]


def test_tlp_level_is_selectable(scan_result):
    objects = _objects(build_bundle(scan_result, org_name="acme-ai", tlp_level="TLP:GREEN"))
    (marking,) = _of_type(objects, "marking-definition")
    assert marking["id"] == GREEN and marking["name"] == "TLP:GREEN"
    assert all(o.get("object_marking_refs", [GREEN]) == [GREEN] for o in objects)


def test_all_tlp2_levels_parse():
    for level in tlp.MARKING_IDS:
        parsed = stix2.parse(tlp.marking_object(level), allow_custom=False)
        assert parsed.id == tlp.MARKING_IDS[level]


@pytest.mark.parametrize("bad", ["white", "TLP:PURPLE", ""])
def test_unknown_tlp_level_is_a_usage_error(scan_result, bad):
    with pytest.raises(UsageError, match="TLP"):
        build_bundle(scan_result, org_name="acme-ai", tlp_level=bad)


def test_empty_org_name_is_a_usage_error(scan_result):
    with pytest.raises(UsageError, match="organization"):
        build_bundle(scan_result, org_name="  ")


def test_inconsistent_campaign_is_an_output_error(scan_result):
    camp = next(c for c in scan_result.campaigns if c.campaign_id == "cmp-0001")
    camp.last_seen = camp.first_seen - timedelta(days=1)
    with pytest.raises(OutputError, match=r"cannot build intel\.json"):
        build_bundle(scan_result, org_name="acme-ai")

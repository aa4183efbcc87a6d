"""intel build: the published bundle is valid STIX 2.1, marked, keyed and leaks nothing."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pytest
import stix2
from stix2patterns.validator import run_validator
from tests.intel.conftest_publish import (
    CAMPAIGN_IDS,
    HEAVY_HEAD,
    HOSTING_PREFIX,
    KEY,
    NOW,
    OTHER_KEY,
    PAYMENT,
    RESIDENTIAL_IP,
    RESIDENTIAL_V6,
    RING,
    SECRETS,
    SHARED_TAIL,
    campaign_entry,
    campaigns_doc,
    load_schema,
    schema_errors,
    write_scan,
)

from distillwatch.errors import IntelError, UsageError
from distillwatch.intel import extensions as ext
from distillwatch.intel.bundle import build_bundle, load_campaigns
from distillwatch.intel.fingerprints import part_digest, sketches, value_digest
from distillwatch.intel.keys import Keyring
from distillwatch.intel.vocab import EXTENSIONS, PROJECT_IDENTITY, SCO_PROPERTIES
from distillwatch.outputs.ids import campaign_pseudonym, stable_uuid
from distillwatch.outputs.tlp import marking_id

AMBER, CLEAR = marking_id("amber"), marking_id("clear")
ORG = "Acme AI"


@pytest.fixture
def scan_dir(tmp_path):
    return write_scan(tmp_path / "scan")


@pytest.fixture
def text(scan_dir):
    return build_bundle(scan_dir, org_name=ORG, keyring=RING, now=NOW)


def objects(text: str) -> list[dict]:
    return json.loads(text)["objects"]


def of_type(text: str, kind: str) -> list[dict]:
    return [o for o in objects(text) if o["type"] == kind]


def by_id(text: str) -> dict[str, dict]:
    return {o["id"]: o for o in objects(text)}


def test_every_object_parses_as_stix21_and_every_pattern_validates(text):
    bundle = stix2.parse(text, allow_custom=True)
    assert bundle.type == "bundle" and len(bundle.objects) == len(objects(text))
    for obj in objects(text):
        stix2.parse(obj, allow_custom=True)
        if obj["type"] == "indicator":
            assert obj["pattern_type"] == "stix"
            assert run_validator(obj["pattern"], stix_version="2.1") == [], obj["pattern"]
    counts = Counter(o["type"] for o in objects(text))
    assert counts["campaign"] == 3  # the unflagged campaign is not published
    assert counts["intrusion-set"] == 2  # actor-77 runs two campaigns
    assert counts["extension-definition"] == 3
    assert counts["llm-prompt-fingerprint"] == 2  # shared tail + heavy head
    # templates 2 + payment 1 + residential 2 + hosting range 1
    assert counts["indicator"] == 6


def test_standard_objects_parse_strictly(text):
    # what a strict consumer (or the hub) sees: only our own SCOs need allow_custom
    custom = 0
    for obj in objects(text):
        if obj["type"] in SCO_PROPERTIES:
            custom += 1
            continue
        stix2.parse(obj, allow_custom=False)
    assert custom == 5


def test_references_resolve_inside_the_bundle(text):
    ids = set(by_id(text))
    for obj in objects(text):
        refs = [obj.get("created_by_ref"), obj.get("source_ref"), obj.get("target_ref")]
        refs += obj.get("object_marking_refs", [])
        for ref in filter(None, refs):
            if ref == PROJECT_IDENTITY:
                continue  # the extension definitions' author, the distillwatch project
            assert ref in ids, (obj["id"], ref)


def test_tlp_marking_and_publisher_on_every_object(text):
    identity_id = "identity--" + stable_uuid("identity", ORG)
    for obj in objects(text):
        kind = obj["type"]
        if kind == "marking-definition":
            assert obj["id"] in (AMBER, CLEAR)
            continue
        if kind == "extension-definition":  # shipped, public, identical for every provider
            assert obj["object_marking_refs"] == [CLEAR]
            assert obj["created_by_ref"] == PROJECT_IDENTITY
            continue
        assert obj["object_marking_refs"] == [AMBER], obj["id"]
        if kind in SCO_PROPERTIES or kind in ("autonomous-system", "ipv4-addr", "ipv6-addr"):
            assert "created_by_ref" not in obj  # SCOs have no author in STIX 2.1
        else:
            assert obj["created_by_ref"] == identity_id, obj["id"]
            assert obj["spec_version"] == "2.1"


def test_green_level_marks_everything_green(scan_dir):
    green = build_bundle(scan_dir, org_name=ORG, keyring=RING, tlp_level="TLP:GREEN", now=NOW)
    marks = {
        tuple(o["object_marking_refs"])
        for o in objects(green)
        if o["type"] not in ("marking-definition", "extension-definition")
    }
    assert marks == {(marking_id("green"),)}


@pytest.mark.parametrize("level", ["red", "TLP:RED", "purple"])
def test_red_and_unknown_levels_are_refused(scan_dir, level):
    with pytest.raises(UsageError) as err:
        build_bundle(scan_dir, org_name=ORG, keyring=RING, tlp_level=level, now=NOW)
    assert "\n" not in str(err.value)


def test_nothing_private_is_in_the_bundle(text):
    assert HOSTING_PREFIX in text  # hosting ranges are shared plainly ...
    assert "14061" in text and "3320" in text  # ... and so are ASNs
    lowered = text.lower()
    for secret in SECRETS:
        assert secret.lower() not in lowered, secret


def test_digests_are_recomputable_with_the_key(text):
    patterns = [o["pattern"] for o in of_type(text, "indicator")]
    digest = part_digest(KEY, "tail", SHARED_TAIL)
    assert ext.fingerprint_pattern("tail", digest, KEY.key_id) in patterns
    assert ext.fingerprint_pattern("head", part_digest(KEY, "head", HEAVY_HEAD), KEY.key_id) in (
        patterns
    )
    expected = [
        ("payment-fingerprint", PAYMENT),
        ("ip-address", RESIDENTIAL_IP),
        ("ip-prefix", "2a02:8108:1234:5678::/64"),
    ]
    for kind, value in expected:
        pattern = ext.keyed_digest_pattern(kind, value_digest(KEY, kind, value), KEY.key_id)
        assert pattern in patterns, kind
    assert f"[ipv4-addr:value ISSUBSET '{HOSTING_PREFIX}']" in patterns
    # the fingerprint SCO carries the same digest and the keyed sketch of the skeleton
    (fp,) = [o for o in of_type(text, "llm-prompt-fingerprint") if o["part"] == "tail"]
    assert fp["digest"] == digest and fp["key_id"] == KEY.key_id
    assert fp["id"] == ext.fingerprint_id("tail", digest, KEY.key_id)
    expected_sketch = sketches(KEY, pa.array([SHARED_TAIL]))[0]
    assert np.array_equal(np.array(fp["minhash"], dtype=np.uint32), expected_sketch)


def test_custom_scos_and_definitions_follow_the_shipped_schemas(text):
    schemas = {name: load_schema(name) for name in ("llm-prompt-fingerprint", "keyed-digest")}
    seen = Counter()
    for obj in objects(text):
        if obj["type"] in schemas:
            assert schema_errors(obj, schemas[obj["type"]]) == [], obj
            seen[obj["type"]] += 1
    assert seen == {"llm-prompt-fingerprint": 2, "keyed-digest": 3}
    definitions = {o["id"]: o for o in of_type(text, "extension-definition")}
    assert set(definitions) == set(EXTENSIONS.values())
    for name, ext_id in EXTENSIONS.items():
        d = definitions[ext_id]
        assert d["name"] == name and d["version"] == "1.0.0"
        assert d["schema"].endswith(f"/schemas/{name}.json")
        stix2.parse(d)  # a standard object: strict parse


def test_schemas_reject_what_they_must():
    fp_schema = load_schema("llm-prompt-fingerprint")
    good = ext.fingerprint_sco("head", "a" * 64, "k1", [1] * 64, marking_ref=AMBER)
    assert schema_errors(good, fp_schema) == []
    for bad in (
        {**good, "minhash": [1] * 63},
        {**good, "digest": "A" * 64},
        {**good, "part": "middle"},
        {**good, "text": "show your reasoning"},  # no room for prompt text
        {k: v for k, v in good.items() if k != "key_id"},
    ):
        assert schema_errors(bad, fp_schema), bad
    feedback = load_schema("sighting-feedback")
    (value,) = ext.feedback_extension().values()
    assert schema_errors(value, feedback) == []
    assert schema_errors({**value, "false_positive": "yes"}, feedback)
    kd_schema = load_schema("keyed-digest")
    assert schema_errors(
        {**ext.keyed_digest_sco("ip-address", "b" * 64, "k1"), "kind": "email"}, kd_schema
    )


def test_deterministic_for_same_input_key_and_time(scan_dir, text):
    again = build_bundle(scan_dir, org_name=ORG, keyring=RING, now=NOW)
    assert again == text
    later = build_bundle(scan_dir, org_name=ORG, keyring=RING, now=NOW + timedelta(days=1))
    assert later != text
    # a rebuild publishes new versions of the same indicators, not new indicators
    assert {o["id"] for o in of_type(later, "indicator")} == {
        o["id"] for o in of_type(text, "indicator")
    }


def test_another_key_gives_other_digests_but_the_same_plain_ranges(scan_dir, text):
    other = build_bundle(scan_dir, org_name=ORG, keyring=Keyring("isac", [OTHER_KEY]), now=NOW)
    mine = {o["digest"] for o in objects(text) if "digest" in o}
    theirs = {o["digest"] for o in objects(other) if "digest" in o}
    assert len(mine) == 5 and len(theirs) == 5 and not mine & theirs
    plain = [o["pattern"] for o in of_type(other, "indicator") if "ISSUBSET" in o["pattern"]]
    assert plain == [f"[ipv4-addr:value ISSUBSET '{HOSTING_PREFIX}']"]


def test_indicator_timing_confidence_and_links(text):
    ids = by_id(text)
    indicates = {
        o["source_ref"]: o["target_ref"]
        for o in of_type(text, "relationship")
        if o["relationship_type"] == "indicates"
    }
    main_campaign = "campaign--" + stable_uuid("campaign", ORG, CAMPAIGN_IDS[0])
    for ind in of_type(text, "indicator"):
        assert ind["valid_from"] == "2026-11-10T12:00:00Z"
        assert ind["valid_until"] == "2026-12-10T12:00:00Z"  # 30 days
        assert ind["confidence"] == 100  # risk 0.998
        assert ind["indicator_types"] == ["malicious-activity"]
        assert indicates[ind["id"]] == main_campaign
    camp = ids[main_campaign]
    assert camp["name"] == campaign_pseudonym(CAMPAIGN_IDS[0], ORG)
    assert camp["description"].startswith("Suspected adversarial distillation campaign: 3 accounts")
    uses = [
        ids[o["target_ref"]]
        for o in of_type(text, "relationship")
        if o["relationship_type"] == "uses" and o["source_ref"] == main_campaign
    ]
    atlas = sorted(
        u["external_references"][0]["external_id"] for u in uses if u["type"] == "attack-pattern"
    )
    assert atlas == ["AML.T0024.002", "AML.T0040"]  # AML.T9999 is not in the catalog
    infra = {u["infrastructure_types"][0]: u for u in uses if u["type"] == "infrastructure"}
    assert set(infra) == {"anonymization", "unknown"}
    members = {
        infra_type: sorted(
            ids[o["target_ref"]]["type"]
            for o in of_type(text, "relationship")
            if o["relationship_type"] == "consists-of" and o["source_ref"] == i["id"]
        )
        for infra_type, i in infra.items()
    }
    assert members == {
        "anonymization": ["autonomous-system"],  # residential IPs: keyed digests only
        "unknown": ["autonomous-system", "ipv4-addr"],
    }


def test_one_intrusion_set_per_actor(text):
    sets = of_type(text, "intrusion-set")
    attributed = Counter(
        o["target_ref"]
        for o in of_type(text, "relationship")
        if o["relationship_type"] == "attributed-to"
    )
    assert sorted(attributed.values()) == [1, 2]
    actor = next(s for s in sets if attributed[s["id"]] == 2)
    assert actor["name"].startswith("DW-ACTOR-")
    assert actor["first_seen"] == "2026-11-02T01:00:00Z"
    assert actor["last_seen"] == "2026-11-09T00:00:00Z"


def test_keyed_indicators_never_outlive_their_key(tmp_path):
    short = type(KEY)(KEY.key_id, KEY.secret, KEY.valid_from, NOW + timedelta(days=10))
    scan = write_scan(tmp_path / "s")
    text = build_bundle(scan, org_name=ORG, keyring=Keyring("isac", [short]), now=NOW)
    until = {"ISSUBSET" in o["pattern"]: o["valid_until"] for o in of_type(text, "indicator")}
    assert until == {True: "2026-12-10T12:00:00Z", False: "2026-11-20T12:00:00Z"}


def test_template_selection(tmp_path):
    doc = campaigns_doc()
    doc["campaigns"] = [
        campaign_entry(
            "C-x",
            n_requests=100,
            templates=[
                {
                    "part": "head",
                    "skeleton": "two accounts use me",
                    "n_accounts": 2,
                    "n_requests": 2,
                },
                {
                    "part": "head",
                    "skeleton": "one account heavy",
                    "n_accounts": 1,
                    "n_requests": 20,
                },
                {
                    "part": "head",
                    "skeleton": "one account light",
                    "n_accounts": 1,
                    "n_requests": 19,
                },
                {"part": "tail", "skeleton": "<c> <v> <u>", "n_accounts": 9, "n_requests": 90},
                {
                    "part": "head",
                    "skeleton": "a corpus task many honest users ask",
                    "n_accounts": 3,
                    "n_requests": 30,
                    "n_accounts_input": 5,
                },
                {
                    "part": "tail",
                    "skeleton": "mostly this campaign",
                    "n_accounts": 3,
                    "n_requests": 30,
                    "n_accounts_input": 4,
                    "n_variants": 12,
                },
                {
                    "part": "head",
                    "skeleton": "a dataset task wrapped by one wrapper",
                    "n_accounts": 3,
                    "n_requests": 30,
                    "n_accounts_input": 3,
                    "n_variants": 1,
                },
            ],
        )
    ]
    text = build_bundle(write_scan(tmp_path / "s", doc), org_name=ORG, keyring=RING, now=NOW)
    shared = {(o["part"], o["digest"]) for o in of_type(text, "llm-prompt-fingerprint")}
    assert shared == {
        ("head", part_digest(KEY, "head", "two accounts use me")),
        ("head", part_digest(KEY, "head", "one account heavy")),
        ("tail", part_digest(KEY, "tail", "mostly this campaign")),
    }


def test_empty_scan_gives_a_valid_bundle_without_indicators(tmp_path):
    doc = {"format": "distillwatch-campaigns/1", "campaigns": []}
    text = build_bundle(write_scan(tmp_path / "s", doc), org_name=ORG, keyring=RING, now=NOW)
    stix2.parse(text, allow_custom=True)
    assert not of_type(text, "indicator") and len(of_type(text, "identity")) == 1


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.update(format="other/1"), "not distillwatch-campaigns/1"),
        (lambda d: d["campaigns"][0].update(risk=1.5), "risk must be in [0, 1]"),
        (lambda d: d["campaigns"][0].pop("first_seen"), "lacks 'first_seen'"),
        (lambda d: d["campaigns"][0].update(flagged="yes"), "flagged has the wrong type"),
        (
            lambda d: d["campaigns"][0]["infrastructure"].append(
                {"kind": "ip-address", "value": "not-an-ip", "hosting": False, "n_accounts": 1}
            ),
            "not an IP address",
        ),
    ],
)
def test_bad_campaigns_json_is_one_intel_error(tmp_path, mutate, needle):
    doc = campaigns_doc()
    mutate(doc)
    with pytest.raises(IntelError) as err:
        load_campaigns(write_scan(tmp_path / "s", doc))
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_missing_campaigns_json(tmp_path):
    with pytest.raises(IntelError, match=r"campaigns\.json not found"):
        build_bundle(tmp_path, org_name=ORG, keyring=RING, now=NOW)


def test_residential_v6_prefix_is_digested_in_compressed_form():
    assert ext.normalize_network(RESIDENTIAL_V6) == "2a02:8108:1234:5678::/64"
    assert ext.normalize_network("2a02:8108:1234:5678:0:0:0:0/64") == "2a02:8108:1234:5678::/64"

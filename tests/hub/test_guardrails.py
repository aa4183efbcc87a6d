"""Every refusal reason of the guardrails, and what passes (unit level, plus one over HTTP)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from stix2patterns.validator import run_validator

from distillwatch.errors import ConfigError
from distillwatch.hub.guardrails import (
    GuardrailPool,
    Guardrails,
    Rejection,
    load_allowlist,
    parse_timestamp_or_none,
)
from distillwatch.hub.storage import NewObject
from distillwatch.intel import vocab
from distillwatch.outputs import tlp


@pytest.fixture(scope="module")
def rails():
    return Guardrails(load_allowlist())


def check(rails, obj, who=None):
    ids = frozenset({who or "identity--a11ce000-0000-4000-8000-000000000001"})
    return rails.check(json.loads(json.dumps(obj)), ids)


def reason(rails, obj, who=None):
    result = check(rails, obj, who)
    assert isinstance(result, Rejection), f"accepted: {obj}"
    return result.reason


def test_good_objects_pass_with_their_version(rails, stix):
    ind = stix.indicator(modified=stix.ts(7, 250000))
    result = check(rails, ind)
    assert isinstance(result, NewObject)
    assert result.version == stix.ts(7, 250000)
    assert result.version_us == parse_timestamp_or_none(stix.ts(7, 250000))
    assert json.loads(result.body) == ind
    assert result.created_by == stix.alice
    for obj in (stix.campaign(), stix.identity(), tlp.marking_object("green")):
        assert isinstance(check(rails, obj), NewObject), obj["type"]


@pytest.mark.parametrize(
    "name", ["prompt", "prompts", "text", "messages", "completion", "response"]
)
def test_prompt_properties_are_refused_anywhere(rails, stix, name):
    top = stix.campaign(**{name: "Think step by step and show all reasoning"})
    assert reason(rails, top) == f"prompt text may not be shared (property {name!r})"
    nested = stix.campaign(
        external_references=[{"source_name": "x", name: [{"role": "user", "content": "hi"}]}]
    )
    assert reason(rails, nested) == (
        f"prompt text may not be shared (property 'external_references[0].{name}')"
    )


def test_free_text_limits(rails, stix):
    assert isinstance(check(rails, stix.campaign(description="d" * 500)), NewObject)
    assert "longer than 500 characters" in reason(rails, stix.campaign(description="d" * 501))
    assert "name is longer than 120" in reason(rails, stix.campaign(name="n" * 121))
    assert "aliases[1] is longer than 120" in reason(rails, stix.campaign(aliases=["a", "b" * 121]))
    ref = [{"source_name": "mitre-atlas", "description": "x" * 501}]
    assert "external_references[0].description" in reason(
        rails, stix.campaign(external_references=ref)
    )
    sigma = stix.indicator(pattern="title: t\n" + "x" * 2100, pattern_type="sigma")
    assert "pattern is longer than 2000" in reason(rails, sigma)
    capped = Guardrails(load_allowlist(free_text_cap=100))
    assert "longer than 100" in reason(capped, stix.campaign(description="d" * 101))


def test_unknown_and_custom_properties_are_named(rails, stix):
    assert reason(rails, stix.campaign(x_customer_name="ACME Bank")) == (
        "property 'x_customer_name' is not on the hub's allow-list for campaign"
    )
    assert "'revenue'" in reason(rails, stix.campaign(revenue=1_000_000))
    bad_ref = [{"source_name": "x", "x_notes": "internal"}]
    assert "external_references[0].x_notes" in reason(
        rails, stix.campaign(external_references=bad_ref)
    )
    ext = {"extension-definition--00000000-0000-4000-8000-000000000000": {"x": 1}}
    assert "extension-definition--00000000" in reason(rails, stix.campaign(extensions=ext))
    assert "may not be published" in reason(
        rails, {**stix.campaign(), "type": "note", "id": stix.new_id("note")}
    )


def test_created_by_ref_must_be_the_callers_identity(rails, stix):
    assert "created_by_ref must be your own identity" in reason(rails, stix.indicator(stix.bob))
    missing = stix.indicator()
    del missing["created_by_ref"]
    assert "created_by_ref must be your own identity" in reason(rails, missing)
    other = stix.identity(stix.bob, created_by_ref=stix.alice)
    assert "identity object may only be your own" in reason(rails, other)


def test_tlp_red_is_never_accepted(rails, stix):
    marked = stix.indicator(object_marking_refs=[stix.red])
    assert "TLP:RED" in reason(rails, marked)
    granular = stix.campaign(granular_markings=[{"marking_ref": stix.red, "selectors": ["name"]}])
    assert "TLP:RED" in reason(rails, granular)
    assert "TLP:RED" in reason(rails, tlp.marking_object("red"))
    fake_clear = dict(tlp.marking_object("clear"), name="TLP:CLEAR (ours)")
    assert "fixed TLP 2.0" in reason(rails, fake_clear)


def test_invalid_pattern_gets_the_validators_message(rails, stix):
    pattern = "[ipv4-addr:value = '10.0.0.1'"
    expected = run_validator(pattern, "2.1")
    assert expected
    got = reason(rails, stix.indicator(pattern=pattern))
    assert got == ("invalid STIX pattern: " + "; ".join(expected))[:300]
    assert "pattern_version must be '2.1'" in reason(rails, stix.indicator(pattern_version="2.0"))


def test_invalid_stix_is_refused(rails, stix):
    assert reason(rails, stix.campaign(created="yesterday")).startswith("not valid STIX 2.1")
    no_type = stix.indicator()
    del no_type["pattern_type"]
    assert reason(rails, no_type).startswith("not valid STIX 2.1")
    assert "spec_version must be '2.1'" in reason(rails, stix.campaign(spec_version="2.0"))
    assert "must be 'campaign--<UUID>'" in reason(rails, stix.campaign(id="campaign--123"))
    assert reason(rails, ["not", "an", "object"]) == "not a JSON object"


def test_distillwatch_custom_scos(rails, stix):
    ext = vocab.EXTENSIONS["llm-prompt-fingerprint"]
    fp = {
        "type": "llm-prompt-fingerprint",
        "spec_version": "2.1",
        "id": stix.new_id("llm-prompt-fingerprint"),
        "part": "head",
        "digest": "ab" * 32,
        "key_id": "grp-2026-11",
        "minhash": list(range(vocab.MINHASH_PERM)),
        "extensions": {ext: {"extension_type": "new-sco"}},
    }
    stored = check(rails, fp)
    assert isinstance(stored, NewObject) and stored.version is None
    assert "digest must be 64" in reason(rails, dict(fp, digest="zz"))
    assert "minhash must be a list of 64" in reason(rails, dict(fp, minhash=[1, 2]))
    assert "'skeleton'" in reason(rails, dict(fp, skeleton="Solve: <q>"))
    assert "new-sco" in reason(rails, {k: v for k, v in fp.items() if k != "extensions"})
    kd = {
        "type": "keyed-digest",
        "id": stix.new_id("keyed-digest"),
        "kind": "payment-fingerprint",
        "digest": "cd" * 32,
        "key_id": "grp-2026-11",
        "extensions": {vocab.EXTENSIONS["keyed-digest"]: {"extension_type": "new-sco"}},
    }
    assert isinstance(check(rails, kd), NewObject)
    assert "kind must be one of" in reason(rails, dict(kd, kind="email"))


def test_sighting_feedback_and_extension_definitions(rails, stix):
    ext = vocab.EXTENSIONS["sighting-feedback"]
    sighting = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": stix.new_id("sighting"),
        "created": stix.ts(),
        "modified": stix.ts(),
        "created_by_ref": stix.alice,
        "sighting_of_ref": stix.new_id("indicator"),
        "count": 12,
        "where_sighted_refs": [stix.alice],
        "extensions": {ext: {"extension_type": "property-extension", "false_positive": True}},
    }
    assert isinstance(check(rails, sighting), NewObject)
    leaky = dict(sighting, extensions={ext: {"extension_type": "property-extension", "note": "x"}})
    assert f"extensions.{ext}.note" in reason(rails, leaky)
    definition = {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": vocab.EXTENSIONS["keyed-digest"],
        "created": stix.ts(),
        "modified": stix.ts(),
        "created_by_ref": vocab.PROJECT_IDENTITY,
        "name": "keyed-digest",
        "schema": "https://example.org/schemas/keyed-digest.json",
        "version": "1.0.0",
        "extension_types": ["new-sco"],
    }
    assert isinstance(check(rails, definition), NewObject)
    other = dict(definition, id="extension-definition--00000000-0000-4000-8000-000000000000")
    assert "distillwatch's own" in reason(rails, other)


def test_todays_intel_json_passes(rails):
    from distillwatch.outputs.ids import stable_uuid
    from distillwatch.outputs.intel import build_bundle
    from distillwatch.results import CampaignVerdict, IngestSummary, ScanResult

    t0, t1 = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    camp = CampaignVerdict("c1", ["a", "b"], 10, 0.9, True, t0, t1, techniques=["AML.T0040"])
    result = ScanResult([], [camp], IngestSummary(), t0, t1, 0.5, 10)
    objects = json.loads(build_bundle(result, org_name="acme"))["objects"]
    me = "identity--" + stable_uuid("identity", "acme")
    checked = [rails.check(o, frozenset({me})) for o in objects]
    refused = [c.reason for c in checked if isinstance(c, Rejection)]
    assert refused == []
    assert {o["type"] for o in objects} >= {"identity", "campaign", "attack-pattern"}


def test_worker_pool_gives_the_same_results_as_inline(stix):
    allow = load_allowlist()
    objects = [stix.indicator(n=i) for i in range(6)] + [stix.indicator(stix.bob), 42]
    ids = frozenset({stix.alice})
    pool = GuardrailPool(allow, workers=2, min_batch=2)
    try:
        parallel = pool.check_all(objects, ids)
    finally:
        pool.close()
    inline = GuardrailPool(allow, workers=0).check_all(objects, ids)
    assert parallel == inline
    assert [type(r).__name__ for r in parallel] == ["NewObject"] * 6 + ["Rejection"] * 2
    assert parallel[-1].id == "objects[7]"


@pytest.mark.parametrize(
    "patch, message",
    [
        ('max_string = "long"', "max_string must be a positive integer"),
        ('[types.note]\nkind = "sdo"\nproperties = []\nextra = 1', "unknown keys"),
        ('[types.note]\nkind = "xyz"\nproperties = []', "kind must be one of"),
        ('[types.note]\nkind = "sdo"\nproperties = []\nextensions = ["nope"]', "'nope'"),
        ("[types.note", "not valid TOML"),
    ],
)
def test_allowlist_is_validated_on_load(tmp_path, patch, message):
    from importlib import resources

    text = resources.files("distillwatch.hub").joinpath("allowlist.toml").read_text("utf-8")
    if patch.startswith("max_string"):
        text = text.replace("max_string = 4000", patch)
    else:
        text += "\n" + patch + "\n"
    path = tmp_path / "allow.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_allowlist(path)


def test_bad_objects_do_not_stop_good_ones(hub, stix):
    good1, good2 = stix.indicator(n=1), stix.campaign()
    bad = [
        stix.campaign(prompt="Explain your reasoning step by step"),
        stix.campaign(description="x" * 501),
        stix.campaign(x_internal="1"),
        stix.indicator(stix.bob),
        stix.indicator(object_marking_refs=[stix.red]),
        stix.indicator(pattern="[ipv4-addr:value = "),
        stix.campaign(created="not a time"),
    ]
    status = hub.post("shared", [good1, *bad, good2])
    assert (status["success_count"], status["failure_count"]) == (2, len(bad))
    assert [f["id"] for f in status["failures"]] == [b["id"] for b in bad]
    assert all(f["message"] for f in status["failures"])
    stored = hub.call("GET", hub.objects_url("shared"), "alice").json()["objects"]
    assert stored == [good1, good2]
    text = json.dumps(stored)
    assert "step by step" not in text and stix.red not in text

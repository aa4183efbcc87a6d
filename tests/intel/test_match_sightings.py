"""Sightings of matched indicators and false-positive feedback: counts only, valid STIX."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import stix2
from tests.intel.conftest_match import (
    KEYRING,
    T0,
    TASKS,
    WRAPPER,
    digest_objects,
    events,
    identity,
    parts,
    range_indicator,
    sighting,
    template_objects,
    write_bundle,
)

from distillwatch.errors import UsageError
from distillwatch.intel.match import match_events
from distillwatch.intel.sightings import false_positive_sighting, sightings_bundle
from distillwatch.intel.store import load_intel
from distillwatch.intel.vocab import EXTENSIONS
from distillwatch.outputs.ids import stable_uuid
from distillwatch.outputs.tlp import marking_id

ORG = "Acme Models"
NOW = T0 + timedelta(days=2)
SECRET_TASK = "what is the melting point of zirconium-9931?"


def _matches(tmp_path):
    head = template_objects("head", parts(WRAPPER + TASKS[0])[0])
    pay = digest_objects("payment-fingerprint", "card_secret_4242")
    hosting = range_indicator("198.51.100.0/24")
    write_bundle(tmp_path / "intel", "c/1.json", [identity(), *head, *pay, hosting])
    intel = load_intel(tmp_path / "intel", at=T0 + timedelta(days=1))
    ev = events(
        [
            {
                "account_id": "acct_customer_831",
                "prompt": WRAPPER + SECRET_TASK,
                "ip": "198.51.100.77",
                "payment_fingerprint": "card_secret_4242",
            },
            {"account_id": "acct_customer_831", "prompt": WRAPPER + TASKS[2], "ip": "81.9.9.9"},
        ]
    )
    return match_events(ev, intel, KEYRING), [head[0], pay[0], hosting]


def test_sightings_carry_counts_and_times_and_nothing_raw(tmp_path):
    matches, indicators = _matches(tmp_path)
    text = sightings_bundle(matches, org_name=ORG, tlp_level="amber", now=NOW)
    for raw in ("acct_customer_831", "198.51.100.77", "81.9.9.9", "card_secret_4242", "zirconium"):
        assert raw not in text
    bundle = stix2.parse(text, allow_custom=True)
    sightings = [o for o in bundle.objects if o.type == "sighting"]
    assert {s.sighting_of_ref for s in sightings} == {i["id"] for i in indicators}
    own = "identity--" + stable_uuid("identity", ORG)
    by_ref = {s.sighting_of_ref: s for s in sightings}
    head = by_ref[indicators[0]["id"]]
    assert head.count == 2 and head.first_seen == T0 and head.last_seen == T0 + timedelta(minutes=1)
    assert by_ref[indicators[1]["id"]].count == 1
    for s in sightings:
        assert s.created_by_ref == own and s.where_sighted_refs == [own]
        assert s.object_marking_refs == [marking_id("amber")]
    assert {o.type for o in bundle.objects} == {"identity", "marking-definition", "sighting"}


def test_same_window_gives_the_same_sighting_ids(tmp_path):
    matches, _ = _matches(tmp_path)
    ids = [
        sorted(
            o["id"]
            for o in json.loads(sightings_bundle(matches, org_name=ORG, tlp_level="green", now=t))[
                "objects"
            ]
            if o["type"] == "sighting"
        )
        for t in (NOW, NOW + timedelta(hours=3))
    ]
    assert ids[0] == ids[1] and len(ids[0]) == 3


def test_tlp_red_and_empty_org_are_refused(tmp_path):
    matches, _ = _matches(tmp_path)
    with pytest.raises(UsageError, match="TLP:RED"):
        sightings_bundle(matches, org_name=ORG, tlp_level="red", now=NOW)
    with pytest.raises(UsageError, match="organization"):
        sightings_bundle(matches, org_name=" ", tlp_level="amber", now=NOW)


def test_false_positive_sighting_carries_the_extension_and_renews_nothing(tmp_path):
    ind = range_indicator("203.0.113.0/24", valid_from=T0 - timedelta(days=40))
    fp = false_positive_sighting(
        ind["id"],
        org_name=ORG,
        count=7,
        first_seen=T0 - timedelta(days=20),
        last_seen=T0 - timedelta(days=15),
        tlp_level="amber",
        now=NOW,
    )
    ext = fp["extensions"][EXTENSIONS["sighting-feedback"]]
    assert ext == {"extension_type": "property-extension", "false_positive": True}
    assert fp["sighting_of_ref"] == ind["id"] and fp["count"] == 7
    assert stix2.parse(fp, allow_custom=True).type == "sighting"
    # stored next to the expired indicator, a dismissal does not renew it; a sighting would
    write_bundle(tmp_path, "c/1.json", [ind, fp])
    assert len(load_intel(tmp_path, at=T0)) == 0
    write_bundle(tmp_path, "c/2.json", [sighting(ind["id"], T0 - timedelta(days=15))])
    assert len(load_intel(tmp_path, at=T0)) == 1


def test_false_positive_arguments_are_checked():
    with pytest.raises(UsageError, match="not an indicator id"):
        false_positive_sighting(
            "campaign--x",
            org_name=ORG,
            count=None,
            first_seen=None,
            last_seen=None,
            tlp_level="amber",
            now=NOW,
        )
    with pytest.raises(UsageError, match="before"):
        false_positive_sighting(
            "indicator--0b1c2d3e-0000-4000-8000-000000000001",
            org_name=ORG,
            count=1,
            first_seen=NOW,
            last_seen=NOW - timedelta(days=1),
            tlp_level="amber",
            now=NOW,
        )

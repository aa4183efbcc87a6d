"""The report's share preview and prompt redaction, on small hand-built results."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from distillwatch.intel.keys import GroupKey, Keyring
from distillwatch.outputs.report import render_report
from distillwatch.outputs.share_preview import (
    PREVIEW_KEY_ID,
    bundle_objects,
    mask_keyed,
    preview_keyring,
    share_preview,
)
from distillwatch.results import (
    AccountVerdict,
    CampaignVerdict,
    InfraUse,
    IngestSummary,
    LinkEvidence,
    ScanResult,
    SignalHit,
    TemplateUse,
    ValueUse,
)

T0 = datetime(2026, 3, 2, tzinfo=UTC)
T1 = T0 + timedelta(days=2)
ACCOUNTS = [f"acct-{k:03d}" for k in range(6)]
PROMPTS = [
    "Solve step by step and show every intermediate reasoning step: integrate x^2 sin(x) dx",
    "Grade this answer on a 1-10 rubric and explain each point you took off: PROMPT-MARK-55",
]
SKELETON = "solve step by step and show every intermediate reasoning step: <v>"
CARD = "pf_secret_card_77"
RESIDENTIAL = "198.51.100.0/24"
PRE = re.compile(r'<pre class="stix">(.*?)</pre>', re.DOTALL)


def _result() -> ScanResult:
    camp = CampaignVerdict(
        "cmp-share-1",
        ACCOUNTS,
        600,
        0.93,
        True,
        T0,
        T1,
        hits=[SignalHit("reasoning_harvest", 0.9, 2.0, {}, "")],
        links=[LinkEvidence("template", "template head: " + SKELETON, 6, 6, 1.0, tuple(ACCOUNTS))],
        techniques=["AML.T0024.002", "AML.T0040"],
        sample_prompts=list(PROMPTS),
        templates=[TemplateUse("head", SKELETON, 6, 500, 6, 12)],
        infrastructure=[
            InfraUse("ip-prefix", RESIDENTIAL, False, 4),
            InfraUse("asn", "64500", True, 2),
            InfraUse("ip-prefix", "203.0.113.0/24", True, 2),
        ],
        payment_fingerprints=[ValueUse(CARD, 6)],
    )
    quiet = CampaignVerdict("cmp-quiet", ["acct-900", "acct-901"], 20, 0.2, False, T0, T1)
    accounts = [AccountVerdict(a, 0.9, True, 100, T0, T1, "cmp-share-1") for a in ACCOUNTS]
    accounts += [AccountVerdict(a, 0.2, False, 10, T0, T1, "cmp-quiet") for a in quiet.account_ids]
    return ScanResult(accounts, [camp, quiet], IngestSummary(), T0, T1, 0.5, 620)


@pytest.fixture(scope="module")
def preview():
    return share_preview(_result(), org_name="acme")


def test_preview_holds_the_campaigns_objects(preview):
    assert preview.error == ""
    assert list(preview.objects) == ["cmp-share-1"]  # flagged campaigns only
    types = {o["type"] for o in preview.objects["cmp-share-1"]}
    assert {"campaign", "intrusion-set", "attack-pattern", "indicator", "relationship"} <= types
    assert {"keyed-digest", "llm-prompt-fingerprint", "autonomous-system", "ipv4-addr"} <= types
    assert not types & {"identity", "marking-definition", "extension-definition"}
    assert "placeholders" in preview.note


def test_preview_matches_the_real_bundle_object_for_object():
    """Unmasked, the split holds exactly the bundle's non-common objects, each once."""
    objects = bundle_objects(_result(), org_name="acme", keyring=preview_keyring(), now=T1)
    real = share_preview(_result(), org_name="acme", keyring=preview_keyring(), now=T1)
    (mine,) = real.objects.values()
    common = {"identity", "marking-definition", "extension-definition"}
    assert mine == [o for o in objects if o["type"] not in common]


def test_preview_masks_every_keyed_value():
    result = _result()
    builds = [
        bundle_objects(result, org_name="acme", keyring=preview_keyring(secret), now=T1)
        for secret in (bytes(32), b"\x07" * 32)
    ]
    assert builds[0] != builds[1]  # the key changes digests, sketches and derived ids
    masked = [mask_keyed(b, PREVIEW_KEY_ID) for b in builds]
    assert masked[0] == masked[1]  # ... and the masking leaves nothing key-dependent
    text = json.dumps(masked[0])
    assert "<keyed digest 1>" in text and "<keyed MinHash sketch of" in text
    assert PREVIEW_KEY_ID not in text and not re.search(r"\b[0-9a-f]{64}\b", text)


def test_preview_json_in_the_page_parses_and_leaks_nothing(preview):
    page = render_report(_result(), org_name="acme")
    (block,) = PRE.findall(page)
    shown = json.loads(html.unescape(block))
    assert shown == preview.objects["cmp-share-1"]
    text = json.dumps(shown)
    for secret in [*PROMPTS, SKELETON, CARD, RESIDENTIAL, "cmp-share-1", *ACCOUNTS]:
        assert secret not in text
    assert "solve step by step" not in text.lower()
    assert "203.0.113.0/24" in text  # hosting ranges are shared in the clear


def test_real_keys_give_real_digests():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    ring = Keyring("g", [GroupKey("g-2026", bytes(range(32)), t0, t0 + timedelta(days=400))])
    real = share_preview(_result(), org_name="acme", keyring=ring, now=T1)
    text = json.dumps(real.objects)
    assert "g-2026" in text and re.search(r"\b[0-9a-f]{64}\b", text)
    assert "<keyed" not in text


def test_limited_preview_keeps_the_actors_other_campaigns():
    """Previewing only the riskiest campaign still dates its actor by all the actor's
    campaigns, as the full bundle does."""
    result = _result()
    first = result.campaigns[0]
    first.actor_id = "actor-1"
    later = replace(first, campaign_id="cmp-share-2", risk=0.8, last_seen=T1 + timedelta(days=9))
    result.campaigns.append(later)
    full = share_preview(result, org_name="acme", now=T1)
    one = share_preview(result, org_name="acme", now=T1, limit=1)
    assert list(one.objects) == ["cmp-share-1"] and len(full.objects) == 2
    assert one.objects["cmp-share-1"] == full.objects["cmp-share-1"]
    (actor,) = [o for o in one.objects["cmp-share-1"] if o["type"] == "intrusion-set"]
    assert actor["last_seen"].startswith("2026-03-13")  # from the other campaign
    page = render_report(result, org_name="acme")
    assert page.count('<pre class="stix">') == 2


def test_unflagged_campaign_says_nothing_is_shared():
    page = render_report(_result())
    assert page.count('<pre class="stix">') == 1
    assert "Not flagged: nothing about it is shared." in page


def test_broken_preview_is_a_note_not_a_crash():
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    expired = Keyring("g", [GroupKey("old", bytes(32), t0, t0 + timedelta(days=1))])
    page = render_report(_result(), share_keyring=expired)
    assert "Share preview unavailable:" in page and "no key of group" in page


# ---------------------------------------------------------------- redaction


def test_redaction_removes_every_prompt_and_template_text():
    plain = render_report(_result())
    for prompt in PROMPTS:
        assert html.escape(prompt[:60], quote=True) in plain
    assert SKELETON[:40] in plain
    page = render_report(_result(), redact_prompts=True)
    for prompt in PROMPTS:
        assert f"[prompt redacted, {len(prompt)} chars]" in page
        for start in range(0, len(prompt) - 20, 10):
            assert html.escape(prompt[start : start + 20], quote=True) not in page
    assert SKELETON[:40] not in page and "PROMPT-MARK" not in page
    assert "[template redacted," in page

"""``intel.json``: what may be shared about the flagged campaigns, as a STIX 2.1 bundle.

Contents (all built with the ``stix2`` object model, no custom content):

- one ``identity`` (organization, named *org_name*), the ``created_by_ref`` of every object
  we author (the fixed TLP object is OASIS's, so it is copied unchanged);
- the TLP 2.0 ``marking-definition`` chosen (default TLP:AMBER), referenced by every other
  object's ``object_marking_refs``;
- one ``campaign`` per flagged campaign, under a pseudonym, with ``first_seen``,
  ``last_seen`` and a description holding security counts only (accounts, requests) and
  the ids of the signals that raised its risk;
- one ``attack-pattern`` per MITRE ATLAS technique (``config/atlas.toml``) that a flagged
  campaign uses, linked by a ``uses`` relationship. Techniques missing from the catalog are
  not shared.

Never included: prompts, account ids, IPs, payment fingerprints, campaign ids, link values.
Ids are deterministic (:mod:`distillwatch.outputs.ids`); timestamps come from the data
(a campaign is ``created`` at its first_seen and ``modified`` at its last_seen), so the
same scan gives the same file byte for byte.

>>> import json
>>> from datetime import datetime
>>> from distillwatch.results import IngestSummary, ScanResult
>>> empty = ScanResult([], [], IngestSummary(), None, None, 0.5, 0)
>>> [o["type"] for o in json.loads(build_bundle(empty, org_name="acme"))["objects"]]
['identity', 'marking-definition']
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from distillwatch.errors import OutputError, UsageError
from distillwatch.outputs import ids, tlp
from distillwatch.outputs.atlas import AtlasCatalog, AtlasTechnique, load_atlas
from distillwatch.outputs.fmt import as_utc, ranked_campaigns
from distillwatch.outputs.ids import campaign_pseudonym, stable_uuid
from distillwatch.results import CampaignVerdict, ScanResult

#: created/modified of the identity object (fixed, so the identity never gets a new version)
IDENTITY_CREATED = datetime(2026, 1, 1, tzinfo=UTC)
OBJECTIVE = "Replicate the capabilities of a provider's AI model by harvesting its API outputs"


def campaign_description(campaign: CampaignVerdict) -> str:
    """The shared description: security counts and signal ids, nothing else.

    >>> from datetime import datetime
    >>> t = datetime(2026, 1, 1)
    >>> c = CampaignVerdict("c1", ["a", "b"], 10, 0.9, True, t, t)
    >>> campaign_description(c)
    'Suspected adversarial distillation campaign: 2 accounts, 10 requests.'
    """
    text = (
        "Suspected adversarial distillation campaign: "
        f"{len(campaign.account_ids)} accounts, {campaign.n_requests} requests."
    )
    signals = campaign.top_signals()
    if signals:
        text += " Signals: " + ", ".join(signals) + "."
    return text


def _pattern_id(org_name: str, tech_id: str) -> str:
    return "attack-pattern--" + stable_uuid("attack-pattern", org_name, tech_id)


def _attack_pattern(
    stix2: Any, tech: AtlasTechnique, org_name: str, updated: datetime, marks: dict[str, Any]
) -> Any:
    kwargs: dict[str, Any] = {
        "id": _pattern_id(org_name, tech.id),
        "name": tech.name,
        "external_references": [
            {"source_name": "mitre-atlas", "external_id": tech.id, "url": tech.url},
        ],
        "created": updated,
        "modified": updated,
        **marks,
    }
    if tech.description:
        kwargs["description"] = tech.description
    return stix2.AttackPattern(**kwargs)


def build_bundle(
    result: ScanResult,
    *,
    org_name: str,
    tlp_level: str = tlp.DEFAULT_LEVEL,
    atlas: AtlasCatalog | None = None,
) -> str:
    """The intel.json text (an indented STIX 2.1 bundle) for *result*.

    Raises :class:`UsageError` for an empty *org_name* or an unknown *tlp_level*, and
    :class:`OutputError` if the result cannot form valid STIX (e.g. last_seen before
    first_seen), which means an earlier stage produced an inconsistent verdict.
    """
    import stix2.v21 as stix2  # lazy: ~0.3 s to import, only needed here
    from stix2.exceptions import STIXError

    if not org_name.strip():
        raise UsageError("the organization name for intel.json is empty; pass a non-empty name")
    catalog = atlas if atlas is not None else load_atlas()
    marking = tlp.marking_object(tlp_level)
    flagged = [c for c in ranked_campaigns(result.campaigns) if c.flagged]
    try:
        objects = _objects(stix2, flagged, org_name, catalog, marking)
        bundle_id = "bundle--" + stable_uuid(
            "bundle", org_name, marking["id"], *sorted(c.campaign_id for c in flagged)
        )
        text = str(stix2.Bundle(objects=objects, id=bundle_id).serialize())
    except (STIXError, ValueError) as exc:
        raise OutputError(
            f"cannot build intel.json: {exc}; the scan result is inconsistent, please report "
            "this as a bug with the scan's accounts.csv and campaigns.csv"
        ) from exc
    # stix2's pretty=True re-sorts keys in Python and gets slow (~4 s at 300 campaigns); its
    # compact form keeps the same spec order, so indent that instead.
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def _objects(
    stix2: Any,
    flagged: list[CampaignVerdict],
    org_name: str,
    catalog: AtlasCatalog,
    marking: dict[str, Any],
) -> list[Any]:
    identity_id = ids.identity_id(org_name)
    marks: dict[str, Any] = {
        "created_by_ref": identity_id,
        "object_marking_refs": [marking["id"]],
    }
    identity = stix2.Identity(
        id=identity_id,
        name=org_name,
        identity_class="organization",
        created=IDENTITY_CREATED,
        modified=IDENTITY_CREATED,
        **marks,
    )
    campaigns: list[Any] = []
    relationships: list[Any] = []
    used: set[str] = set()
    for camp in flagged:
        first, last = as_utc(camp.first_seen), as_utc(camp.last_seen)
        camp_obj = stix2.Campaign(
            id="campaign--" + stable_uuid("campaign", org_name, camp.campaign_id),
            name=campaign_pseudonym(camp.campaign_id, org_name),
            description=campaign_description(camp),
            objective=OBJECTIVE,
            first_seen=first,
            last_seen=last,
            created=first,
            modified=last,
            **marks,
        )
        campaigns.append(camp_obj)
        for tech_id in dict.fromkeys(camp.techniques):
            tech = catalog.get(tech_id)
            if tech is None:
                continue
            used.add(tech.id)
            relationships.append(
                stix2.Relationship(
                    id="relationship--"
                    + stable_uuid("relationship", org_name, camp.campaign_id, "uses", tech.id),
                    relationship_type="uses",
                    source_ref=camp_obj.id,
                    target_ref=_pattern_id(org_name, tech.id),
                    created=first,
                    modified=last,
                    **marks,
                )
            )
    patterns = [
        _attack_pattern(stix2, t, org_name, catalog.updated, marks)
        for t in catalog.techniques
        if t.id in used
    ]
    return [identity, stix2.MarkingDefinition(**marking), *patterns, *campaigns, *relationships]

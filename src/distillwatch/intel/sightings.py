"""Sightings: telling peers "we saw your indicator too" (or "it was a false positive").

A sighting carries only what the group needs to weigh an indicator: the peer's indicator
id (``sighting_of_ref``), how many requests matched (``count``), when (``first_seen``,
``last_seen``) and who saw it (``where_sighted_refs`` = our own identity, also
``created_by_ref``), under a TLP 2.0 marking. Never account ids, addresses, prompts or
which local values matched. A sighting renews the indicator for every member (see
``intel.store``). An analyst's dismissal is a sighting with the ``sighting-feedback``
property extension, ``false_positive: true``; it renews nothing.

Ids are deterministic: the same matches over the same window give the same sighting id
(a re-run publishes a new version, not a second sighting).

>>> import json
>>> from datetime import datetime, UTC
>>> now = datetime(2026, 11, 9, tzinfo=UTC)
>>> fp = false_positive_sighting("indicator--0b1c2d3e-0000-4000-8000-000000000001",
...                              org_name="acme", count=3, first_seen=None,
...                              last_seen=None, tlp_level="green", now=now)
>>> fp["count"], list(fp["extensions"].values())[0]["false_positive"]
(3, True)
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from distillwatch.errors import UsageError
from distillwatch.intel.match import Matches
from distillwatch.intel.vocab import EXTENSIONS
from distillwatch.outputs import ids, tlp
from distillwatch.outputs.ids import stable_uuid
from distillwatch.outputs.intel import IDENTITY_CREATED

#: largest ``count`` STIX 2.1 allows on a sighting
MAX_COUNT = 999_999_999
#: created/modified of our identity object (the same as intel.json's, so it never changes)
_INDICATOR_ID = re.compile(
    r"indicator--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def _stamp(t: datetime) -> str:
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def identity_id(org_name: str) -> str:
    """Our organization's STIX identity id (as the publish side names it).

    >>> identity_id("acme") == identity_id("acme") != identity_id("other")
    True
    """
    if not org_name.strip():
        raise UsageError("the organization name is empty; pass --org NAME")
    return ids.identity_id(org_name)


def _common(org_name: str, level: str, now: datetime) -> dict[str, Any]:
    return {
        "type": "sighting",
        "spec_version": "2.1",
        "created": _stamp(now),
        "modified": _stamp(now),
        "created_by_ref": identity_id(org_name),
        "object_marking_refs": [tlp.marking_id(level)],
        "where_sighted_refs": [identity_id(org_name)],
    }


def _validated(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as ``stix2`` writes it (raises UsageError if it is not valid STIX)."""
    import stix2  # lazy: ~0.3 s to import
    from stix2.exceptions import STIXError

    try:
        parsed = stix2.parse(obj, allow_custom=False)
    except (STIXError, ValueError) as exc:
        raise UsageError(f"cannot build a valid {obj.get('type')}: {exc}") from exc
    out: dict[str, Any] = json.loads(parsed.serialize())
    return out


def false_positive_sighting(
    indicator_id: str,
    *,
    org_name: str,
    count: int | None,
    first_seen: datetime | None,
    last_seen: datetime | None,
    tlp_level: str,
    now: datetime,
) -> dict[str, Any]:
    """A sighting of ``indicator_id`` marked as an analyst's false positive."""
    if not _INDICATOR_ID.fullmatch(indicator_id):
        raise UsageError(
            f"{indicator_id!r} is not an indicator id (indicator--<uuid>, as in matches.csv)"
        )
    if count is not None and not 0 <= count <= MAX_COUNT:
        raise UsageError(f"--count must be between 0 and {MAX_COUNT}, got {count}")
    if first_seen and last_seen and last_seen < first_seen:
        raise UsageError("--last-seen is before --first-seen; swap them")
    level = tlp.shareable_level(tlp_level)
    obj = _common(org_name, level, now)
    obj["id"] = "sighting--" + stable_uuid("sighting-feedback", org_name, indicator_id)
    obj["sighting_of_ref"] = indicator_id
    if count is not None:
        obj["count"] = count
    if first_seen is not None:
        obj["first_seen"] = _stamp(first_seen)
    if last_seen is not None:
        obj["last_seen"] = _stamp(last_seen)
    obj["extensions"] = {
        EXTENSIONS["sighting-feedback"]: {
            "extension_type": "property-extension",
            "false_positive": True,
        }
    }
    return _validated(obj)


def wrap_bundle(
    sightings: list[dict[str, Any]], *, org_name: str, tlp_level: str, now: datetime
) -> str:
    """An indented STIX bundle: our identity, the TLP marking, then ``sightings``.

    >>> '"name": "acme"' in wrap_bundle([], org_name="acme", tlp_level="clear",
    ...                                 now=datetime(2026, 11, 9, tzinfo=UTC))
    True
    """
    level = tlp.shareable_level(tlp_level)
    ident = identity_id(org_name)
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": ident,
        "created": _stamp(IDENTITY_CREATED),
        "modified": _stamp(IDENTITY_CREATED),
        "name": org_name,
        "identity_class": "organization",
        "created_by_ref": ident,
        "object_marking_refs": [tlp.marking_id(level)],
    }
    bundle_id = "bundle--" + stable_uuid(
        "bundle", org_name, "sightings", _stamp(now), *sorted(s["id"] for s in sightings)
    )
    bundle = {
        "type": "bundle",
        "id": bundle_id,
        "objects": [_validated(identity), tlp.marking_object(level), *sightings],
    }
    return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"


def sightings_bundle(
    matches: Matches, *, org_name: str, tlp_level: str = tlp.DEFAULT_LEVEL, now: datetime
) -> str:
    """One sighting per matched peer indicator (counts and times only), as a bundle
    ready for ``intel push``.

    >>> text = sightings_bundle(Matches(), org_name="acme", now=datetime(2026, 11, 9, tzinfo=UTC))
    >>> [o["type"] for o in json.loads(text)["objects"]]
    ['identity', 'marking-definition']
    """
    level = tlp.shareable_level(tlp_level)
    sightings = []
    for ind_id, hit in sorted(matches.indicators.items()):
        obj = _common(org_name, level, now)
        obj["id"] = "sighting--" + stable_uuid("sighting", org_name, ind_id, _stamp(hit.first_seen))
        obj["sighting_of_ref"] = ind_id
        obj["count"] = min(hit.n_requests, MAX_COUNT)
        obj["first_seen"] = _stamp(hit.first_seen)
        obj["last_seen"] = _stamp(hit.last_seen)
        sightings.append(_validated(obj))
    return wrap_bundle(sightings, org_name=org_name, tlp_level=level, now=now)

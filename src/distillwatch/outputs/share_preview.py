"""The share preview of ``report.html``: exactly the STIX objects ``intel build`` would
publish about each flagged campaign, built by the real ``intel.bundle.build_bundle``.

Without the trust group's keys the preview is built with a throwaway key and every keyed
value (digests, MinHash sketches, the key id and ids derived from them) is replaced by a
numbered placeholder, so the preview shows the shape and every plain value that would
leave, and nothing keyed.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distillwatch.errors import DistillwatchError
from distillwatch.outputs.atlas import AtlasCatalog
from distillwatch.outputs.fmt import human_time, ranked_campaigns
from distillwatch.outputs.ids import stable_uuid
from distillwatch.results import ScanResult

if TYPE_CHECKING:
    from distillwatch.intel.keys import Keyring

#: key id of the throwaway key a preview without the group's keys is built with
PREVIEW_KEY_ID = "dw-report-preview-key"
#: the share preview covers this many flagged campaigns, highest risk first
MAX_PREVIEWS = 20
#: objects every bundle holds whatever it is about (not repeated per campaign)
COMMON_TYPES = frozenset({"identity", "marking-definition", "extension-definition"})
_HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
_UUID = re.compile(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}")


@dataclass(frozen=True)
class SharePreview:
    """The objects ``intel build`` would publish, split by the campaign they are about."""

    #: campaign id -> its objects in bundle order (campaign, intrusion-set, techniques,
    #: infrastructure, SCOs, indicators, relationships)
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: what the preview is and how it differs from a real build, for the reader
    note: str = ""
    #: why no preview could be built ("" when it was)
    error: str = ""


def preview_keyring(secret: bytes = bytes(32)) -> Keyring:
    """A throwaway one-key ring, valid at any time, to build a preview without the group's
    keys (its digests are then masked, so the secret does not matter).

    >>> preview_keyring().current().key_id
    'dw-report-preview-key'
    """
    from distillwatch.intel.keys import GroupKey, Keyring

    start, end = datetime(1970, 1, 2, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
    return Keyring("report-preview", [GroupKey(PREVIEW_KEY_ID, secret, start, end)])


def bundle_objects(
    result: ScanResult,
    *,
    org_name: str,
    keyring: Keyring,
    tlp_level: str = "amber",
    now: datetime | None = None,
    atlas: AtlasCatalog | None = None,
) -> list[dict[str, Any]]:
    """The objects of the bundle ``distillwatch intel build`` makes from this scan's
    campaigns.json: the same text is written to a temporary directory (removed at once)
    and read by :func:`distillwatch.intel.bundle.build_bundle`; nothing else is touched."""
    from distillwatch.intel.bundle import build_bundle
    from distillwatch.outputs.campaign_json import campaigns_json

    with tempfile.TemporaryDirectory(prefix="dw-share-preview-") as tmp:
        path = Path(tmp) / "campaigns.json"
        path.write_text(campaigns_json(result), encoding="utf-8")
        text = build_bundle(
            path, org_name=org_name, keyring=keyring, tlp_level=tlp_level, now=now, atlas=atlas
        )
    objects: list[dict[str, Any]] = json.loads(text)["objects"]
    return objects


def _keyed_uuids(objects: list[dict[str, Any]], key_id: str) -> set[str]:
    """UUIDs of the objects whose content (besides their id) holds a keyed value or refers
    to such an object: their ids were derived from keyed values too."""
    bodies = [
        (str(o["id"]).rsplit("--", 1)[-1], json.dumps({k: v for k, v in o.items() if k != "id"}))
        for o in objects
    ]
    keyed: set[str] = set()
    grew = True
    while grew:
        grew = False
        for uid, body in bodies:
            if uid in keyed:
                continue
            if key_id in body or _HEX64.search(body) or keyed.intersection(_UUID.findall(body)):
                keyed.add(uid)
                grew = True
    return keyed


class _Masker:
    """Replaces keyed values with numbered placeholders (equal values, equal numbers)."""

    def __init__(self, keyed: set[str], key_id: str) -> None:
        self.keyed = keyed
        self.key_id = key_id
        self.names: dict[str, str] = {}
        self.counts: dict[str, int] = {}

    def _name(self, kind: str, value: str) -> str:
        if value not in self.names:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.names[value] = f"<keyed {kind} {self.counts[kind]}>"
        return self.names[value]

    def text(self, value: str) -> str:
        value = value.replace(self.key_id, "<group key id>")
        value = _HEX64.sub(lambda m: self._name("digest", m.group(0)), value)
        return _UUID.sub(
            lambda m: self._name("id", m.group(0)) if m.group(0) in self.keyed else m.group(0),
            value,
        )

    def value(self, value: Any, name: str = "") -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            if name == "minhash":
                return f"<keyed MinHash sketch of {len(value)} values>"
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self.value(v, k) for k, v in value.items()}
        return value


def mask_keyed(objects: list[dict[str, Any]], key_id: str) -> list[dict[str, Any]]:
    """*objects* with every keyed digest, MinHash sketch, the key id and every id derived
    from them replaced by placeholders such as ``<keyed digest 3>``.

    >>> digest = "ab" * 32
    >>> sco = {"id": "keyed-digest--00000000-0000-4000-8000-000000000001", "digest": digest}
    >>> mask_keyed([sco], "k1")[0]
    {'id': 'keyed-digest--<keyed id 1>', 'digest': '<keyed digest 1>'}
    """
    masker = _Masker(_keyed_uuids(objects, key_id), key_id)
    return [masker.value(o) for o in objects]


def split_by_campaign(
    objects: list[dict[str, Any]], campaign_ids: Sequence[str], org_name: str
) -> dict[str, list[dict[str, Any]]]:
    """The objects about each campaign: the campaign, every object one relationship away
    (intrusion-set, attack-patterns, infrastructure, indicators) with those relationships,
    the infrastructure's members, and the SCOs its indicators' patterns name.

    >>> camp = "campaign--" + stable_uuid("campaign", "acme", "C-1")
    >>> rel = {"type": "relationship", "id": "relationship--1", "source_ref": "indicator--1",
    ...        "target_ref": camp}
    >>> ind = {"type": "indicator", "id": "indicator--1", "pattern": "[x:digest = 'ab']"}
    >>> objs = [{"type": "campaign", "id": camp}, rel, ind, {"id": "keyed-digest--1",
    ...         "digest": "ab"}, {"id": "keyed-digest--2", "digest": "cd"}]
    >>> [o["id"].split("--")[0] for o in split_by_campaign(objs, ["C-1"], "acme")["C-1"]]
    ['campaign', 'relationship', 'indicator', 'keyed-digest']
    """
    rels = [o for o in objects if o.get("type") == "relationship"]
    out: dict[str, list[dict[str, Any]]] = {}
    for cid in campaign_ids:
        root = "campaign--" + stable_uuid("campaign", org_name, cid)
        keep = {root}
        for r in rels:
            if root in (r["source_ref"], r["target_ref"]):
                keep.update((r["id"], r["source_ref"], r["target_ref"]))
        infra = {i for i in keep if i.startswith("infrastructure--")}
        for r in rels:
            if r["source_ref"] in infra:
                keep.update((r["id"], r["target_ref"]))
        patterns = " ".join(
            str(o.get("pattern", ""))
            for o in objects
            if o["id"] in keep and o.get("type") == "indicator"
        )
        out[cid] = [
            o
            for o in objects
            if o["id"] in keep or ("digest" in o and f"'{o['digest']}'" in patterns)
        ]
    return out


def share_preview(
    result: ScanResult,
    *,
    org_name: str,
    keyring: Keyring | None = None,
    tlp_level: str = "amber",
    now: datetime | None = None,
    atlas: AtlasCatalog | None = None,
    limit: int = MAX_PREVIEWS,
) -> SharePreview:
    """What ``distillwatch intel build`` would publish about each flagged campaign (the
    *limit* highest-risk ones: the bundle is built from them and the other campaigns of their
    actors, which is all an intrusion-set of theirs depends on).

        Without *keyring* the bundle is built with a throwaway key and its keyed values
        (template and value digests, MinHash sketches, the key id and the ids derived from
        them) are shown as numbered placeholders; indicators are dated as if built at the end
        of the scanned window (*now* overrides). With *keyring* the values are the real ones
        and *now* defaults to the current time, as in ``intel build``. A problem building it
        is reported in ``error``, never raised.

        >>> from distillwatch.results import IngestSummary
        >>> share_preview(ScanResult([], [], IngestSummary(), None, None, 0.5, 0), org_name="x")
        SharePreview(objects={}, note='', error='')
    """
    ranked = [c for c in ranked_campaigns(result.campaigns) if c.flagged]
    chosen = ranked[:limit]
    if not chosen:
        return SharePreview()
    actors = {c.actor_id for c in chosen if c.actor_id}
    ids = {c.campaign_id for c in chosen}
    needed = [c for c in ranked if c.campaign_id in ids or (c.actor_id and c.actor_id in actors)]
    ring = keyring if keyring is not None else preview_keyring()
    at = now if now is not None or keyring is not None else result.window_end
    try:
        objects = bundle_objects(
            replace(result, campaigns=needed),
            org_name=org_name,
            keyring=ring,
            tlp_level=tlp_level,
            now=at,
            atlas=atlas,
        )
    except DistillwatchError as exc:
        return SharePreview(error=str(exc))
    common = sorted({str(o["type"]) for o in objects if o.get("type") in COMMON_TYPES})
    note = (
        f"As `distillwatch intel build --org {org_name} --tlp {tlp_level}` would publish "
        f"it (inside one bundle that also holds the {', '.join(common)} objects). "
    )
    if keyring is None:
        objects = mask_keyed(objects, PREVIEW_KEY_ID)
        note += (
            "Built without the trust group's keys: keyed digests, MinHash sketches and the "
            "ids derived from them are placeholders, and indicators are dated as if built "
            f"at {human_time(at)}; `intel build` dates them when it runs."
        )
    if len(ranked) > len(chosen):
        note += f" Shown for the {len(chosen)} highest-risk flagged campaigns only."
    return SharePreview(split_by_campaign(objects, [c.campaign_id for c in chosen], org_name), note)

"""Share one campaign from the console: the exact objects, then a push to the hub.

What is previewed is what is published: both come from :func:`plan_share`, which builds
the bundle ``distillwatch intel build`` would build from this scan (with the trust group's
keys when the console has them) and keeps the objects about the chosen campaign plus the
objects every bundle needs (identity, markings, extension definitions). Without the keys
the preview masks every keyed value and publishing is refused: nothing keyed with a
throwaway key may reach peers.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distillwatch.errors import UsageError
from distillwatch.outputs.share_preview import (
    COMMON_TYPES,
    PREVIEW_KEY_ID,
    bundle_objects,
    mask_keyed,
    preview_keyring,
    split_by_campaign,
)
from distillwatch.outputs.tlp import MARKING_IDS, shareable_level
from distillwatch.results import ScanResult

if TYPE_CHECKING:
    from distillwatch.intel.client import PushReport
    from distillwatch.intel.keys import Keyring

#: the TLP levels an analyst may choose (TLP:RED is never shared)
SHARE_LEVELS: tuple[str, ...] = tuple(k for k in MARKING_IDS if k != "red")


@dataclass(frozen=True)
class SharePlan:
    """The objects one share would publish about one campaign."""

    campaign_id: str
    tlp: str
    #: the objects about the campaign, then the common ones, in bundle order
    objects: list[dict[str, Any]] = field(default_factory=list)
    #: built with the trust group's keys (False: keyed values are placeholders)
    keyed: bool = False

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.objects:
            out[str(o.get("type"))] = out.get(str(o.get("type")), 0) + 1
        return out

    def bundle(self) -> dict[str, Any]:
        from distillwatch.outputs.ids import stable_uuid

        ids = ",".join(sorted(str(o["id"]) for o in self.objects))
        return {
            "type": "bundle",
            "id": "bundle--" + stable_uuid("console-share", self.campaign_id, ids),
            "objects": self.objects,
        }


def plan_share(
    result: ScanResult,
    campaign_id: str,
    *,
    org_name: str,
    tlp: str,
    keyring: Keyring | None,
    now: datetime | None = None,
) -> SharePlan:
    """What sharing *campaign_id* at *tlp* would publish. UsageError for a campaign that is
    not in the scan or not flagged (only flagged campaigns are ever shared), or TLP:RED."""
    level = shareable_level(tlp)
    by_id = {c.campaign_id: c for c in result.campaigns}
    camp = by_id.get(campaign_id)
    if camp is None:
        raise UsageError(f"campaign {campaign_id!r} is not in this scan")
    if not camp.flagged:
        raise UsageError(f"campaign {campaign_id} is not flagged: only flagged ones are shared")
    # the campaign and the other campaigns of its actor (its intrusion-set depends on them)
    needed = [
        c
        for c in result.campaigns
        if c.campaign_id == campaign_id or (camp.actor_id and c.actor_id == camp.actor_id)
    ]
    ring = keyring if keyring is not None else preview_keyring()
    at = now if now is not None else datetime.now(UTC).replace(microsecond=0)
    objects = bundle_objects(
        replace(result, campaigns=needed), org_name=org_name, keyring=ring, tlp_level=level, now=at
    )
    if keyring is None:
        objects = mask_keyed(objects, PREVIEW_KEY_ID)
    about = split_by_campaign(objects, [campaign_id], org_name)[campaign_id]
    common = [o for o in objects if o.get("type") in COMMON_TYPES]
    return SharePlan(campaign_id, level, about + common, keyed=keyring is not None)


def publish(plan: SharePlan, hub_url: str, collection_id: str, token: str) -> PushReport:
    """Push *plan*'s objects to the hub collection (``distillwatch intel push``)."""
    from distillwatch.intel.client import push

    if not plan.keyed:
        raise UsageError(
            "this preview was built without the trust group's keys; start the console with "
            "--key-file to publish"
        )
    with tempfile.TemporaryDirectory(prefix="dw-console-share-") as tmp:
        path = Path(tmp) / "bundle.json"
        path.write_text(json.dumps(plan.bundle(), ensure_ascii=False), encoding="utf-8")
        return push(path, hub_url, collection_id, token)

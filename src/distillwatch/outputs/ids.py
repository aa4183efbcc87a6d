"""Deterministic identifiers and pseudonyms for shared intelligence.

Ids are UUIDv5 from one fixed namespace over the object's kind, the publishing
organization and the internal key (e.g. the campaign id), so a re-run publishes the same
ids (a peer then sees an update, not a new campaign) and two organizations never collide.
The pseudonym is derived the same way and does not reveal the internal campaign id.

>>> stable_uuid("campaign", "acme", "c-1") == stable_uuid("campaign", "acme", "c-1")
True
>>> stable_uuid("campaign", "acme", "c-1") != stable_uuid("campaign", "other", "c-1")
True
>>> campaign_pseudonym("c-1", "acme")
'DW-CAMPAIGN-9F84F909'
"""

from __future__ import annotations

import uuid

#: Fixed namespace of every id distillwatch publishes. Never change it: ids would change.
NAMESPACE = uuid.UUID("5f1d2c0e-8a4b-5c3d-9e7f-2a6b4c8d0e1f")


def stable_uuid(kind: str, org_name: str, *parts: str) -> str:
    """A UUIDv5 (as text) for an object of *kind* published by *org_name*.

    Parts are joined with a separator that cannot occur in them unnoticed (their lengths
    are included), so ``("a|b", "c")`` and ``("a", "b|c")`` give different ids.

    >>> stable_uuid("x", "o", "a|b", "c") != stable_uuid("x", "o", "a", "b|c")
    True
    """
    fields = (kind, org_name, *parts)
    key = "\x1f".join(f"{len(f)}:{f}" for f in fields)
    return str(uuid.uuid5(NAMESPACE, key))


def campaign_pseudonym(campaign_id: str, org_name: str) -> str:
    """The name a campaign is shared under: ``DW-CAMPAIGN-`` and 8 hex digits.

    >>> campaign_pseudonym("c-1", "acme").startswith("DW-CAMPAIGN-")
    True
    """
    digest = uuid.UUID(stable_uuid("campaign-name", org_name, campaign_id)).hex
    return f"DW-CAMPAIGN-{digest[:8].upper()}"


def identity_id(org_name: str) -> str:
    """The STIX ``identity`` id under which *org_name* publishes.

    >>> identity_id("acme") == "identity--" + stable_uuid("identity", "acme")
    True
    """
    return "identity--" + stable_uuid("identity", org_name)

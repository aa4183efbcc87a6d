"""TLP 2.0 marking definitions for STIX 2.1 (``stix2`` ships only the TLP 1.0 constants).

The objects and their ids are fixed by OASIS (cti-stix-common-objects,
``extension-definition-specifications/tlp-2.0``): each is a marking-definition created
2022-10-01 whose ``extensions`` carry ``tlp_2_0`` under the TLP 2.0 extension definition.
Copy them verbatim; a changed id or timestamp is a different marking to every consumer.

>>> marking_id("amber")
'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421'
>>> marking_object("TLP:CLEAR")["name"]
'TLP:CLEAR'
"""

from __future__ import annotations

from typing import Any

from distillwatch.errors import UsageError

EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
CREATED = "2022-10-01T00:00:00.000Z"
DEFAULT_LEVEL = "amber"

#: level -> marking-definition id
MARKING_IDS: dict[str, str] = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def normalize_level(level: str) -> str:
    """``"TLP:AMBER+STRICT"``, ``"amber+strict"`` -> ``"amber+strict"``; else UsageError.

    >>> normalize_level("TLP:Amber")
    'amber'
    """
    key = level.strip().lower().removeprefix("tlp:")
    if key not in MARKING_IDS:
        raise UsageError(
            f"unknown TLP level {level!r}; use one of: "
            + ", ".join(f"TLP:{k.upper()}" for k in MARKING_IDS)
        )
    return key


def shareable_level(level: str) -> str:
    """:func:`normalize_level` for content shared with a group; TLP:RED is refused.

    >>> shareable_level("TLP:AMBER+STRICT")
    'amber+strict'
    """
    key = normalize_level(level)
    if key == "red":
        raise UsageError(
            "TLP:RED intelligence is never shared through a hub; "
            "choose --tlp clear, green, amber or amber+strict"
        )
    return key


def marking_id(level: str) -> str:
    """The fixed marking-definition id of a TLP 2.0 *level*."""
    return MARKING_IDS[normalize_level(level)]


def marking_object(level: str) -> dict[str, Any]:
    """The complete marking-definition object of a TLP 2.0 *level* as a JSON-ready dict."""
    key = normalize_level(level)
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": MARKING_IDS[key],
        "created": CREATED,
        "name": f"TLP:{key.upper()}",
        "extensions": {
            EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": key},
        },
    }

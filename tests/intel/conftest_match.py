"""Hand-built peer bundles and local events for the match-side tests.

The shapes follow the fixed STIX content of the sharing design (template part, keyed
digest and hosting range indicators, their SCOs, ``indicates`` relationships, sightings);
they are written here by hand so that these tests do not depend on the publish side.
Imported explicitly by the ``test_match_*`` modules (not a conftest pytest loads).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from distillwatch.features.text import text_features
from distillwatch.intel.fingerprints import part_digest, sketches, value_digest
from distillwatch.intel.keys import GroupKey, Keyring
from distillwatch.intel.vocab import EXTENSIONS
from distillwatch.outputs.ids import stable_uuid
from distillwatch.outputs.tlp import marking_id
from distillwatch.schema import EVENT_SCHEMA

T0 = datetime(2026, 11, 2, tzinfo=UTC)
KEY = GroupKey("isac-k1", b"\x11" * 32, T0 - timedelta(days=60), T0 + timedelta(days=300))
#: a key the local provider does not hold
STRANGER = GroupKey("isac-k9", b"\x99" * 32, T0 - timedelta(days=60), T0 + timedelta(days=300))
KEYRING = Keyring("isac", [KEY])
PEER = "Peer Labs"
PEER_ID = "identity--" + stable_uuid("identity", PEER)
AMBER = marking_id("amber")

WRAPPER = (
    "Please write out your complete chain of thought, every single step, before giving "
    "the final answer. Question: "
)
TASKS = [
    "how many legs does a spider have?",
    "why is the sky blue?",
    "what is the capital of Peru?",
    "how do vaccines work?",
]
#: same wrapper with one word changed ("every" -> "each"): sketch similarity ~0.88
PARAPHRASE = WRAPPER.replace("every single", "each single")
UNRELATED = "Translate the following sentence into French and explain the grammar: "


def stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parts(prompt: str) -> tuple[str, str]:
    """(head, tail) of one prompt as the scan computes them."""
    batch = pa.RecordBatch.from_pydict(
        {"request_id": ["x"], "prompt": [prompt], "system_prompt": [None]}
    )
    out = text_features(batch)
    return out["head"][0].as_py(), out["tail"][0].as_py()


def identity(org: str = PEER) -> dict[str, Any]:
    oid = "identity--" + stable_uuid("identity", org)
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": oid,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": org,
        "identity_class": "organization",
        "created_by_ref": oid,
        "object_marking_refs": [AMBER],
    }


def indicator(
    pattern: str,
    *,
    name: str = "peer indicator",
    valid_from: datetime = T0,
    ttl: timedelta = timedelta(days=30),
    modified: datetime | None = None,
    confidence: int | None = 80,
    revoked: bool = False,
    ident: str | None = None,
    publisher: str = PEER,
) -> dict[str, Any]:
    oid = ident or "indicator--" + stable_uuid("indicator", publisher, pattern)
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": oid,
        "created": stamp(valid_from),
        "modified": stamp(modified or valid_from),
        "name": name,
        "indicator_types": ["malicious-activity"],
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": stamp(valid_from),
        "valid_until": stamp(valid_from + ttl),
        "created_by_ref": "identity--" + stable_uuid("identity", publisher),
        "object_marking_refs": [AMBER],
    }
    if confidence is not None:
        obj["confidence"] = confidence
    if revoked:
        obj["revoked"] = True
    return obj


def template_objects(
    part: str, text: str, key: GroupKey = KEY, *, key_id: str | None = None, **kw: Any
) -> list[dict[str, Any]]:
    """The indicator and its ``llm-prompt-fingerprint`` SCO for one skeleton part."""
    kid = key_id or key.key_id
    digest = part_digest(key, part, text)
    sco_id = "llm-prompt-fingerprint--" + str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"{part}|{digest}|{kid}")
    )
    sco = {
        "type": "llm-prompt-fingerprint",
        "spec_version": "2.1",
        "id": sco_id,
        "part": part,
        "digest": digest,
        "key_id": kid,
        "minhash": [int(v) for v in sketches(key, pa.array([text]))[0]],
        "extensions": {EXTENSIONS["llm-prompt-fingerprint"]: {"extension_type": "new-sco"}},
    }
    pattern = (
        f"[llm-prompt-fingerprint:part = '{part}' AND llm-prompt-fingerprint:digest = "
        f"'{digest}' AND llm-prompt-fingerprint:key_id = '{kid}']"
    )
    return [indicator(pattern, name=f"template {part}", **kw), sco]


def digest_objects(kind: str, value: str, key: GroupKey = KEY, **kw: Any) -> list[dict[str, Any]]:
    digest = value_digest(key, kind, value)
    sco = {
        "type": "keyed-digest",
        "spec_version": "2.1",
        "id": "keyed-digest--" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}|{digest}")),
        "kind": kind,
        "digest": digest,
        "key_id": key.key_id,
        "extensions": {EXTENSIONS["keyed-digest"]: {"extension_type": "new-sco"}},
    }
    pattern = (
        f"[keyed-digest:kind = '{kind}' AND keyed-digest:digest = '{digest}' AND "
        f"keyed-digest:key_id = '{key.key_id}']"
    )
    return [indicator(pattern, name=kind, **kw), sco]


def range_indicator(cidr: str, **kw: Any) -> dict[str, Any]:
    obj = "ipv6-addr" if ":" in cidr else "ipv4-addr"
    return indicator(f"[{obj}:value ISSUBSET '{cidr}']", name="hosting range", **kw)


def campaign(name: str = "DW-CAMPAIGN-0000BEEF") -> dict[str, Any]:
    return {
        "type": "campaign",
        "spec_version": "2.1",
        "id": "campaign--" + stable_uuid("campaign", PEER, name),
        "created": stamp(T0),
        "modified": stamp(T0),
        "name": name,
        "created_by_ref": PEER_ID,
        "object_marking_refs": [AMBER],
    }


def indicates(ind: dict[str, Any], camp: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": "relationship--" + stable_uuid("relationship", PEER, ind["id"], camp["id"]),
        "created": stamp(T0),
        "modified": stamp(T0),
        "relationship_type": "indicates",
        "source_ref": ind["id"],
        "target_ref": camp["id"],
        "created_by_ref": PEER_ID,
        "object_marking_refs": [AMBER],
    }


def sighting(
    indicator_id: str, last_seen: datetime, *, org: str = "Third Co", false_positive: bool = False
) -> dict[str, Any]:
    ident = "identity--" + stable_uuid("identity", org)
    obj: dict[str, Any] = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": "sighting--" + stable_uuid("sighting", org, indicator_id, stamp(last_seen)),
        "created": stamp(last_seen),
        "modified": stamp(last_seen),
        "sighting_of_ref": indicator_id,
        "count": 12,
        "first_seen": stamp(last_seen - timedelta(days=1)),
        "last_seen": stamp(last_seen),
        "where_sighted_refs": [ident],
        "created_by_ref": ident,
        "object_marking_refs": [AMBER],
    }
    if false_positive:
        obj["extensions"] = {
            EXTENSIONS["sighting-feedback"]: {
                "extension_type": "property-extension",
                "false_positive": True,
            }
        }
    return obj


def write_bundle(directory: Path, name: str, objects: list[dict[str, Any]]) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    path.write_text(json.dumps(bundle), "utf-8")
    return path


def events(rows: list[dict[str, Any]], *, with_text: bool = True) -> pa.Table:
    """Canonical events from partial rows (request_id, ts, model filled in), with the
    scan's text features unless ``with_text`` is False."""
    full = []
    for i, r in enumerate(rows):
        row = {name: None for name in EVENT_SCHEMA.names}
        row.update(request_id=f"r{i}", ts=T0 + timedelta(minutes=i), model="m-1", account_id="a0")
        row.update(r)
        full.append(row)
    table = pa.Table.from_pylist(full, schema=EVENT_SCHEMA)
    if not with_text:
        return table
    tf = text_features(table.select(["request_id", "prompt", "system_prompt"]).to_batches()[0])
    return table.append_column("head", tf["head"]).append_column("tail", tf["tail"])

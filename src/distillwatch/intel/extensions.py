"""distillwatch's STIX extensions: the shipped definitions and the custom SCOs as dicts.

The three ``extension-definition`` objects ship in ``intel/data/extensions.json`` (authored
by :data:`~distillwatch.intel.vocab.PROJECT_IDENTITY`, marked TLP:CLEAR because they are
public and must be byte-identical in every provider's bundle). Their JSON schemas lie in
``schemas/`` at the repository root.

The custom SCOs are built as plain JSON dicts, not registered ``stix2`` classes: ``stix2``
keeps objects declared by a ``new-sco`` extension as dicts under ``allow_custom=True``
anyway, and registering classes would put process-wide state in ``stix2``'s registry that
the match side (and any host application) would then have to agree with
(``DuplicateRegistrationError``). Their shape is fixed here and checked against the JSON
schemas by the tests. Ids follow STIX 2.1's deterministic SCO ids: a UUIDv5 in the STIX
SCO namespace over the canonical JSON of the id-contributing properties, so every
provider gives the same fingerprint the same id.

>>> sco = keyed_digest_sco("payment-fingerprint", "ab" * 32, "grp-20260101-0a0b0c")
>>> sco["id"] == keyed_digest_id("payment-fingerprint", "ab" * 32, "grp-20260101-0a0b0c")
True
>>> keyed_digest_pattern("ip-address", "ab" * 2, "k1")
"[keyed-digest:kind = 'ip-address' AND keyed-digest:digest = 'abab' AND keyed-digest:key_id = 'k1']"
>>> range_pattern("2001:db8:0:0::/64")
"[ipv6-addr:value ISSUBSET '2001:db8::/64']"
>>> [d["name"] for d in load_definitions()]
['llm-prompt-fingerprint', 'keyed-digest', 'sighting-feedback']
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from distillwatch.errors import IntelError
from distillwatch.intel.vocab import (
    DIGEST_KINDS,
    EXTENSIONS,
    FINGERPRINT_PARTS,
    MINHASH_PERM,
    PROJECT_IDENTITY,
)

#: STIX 2.1 namespace of deterministic SCO ids (section 2.9 of the specification).
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")


def _canonical(props: dict[str, str]) -> str:
    # RFC 8785 for string-valued objects: sorted keys, no whitespace, minimal escaping.
    return json.dumps(props, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sco_id(sco_type: str, contributing: dict[str, str]) -> str:
    """The STIX deterministic id of an SCO of ``sco_type`` with these id properties.

    >>> sco_id("autonomous-system", {"number": "1"}).startswith("autonomous-system--")
    True
    """
    return f"{sco_type}--{uuid.uuid5(SCO_NAMESPACE, _canonical(contributing))}"


def fingerprint_id(part: str, digest: str, key_id: str) -> str:
    """Id of the ``llm-prompt-fingerprint`` with this part, digest and key."""
    return sco_id("llm-prompt-fingerprint", {"part": part, "digest": digest, "key_id": key_id})


def keyed_digest_id(kind: str, digest: str, key_id: str) -> str:
    """Id of the ``keyed-digest`` with this kind, digest and key."""
    return sco_id("keyed-digest", {"kind": kind, "digest": digest, "key_id": key_id})


def _new_sco(name: str) -> dict[str, dict[str, str]]:
    return {EXTENSIONS[name]: {"extension_type": "new-sco"}}


def _marks(marking_ref: str | None) -> dict[str, list[str]]:
    return {"object_marking_refs": [marking_ref]} if marking_ref else {}


def fingerprint_sco(
    part: str,
    digest: str,
    key_id: str,
    minhash: Sequence[int],
    *,
    marking_ref: str | None = None,
) -> dict[str, Any]:
    """An ``llm-prompt-fingerprint`` SCO (digest and keyed sketch of one skeleton part).

    >>> fp = fingerprint_sco("tail", "0" * 64, "k1", [7] * 64)
    >>> sorted(fp)
    ['digest', 'extensions', 'id', 'key_id', 'minhash', 'part', 'spec_version', 'type']
    """
    if part not in FINGERPRINT_PARTS:
        raise ValueError(f"part must be one of {FINGERPRINT_PARTS}, got {part!r}")
    if len(minhash) != MINHASH_PERM:
        raise ValueError(f"a sketch has {MINHASH_PERM} values, got {len(minhash)}")
    return {
        "type": "llm-prompt-fingerprint",
        "spec_version": "2.1",
        "id": fingerprint_id(part, digest, key_id),
        "part": part,
        "digest": digest,
        "key_id": key_id,
        "minhash": [int(v) for v in minhash],
        "extensions": _new_sco("llm-prompt-fingerprint"),
        **_marks(marking_ref),
    }


def keyed_digest_sco(
    kind: str, digest: str, key_id: str, *, marking_ref: str | None = None
) -> dict[str, Any]:
    """A ``keyed-digest`` SCO standing for an identifying value of ``kind``."""
    if kind not in DIGEST_KINDS:
        raise ValueError(f"kind must be one of {DIGEST_KINDS}, got {kind!r}")
    return {
        "type": "keyed-digest",
        "spec_version": "2.1",
        "id": keyed_digest_id(kind, digest, key_id),
        "kind": kind,
        "digest": digest,
        "key_id": key_id,
        "extensions": _new_sco("keyed-digest"),
        **_marks(marking_ref),
    }


def _literal(text: str) -> str:
    """A STIX pattern string literal (quote and backslash escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fingerprint_pattern(part: str, digest: str, key_id: str) -> str:
    """The indicator pattern that matches one template part fingerprint.

    >>> fingerprint_pattern("head", "ab", "k1")
    "[llm-prompt-fingerprint:part = 'head' AND llm-prompt-fingerprint:digest = 'ab' AND \
llm-prompt-fingerprint:key_id = 'k1']"
    """
    t = "llm-prompt-fingerprint"
    return (
        f"[{t}:part = {_literal(part)} AND {t}:digest = {_literal(digest)}"
        f" AND {t}:key_id = {_literal(key_id)}]"
    )


def keyed_digest_pattern(kind: str, digest: str, key_id: str) -> str:
    """The indicator pattern that matches one keyed digest of ``kind``."""
    t = "keyed-digest"
    return (
        f"[{t}:kind = {_literal(kind)} AND {t}:digest = {_literal(digest)}"
        f" AND {t}:key_id = {_literal(key_id)}]"
    )


def normalize_network(value: str) -> str:
    """CIDR text of an address or range: ``a.b.c.0/24``, compressed IPv6, /32 for one host.

    >>> normalize_network("198.51.100.7/24"), normalize_network("2001:DB8::1")
    ('198.51.100.0/24', '2001:db8::1/128')
    """
    try:
        return ipaddress.ip_network(value.strip(), strict=False).compressed
    except ValueError as exc:
        raise IntelError(f"{value!r} is not an IP address or CIDR range") from exc


def range_pattern(value: str) -> str:
    """The plain indicator pattern of a hosting range (or single hosting address)."""
    net = ipaddress.ip_network(normalize_network(value))
    sco_type = "ipv4-addr" if net.version == 4 else "ipv6-addr"
    return f"[{sco_type}:value ISSUBSET {_literal(net.compressed)}]"


def feedback_extension(*, false_positive: bool = True) -> dict[str, dict[str, Any]]:
    """The ``extensions`` value of a sighting carrying analyst feedback.

    >>> list(feedback_extension().values())
    [{'extension_type': 'property-extension', 'false_positive': True}]
    """
    return {
        EXTENSIONS["sighting-feedback"]: {
            "extension_type": "property-extension",
            "false_positive": false_positive,
        }
    }


@cache
def _shipped() -> str:
    resource = resources.files("distillwatch").joinpath("intel", "data", "extensions.json")
    try:
        return resource.read_text(encoding="utf-8")
    except OSError as exc:
        raise IntelError(
            f"cannot read the packaged intel/data/extensions.json: {exc}; reinstall distillwatch"
        ) from exc


def load_definitions() -> list[dict[str, Any]]:
    """The three shipped ``extension-definition`` objects (fresh copies), checked.

    Raises :class:`IntelError` if the packaged file does not match ``intel/vocab.py``.
    """
    try:
        defs = json.loads(_shipped())
    except json.JSONDecodeError as exc:
        raise IntelError(f"the packaged extensions.json is not JSON: {exc}; reinstall") from exc
    if not isinstance(defs, list):
        raise IntelError("the packaged extensions.json must be a list; reinstall distillwatch")
    by_id = {d.get("id"): d for d in defs if isinstance(d, dict)}
    for name, ext_id in EXTENSIONS.items():
        d = by_id.get(ext_id)
        if d is None or d.get("name") != name or d.get("created_by_ref") != PROJECT_IDENTITY:
            raise IntelError(
                f"the packaged extensions.json lacks a valid definition of {name} ({ext_id}); "
                "reinstall distillwatch"
            )
    if len(defs) != len(EXTENSIONS):
        raise IntelError("the packaged extensions.json has unexpected entries; reinstall")
    return defs

"""The local intel store: peers' STIX bundles on disk -> the indicators still in force.

``intel pull --out DIR`` writes every page it receives as a bundle file under ``DIR``;
:func:`load_intel` reads them all back (``*.json``, recursively, ``state.json`` excluded,
files in sorted order) and keeps what matching needs:

- the latest version of each object id (by ``modified``; SCOs, whose ids derive from their
  content, by id); an id of which any version is ``revoked`` is dropped;
- indicators whose pattern has one of the three shapes distillwatch publishes (see
  :func:`parse_pattern`): a template part fingerprint (with the sketch of its
  ``llm-prompt-fingerprint`` SCO when the SCO is present), a keyed digest (payment
  fingerprint, residential IP address or prefix), a hosting range (``ISSUBSET`` a CIDR);
- an indicator is in force until ``max(valid_until, last renewal + ttl)``: a sighting of
  it that is not a false positive renews it at its ``last_seen``; ``ttl`` is the
  indicator's own ``valid_until - valid_from``. Without ``valid_until`` it never expires;
  a ``valid_from`` in the future is not held against it (clocks of providers differ).

Nothing here raises on bad content: an unreadable file, an object or a pattern that
cannot be used is skipped and counted by reason in :attr:`PeerIntel.skipped`. Only a
directory that does not exist is an :class:`~distillwatch.errors.IntelError`.

>>> parse_pattern("[ipv4-addr:value ISSUBSET '198.51.100.0/24']")
('hosting-range', {'network': '198.51.100.0/24'})
>>> parse_pattern("[file:name = 'x']") is None
True
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distillwatch.errors import IntelError
from distillwatch.intel.vocab import DIGEST_KINDS, MINHASH_PERM

#: template parts local traffic has (``prompt``-part fingerprints cannot be matched here)
MATCHED_PARTS = ("head", "tail")
#: confidence assumed for an indicator that states none (STIX: "not specified")
DEFAULT_CONFIDENCE = 50
#: file written by ``intel pull`` next to the bundles
STATE_FILE = "state.json"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_HEX64 = re.compile(r"[0-9a-f]{64}")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>\[) | (?P<close>\]) | (?P<and>AND\b) | (?P<op>=|ISSUBSET\b)
      | '(?P<str>(?:[^'\\]|\\['\\])*)'
      | (?P<path>[a-z][a-z0-9-]*:[a-z_][a-z0-9_]*)
    )""",
    re.VERBOSE,
)
_TEMPLATE_PROPS = frozenset({"part", "digest", "key_id"})
_DIGEST_PROPS = frozenset({"kind", "digest", "key_id"})


# ---------------------------------------------------------------------------- indicators


@dataclass(frozen=True)
class IndicatorInfo:
    """What every usable peer indicator carries, whatever its pattern."""

    indicator_id: str
    #: ``template``, a digest kind (``payment-fingerprint``...) or ``hosting-range``
    kind: str
    name: str
    confidence: int
    #: identity id of the publisher (``created_by_ref``) and its name when known
    publisher_id: str
    publisher: str
    #: the campaign the indicator ``indicates``, and that campaign's (pseudonymous) name
    campaign_ref: str | None
    campaign_name: str | None
    valid_from: datetime
    #: when it stops being in force (``valid_until`` or a later renewal); None: never
    active_until: datetime | None
    #: True when a peer's sighting kept it in force past its ``valid_until``
    renewed: bool = False


@dataclass(frozen=True)
class TemplateIndicator:
    """A template part fingerprint: keyed digest, and the sketch for near duplicates."""

    info: IndicatorInfo
    part: str
    digest: str
    key_id: str
    #: the SCO's MinHash sketch (``MINHASH_PERM`` ints), None if the SCO was absent
    minhash: tuple[int, ...] | None


@dataclass(frozen=True)
class DigestIndicator:
    """A keyed digest of a payment fingerprint, residential IP address or prefix."""

    info: IndicatorInfo
    kind: str
    digest: str
    key_id: str


@dataclass(frozen=True)
class RangeIndicator:
    """A hosting range in plain text (hosting ranges identify no one)."""

    info: IndicatorInfo
    network: Network


@dataclass
class PeerIntel:
    """Peers' indicators in force at :attr:`at`, by kind, sorted by indicator id."""

    templates: list[TemplateIndicator] = field(default_factory=list)
    digests: list[DigestIndicator] = field(default_factory=list)
    ranges: list[RangeIndicator] = field(default_factory=list)
    #: what was not used, by reason (files, objects, patterns, expired indicators)
    skipped: Counter[str] = field(default_factory=Counter)
    #: usable indicators with a caveat (e.g. a template without its sketch)
    notes: Counter[str] = field(default_factory=Counter)
    n_files: int = 0
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __len__(self) -> int:
        return len(self.templates) + len(self.digests) + len(self.ranges)

    def infos(self) -> dict[str, IndicatorInfo]:
        """Every indicator's :class:`IndicatorInfo` by id."""
        items: Iterable[TemplateIndicator | DigestIndicator | RangeIndicator] = (
            *self.templates,
            *self.digests,
            *self.ranges,
        )
        return {x.info.indicator_id: x.info for x in items}

    def key_ids(self) -> set[str]:
        """Group key ids the keyed indicators were computed under."""
        return {t.key_id for t in self.templates} | {d.key_id for d in self.digests}

    def counts(self) -> dict[str, int]:
        """Indicators by kind."""
        return dict(sorted(Counter(i.kind for i in self.infos().values()).items()))


# ---------------------------------------------------------------------------- patterns


def _tokens(pattern: str) -> list[tuple[str, str]] | None:
    out: list[tuple[str, str]] = []
    pos = 0
    text = pattern.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            return None
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "str":
            value = re.sub(r"\\(['\\])", r"\1", value)
        out.append((kind, value))
        pos = m.end()
    return out


def _comparisons(pattern: str) -> list[tuple[str, str, str, str]] | None:
    """``[a:p OP 'v' AND ...]`` -> [(object type, property, op, value)], else None."""
    toks = _tokens(pattern)
    if not toks or toks[0][0] != "open" or toks[-1][0] != "close":
        return None
    body = toks[1:-1]
    if len(body) % 4 != 3:
        return None
    comps: list[tuple[str, str, str, str]] = []
    for i in range(0, len(body), 4):
        path, op, value = body[i : i + 3]
        if path[0] != "path" or op[0] != "op" or value[0] != "str":
            return None
        if i + 3 < len(body) and body[i + 3][0] != "and":
            return None
        obj, prop = path[1].split(":", 1)
        comps.append((obj, prop, op[1], value[1]))
    return comps


def _props(comps: list[tuple[str, str, str, str]], obj: str, names: frozenset[str]) -> Any:
    if len(comps) != len(names) or any(c[0] != obj or c[2] != "=" for c in comps):
        return None
    props = {c[1]: c[3] for c in comps}
    return props if set(props) == names else None


def parse_pattern(pattern: str) -> tuple[str, dict[str, str]] | None:
    """The kind and values of one of the three pattern shapes distillwatch publishes.

    - ``template``: ``[llm-prompt-fingerprint:part = 'head' AND
      llm-prompt-fingerprint:digest = '<64 hex>' AND llm-prompt-fingerprint:key_id = 'k']``
      (comparisons in any order) -> ``{"part", "digest", "key_id"}``;
    - a digest kind: ``[keyed-digest:kind = 'payment-fingerprint' AND keyed-digest:digest
      = '<64 hex>' AND keyed-digest:key_id = 'k']`` -> ``{"digest", "key_id"}``;
    - ``hosting-range``: ``[ipv4-addr:value ISSUBSET '198.51.100.0/24']`` (or ipv6-addr)
      -> ``{"network"}``.

    Anything else (other objects, OR, qualifiers, a malformed digest) gives None.

    >>> kind, v = parse_pattern("[keyed-digest:kind = 'ip-address' AND "
    ...     "keyed-digest:digest = '" + "ab" * 32 + "' AND keyed-digest:key_id = 'k1']")
    >>> kind, v["key_id"]
    ('ip-address', 'k1')
    >>> parse_pattern("[ipv4-addr:value ISSUBSET '2001:db8::/64']") is None
    True
    """
    comps = _comparisons(pattern)
    if comps is None:
        return None
    if len(comps) == 1 and comps[0][2] == "ISSUBSET" and comps[0][1] == "value":
        obj, _, _, value = comps[0]
        version = {"ipv4-addr": 4, "ipv6-addr": 6}.get(obj)
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError:
            return None
        if net.version != version:
            return None
        return "hosting-range", {"network": str(net)}
    tmpl = _props(comps, "llm-prompt-fingerprint", _TEMPLATE_PROPS)
    if tmpl is not None:
        tmpl["digest"] = tmpl["digest"].lower()
        if tmpl["part"] in ("head", "tail", "prompt") and _valid_keyed(tmpl):
            return "template", tmpl
        return None
    dig = _props(comps, "keyed-digest", _DIGEST_PROPS)
    if dig is not None:
        dig["digest"] = dig["digest"].lower()
        kind = dig.pop("kind")
        if kind in DIGEST_KINDS and _valid_keyed(dig):
            return kind, dig
    return None


def _valid_keyed(props: dict[str, str]) -> bool:
    return bool(_HEX64.fullmatch(props["digest"])) and bool(props["key_id"].strip())


# ---------------------------------------------------------------------------- loading


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime, or None if it is not one.

    >>> parse_time("2026-11-02T10:00:00.123Z").isoformat()
    '2026-11-02T10:00:00.123000+00:00'
    >>> parse_time("yesterday") is None, parse_time("2026-11-02T10:00:00") is None
    (True, True)
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def _bundle_files(directory: Path) -> Iterator[Path]:
    for path in sorted(directory.rglob("*.json")):
        if path.is_file() and path.name != STATE_FILE:
            yield path


def _read_bundle(path: Path, skipped: Counter[str]) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        skipped["file: not readable JSON"] += 1
        return []
    if not isinstance(data, dict) or data.get("type") != "bundle":
        skipped["file: not a STIX bundle"] += 1
        return []
    objects = data.get("objects", [])
    if not isinstance(objects, list):
        skipped["file: bundle objects is not a list"] += 1
        return []
    good = []
    for obj in objects:
        if isinstance(obj, dict) and isinstance(obj.get("type"), str) and _has_id(obj):
            good.append(obj)
        else:
            skipped["object: no type or id"] += 1
    return good


def _has_id(obj: dict[str, Any]) -> bool:
    oid = obj.get("id")
    return isinstance(oid, str) and oid.startswith(f"{obj['type']}--")


def _version(obj: dict[str, Any]) -> datetime | None:
    stamp = obj.get("modified", obj.get("created"))
    return parse_time(stamp) if stamp is not None else datetime.min.replace(tzinfo=UTC)


class _Latest:
    """The latest version of each object id, and the ids revoked in any version."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[datetime, dict[str, Any]]] = {}
        self.revoked: set[str] = set()

    def add(self, obj: dict[str, Any], skipped: Counter[str]) -> None:
        version = _version(obj)
        if version is None:
            skipped["object: bad modified timestamp"] += 1
            return
        oid = obj["id"]
        if obj.get("revoked") is True:
            self.revoked.add(oid)
        held = self.objects.get(oid)
        if held is None or version >= held[0]:
            self.objects[oid] = (version, obj)

    def current(self, skipped: Counter[str]) -> list[dict[str, Any]]:
        out = []
        for oid, (_, obj) in sorted(self.objects.items()):
            if oid in self.revoked:
                skipped["object: revoked"] += 1
            else:
                out.append(obj)
        return out


def _renewals(objects: list[dict[str, Any]]) -> dict[str, datetime]:
    """Latest ``last_seen`` of a non-false-positive sighting, per sighted indicator id."""
    out: dict[str, datetime] = {}
    for obj in objects:
        if obj["type"] != "sighting" or _false_positive(obj):
            continue
        ref, seen = obj.get("sighting_of_ref"), parse_time(obj.get("last_seen"))
        if isinstance(ref, str) and seen is not None and (ref not in out or seen > out[ref]):
            out[ref] = seen
    return out


def _false_positive(sighting: dict[str, Any]) -> bool:
    exts = sighting.get("extensions")
    if not isinstance(exts, dict):
        return False
    return any(isinstance(e, dict) and e.get("false_positive") is True for e in exts.values())


def _campaigns(objects: list[dict[str, Any]]) -> dict[str, str]:
    """Indicator id -> the campaign it ``indicates`` (lowest id if several)."""
    out: dict[str, str] = {}
    for obj in objects:
        if obj["type"] != "relationship" or obj.get("relationship_type") != "indicates":
            continue
        src, dst = obj.get("source_ref"), obj.get("target_ref")
        if (
            isinstance(src, str)
            and isinstance(dst, str)
            and dst.startswith("campaign--")
            and (src not in out or dst < out[src])
        ):
            out[src] = dst
    return out


def _sketch(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, list) or len(value) != MINHASH_PERM:
        return None
    if not all(type(v) is int and 0 <= v < 2**32 for v in value):
        return None
    return tuple(value)


def _fingerprint_sketches(
    objects: list[dict[str, Any]],
) -> dict[tuple[str, str, str], tuple[int, ...] | None]:
    """(part, digest, key_id) of each ``llm-prompt-fingerprint`` SCO -> its sketch."""
    out: dict[tuple[str, str, str], tuple[int, ...] | None] = {}
    for o in objects:
        key = (o.get("part"), o.get("digest"), o.get("key_id"))
        if o["type"] == "llm-prompt-fingerprint" and all(isinstance(k, str) for k in key):
            out[(str(key[0]), str(key[1]).lower(), str(key[2]))] = _sketch(o.get("minhash"))
    return out


@dataclass
class _Context:
    at: datetime
    names: dict[str, str]
    campaigns: dict[str, str]
    renewals: dict[str, datetime]
    sketches: dict[tuple[str, str, str], tuple[int, ...] | None]
    skipped: Counter[str]
    notes: Counter[str]


def _info(obj: dict[str, Any], kind: str, ctx: _Context) -> IndicatorInfo | None:
    """The indicator's common fields, or None (counted) if it is unusable or expired."""
    oid = obj["id"]
    publisher = obj.get("created_by_ref")
    start = parse_time(obj.get("valid_from"))
    if not isinstance(publisher, str) or not publisher.startswith("identity--"):
        ctx.skipped["indicator: no created_by_ref identity"] += 1
        return None
    if start is None:
        ctx.skipped["indicator: bad valid_from"] += 1
        return None
    until: datetime | None = None
    renewed = False
    if "valid_until" in obj:
        end = parse_time(obj["valid_until"])
        if end is None or end <= start:
            ctx.skipped["indicator: bad valid_until"] += 1
            return None
        until = end
        seen = ctx.renewals.get(oid)
        if seen is not None and seen + (end - start) > end:
            until = seen + (end - start)
            renewed = True
        if until <= ctx.at:
            ctx.skipped["indicator: expired"] += 1
            return None
    conf = obj.get("confidence", DEFAULT_CONFIDENCE)
    if type(conf) is not int or not 0 <= conf <= 100:
        ctx.skipped["indicator: bad confidence"] += 1
        return None
    campaign = ctx.campaigns.get(oid)
    name = obj.get("name")
    return IndicatorInfo(
        indicator_id=oid,
        kind=kind,
        name=name if isinstance(name, str) else "",
        confidence=conf,
        publisher_id=publisher,
        publisher=ctx.names.get(publisher, publisher),
        campaign_ref=campaign,
        campaign_name=ctx.names.get(campaign) if campaign else None,
        valid_from=start,
        active_until=until,
        renewed=renewed,
    )


def _add_indicator(obj: dict[str, Any], intel: PeerIntel, ctx: _Context) -> None:
    pattern_type = obj.get("pattern_type")
    pattern = obj.get("pattern")
    if pattern_type != "stix":
        intel.skipped[f"indicator: pattern_type {str(pattern_type)[:20]!r} not matched"] += 1
        return
    if not isinstance(pattern, str):
        intel.skipped["indicator: no pattern"] += 1
        return
    parsed = parse_pattern(pattern)
    if parsed is None:
        intel.skipped["indicator: unsupported pattern"] += 1
        return
    kind, props = parsed
    if kind == "template" and props["part"] not in MATCHED_PARTS:
        intel.skipped[f"indicator: template part {props['part']!r} not matched locally"] += 1
        return
    info = _info(obj, kind, ctx)
    if info is None:
        return
    if kind == "template":
        sketch = ctx.sketches.get((props["part"], props["digest"], props["key_id"]))
        if sketch is None:
            intel.notes["template without a valid sketch (exact match only)"] += 1
        intel.templates.append(
            TemplateIndicator(info, props["part"], props["digest"], props["key_id"], sketch)
        )
    elif kind == "hosting-range":
        intel.ranges.append(RangeIndicator(info, ipaddress.ip_network(props["network"])))
    else:
        intel.digests.append(DigestIndicator(info, kind, props["digest"], props["key_id"]))


def load_intel(directory: Path, *, at: datetime) -> PeerIntel:
    """Peers' indicators in force at ``at`` from every bundle under ``directory``.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "broken.json").write_text("{")
    ...     intel = load_intel(Path(d), at=datetime(2026, 11, 1, tzinfo=UTC))
    >>> len(intel), intel.n_files, dict(intel.skipped)
    (0, 1, {'file: not readable JSON': 1})
    """
    if not directory.is_dir():
        raise IntelError(
            f"intel directory {directory} does not exist; fetch peers' intel with "
            f"`distillwatch intel pull --out {directory}`"
        )
    at = at.astimezone(UTC)
    intel = PeerIntel(at=at)
    latest = _Latest()
    for path in _bundle_files(directory):
        intel.n_files += 1
        for obj in _read_bundle(path, intel.skipped):
            latest.add(obj, intel.skipped)
    objects = latest.current(intel.skipped)
    names = {
        o["id"]: o["name"]
        for o in objects
        if o["type"] in ("identity", "campaign") and isinstance(o.get("name"), str)
    }
    ctx = _Context(
        at=at,
        names=names,
        campaigns=_campaigns(objects),
        renewals=_renewals(objects),
        sketches=_fingerprint_sketches(objects),
        skipped=intel.skipped,
        notes=intel.notes,
    )
    for obj in objects:
        if obj["type"] == "indicator":
            _add_indicator(obj, intel, ctx)
    return intel

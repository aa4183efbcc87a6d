"""``intel build``: the STIX 2.1 bundle a provider publishes about its flagged campaigns.

Input is the scan's ``campaigns.json`` (format ``distillwatch-campaigns/1``); only flagged
campaigns are published. Per campaign the bundle holds::

    campaign --attributed-to--> intrusion-set (DW-ACTOR-xxxxxxxx, one per actor or campaign)
    campaign --uses--> attack-pattern (MITRE ATLAS external_id, config/atlas.toml)
    campaign --uses--> infrastructure (anonymization: residential fleet; unknown: hosting)
                           --consists-of--> autonomous-system, ipv4/6-addr (hosting ranges)
    indicator --indicates--> campaign, for every template fingerprint, payment fingerprint,
                             residential address or prefix (keyed digests) and hosting range

plus the publisher's ``identity``, the TLP 2.0 ``marking-definition`` and the three shipped
``extension-definition`` objects. What never leaves: prompt or skeleton text (templates
travel as keyed digests and keyed MinHash sketches only), payment fingerprints and
residential IPs (keyed digests only), account ids, campaign ids, volumes beyond counts.
Residential addresses and prefixes appear only as ``keyed-digest`` SCOs with their
indicators, never as infrastructure members: a relationship to a custom SCO is not
strict STIX for ``stix2``, and every standard object here parses strictly.
A template is shared only when at least 2 of the campaign's accounts (or 20% of its
requests) use it and it has at least one word besides placeholders.

Timing: campaigns, intrusion-sets, infrastructure and their relationships are dated by the
data (created = first_seen, modified = last_seen); indicators are valid from the build
time ``now`` for ``ttl_days`` (never past the group key's validity when keyed), created at
the campaign's first_seen and modified at ``now``, so a rebuild publishes a new version of
the same ids. Same input, key and ``now`` give the same text byte for byte.

>>> import json, tempfile
>>> from datetime import datetime, UTC
>>> from pathlib import Path
>>> from distillwatch.intel.keys import GroupKey, Keyring
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> ring = Keyring("g", [GroupKey("g-1", bytes(32), t0, datetime(2027, 1, 1, tzinfo=UTC))])
>>> with tempfile.TemporaryDirectory() as tmp:
...     _ = (Path(tmp) / "campaigns.json").write_text(
...         '{"format": "distillwatch-campaigns/1", "campaigns": []}')
...     text = build_bundle(Path(tmp), org_name="acme", keyring=ring, now=t0)
>>> [o["type"] for o in json.loads(text)["objects"]][:3]
['identity', 'marking-definition', 'marking-definition']
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from distillwatch.errors import IntelError, UsageError
from distillwatch.intel import extensions as ext
from distillwatch.intel.fingerprints import part_digest, sketches, value_digest
from distillwatch.intel.keys import GroupKey, Keyring
from distillwatch.intel.vocab import FINGERPRINT_PARTS
from distillwatch.outputs import tlp
from distillwatch.outputs.atlas import AtlasCatalog, load_atlas
from distillwatch.outputs.fmt import as_utc, ranked_campaigns, rfc3339
from distillwatch.outputs.ids import campaign_pseudonym, identity_id, stable_uuid
from distillwatch.outputs.intel import (
    IDENTITY_CREATED,
    OBJECTIVE,
    _attack_pattern,
    _pattern_id,
    campaign_description,
)
from distillwatch.results import CampaignVerdict, InfraUse, SignalHit, TemplateUse, ValueUse

CAMPAIGNS_FORMAT = "distillwatch-campaigns/1"
#: a template is shared when this many of the campaign's accounts use it ...
MIN_TEMPLATE_ACCOUNTS = 2
#: ... or when it carries this share of the campaign's requests
MIN_TEMPLATE_SHARE = 0.2
_PLACEHOLDER = re.compile(r"<[cvuqn]>")
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
#: order of object types in the bundle (unknown types last)
_TYPE_ORDER = (
    "identity",
    "marking-definition",
    "extension-definition",
    "attack-pattern",
    "intrusion-set",
    "campaign",
    "infrastructure",
    "autonomous-system",
    "ipv4-addr",
    "ipv6-addr",
    "keyed-digest",
    "llm-prompt-fingerprint",
    "indicator",
    "relationship",
)

T = TypeVar("T")

# ------------------------------------------------------------------ reading campaigns.json


class _Reader:
    """Typed access to one JSON object of campaigns.json with one-line errors."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    @classmethod
    def of(cls, data: Any, where: str) -> _Reader:
        if not isinstance(data, dict):
            raise IntelError(f"{where} must be a JSON object")
        return cls(data, where)

    def get(self, name: str, kind: type | tuple[type, ...], *, default: Any = ...) -> Any:
        if name not in self.data:
            if default is ...:
                raise IntelError(f"{self.where} lacks '{name}'; rerun `distillwatch scan`")
            return default
        value = self.data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int in Python; never accept it where a number is meant
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise IntelError(f"{self.where}.{name} has the wrong type: {value!r}")
        return value

    def text(self, name: str) -> str:
        value: str = self.get(name, str)
        if not value.strip():
            raise IntelError(f"{self.where}.{name} is empty")
        return value

    def count(self, name: str) -> int:
        value: int = self.get(name, int)
        if value < 0:
            raise IntelError(f"{self.where}.{name} is negative: {value}")
        return value

    def time(self, name: str) -> datetime:
        text = self.text(name)
        try:
            ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise IntelError(f"{self.where}.{name} is not an RFC 3339 time: {text!r}") from exc
        return as_utc(ts)

    def strings(self, name: str) -> list[str]:
        values: list[Any] = self.get(name, list, default=[])
        if not all(isinstance(v, str) for v in values):
            raise IntelError(f"{self.where}.{name} must be a list of strings")
        return list(values)

    def items(self, name: str, parse: Callable[[_Reader], T]) -> list[T]:
        values: list[Any] = self.get(name, list, default=[])
        return [parse(_Reader.of(v, f"{self.where}.{name}[{i}]")) for i, v in enumerate(values)]


def _template(r: _Reader) -> TemplateUse:
    part = r.text("part")
    if part not in FINGERPRINT_PARTS:
        raise IntelError(f"{r.where}.part must be one of {FINGERPRINT_PARTS}, got {part!r}")
    n_input = r.count("n_accounts_input") if "n_accounts_input" in r.data else 0
    # -1: unknown (campaigns.json from before the field existed)
    n_variants = r.count("n_variants") if "n_variants" in r.data else -1
    return TemplateUse(
        part,
        r.get("skeleton", str),
        r.count("n_accounts"),
        r.count("n_requests"),
        n_input,
        n_variants,
    )


def _infra(r: _Reader) -> InfraUse:
    kind = r.text("kind")
    if kind not in ("asn", "ip-prefix", "ip-address"):
        raise IntelError(f"{r.where}.kind must be asn, ip-prefix or ip-address, got {kind!r}")
    value = r.text("value").strip()
    if kind == "asn":
        digits = value.upper().removeprefix("AS")
        if not digits.isdigit():
            raise IntelError(f"{r.where}.value is not an AS number: {value!r}")
        value = str(int(digits))
    else:
        try:
            ext.normalize_network(value)
        except IntelError as exc:
            raise IntelError(f"{r.where}.value: {exc}") from None
    return InfraUse(kind, value, r.get("hosting", bool), r.count("n_accounts"))


def _campaign(r: _Reader) -> CampaignVerdict:
    risk = float(r.get("risk", (int, float)))
    if not 0.0 <= risk <= 1.0:
        raise IntelError(f"{r.where}.risk must be in [0, 1], got {risk}")
    signals = r.strings("signals")
    # campaign_description lists the signals of the strongest hits: keep the file's order
    hits = [SignalHit(s, 1.0, float(len(signals) - i), {}) for i, s in enumerate(signals)]
    first, last = r.time("first_seen"), r.time("last_seen")
    if last < first:
        raise IntelError(f"{r.where}: last_seen is before first_seen")
    actor = r.get("actor_id", (str, type(None)), default=None)
    return CampaignVerdict(
        campaign_id=r.text("campaign_id"),
        account_ids=r.strings("account_ids"),
        n_requests=r.count("n_requests"),
        risk=risk,
        flagged=r.get("flagged", bool),
        first_seen=first,
        last_seen=last,
        hits=hits,
        actor_id=actor or None,
        techniques=r.strings("techniques"),
        templates=r.items("templates", _template),
        infrastructure=r.items("infrastructure", _infra),
        payment_fingerprints=r.items(
            "payment_fingerprints", lambda v: ValueUse(v.text("value"), v.count("n_accounts"))
        ),
    )


def load_campaigns(source: Path) -> list[CampaignVerdict]:
    """Every campaign of ``campaigns.json`` (``source`` is the file or the scan directory).

    Raises :class:`IntelError` with the problem and where it is.
    """
    path = source / "campaigns.json" if source.is_dir() else source
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IntelError(
            f"{path} not found; pass the --out directory of `distillwatch scan` "
            "(scans write campaigns.json) or the campaigns.json file itself"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntelError(f"cannot read {path}: {exc}") from exc
    root = _Reader.of(data, str(path))
    fmt = root.get("format", str, default=None)
    if fmt != CAMPAIGNS_FORMAT:
        raise IntelError(f"{path} is not {CAMPAIGNS_FORMAT} (format {fmt!r}); rerun the scan")
    return root.items("campaigns", _campaign)


# ------------------------------------------------------------------ building the bundle


@dataclass
class _Build:
    """State of one bundle under construction."""

    stix2: Any
    org: str
    key: GroupKey
    now: datetime
    ttl: timedelta
    marking_id: str
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def identity_id(self) -> str:
        return identity_id(self.org)

    @property
    def marks(self) -> dict[str, Any]:
        return {"created_by_ref": self.identity_id, "object_marking_refs": [self.marking_id]}

    @property
    def sco_marks(self) -> dict[str, Any]:
        return {"object_marking_refs": [self.marking_id]}

    def add(self, obj: Any) -> str:
        """Add a stix2 object or a JSON dict (first one wins for a repeated id)."""
        data = obj if isinstance(obj, dict) else json.loads(obj.serialize())
        self.objects.setdefault(data["id"], data)
        return str(data["id"])

    def relate(
        self, rtype: str, source: str, target: str, created: datetime, modified: datetime
    ) -> None:
        self.add(
            self.stix2.Relationship(
                id="relationship--" + stable_uuid("relationship", self.org, source, rtype, target),
                relationship_type=rtype,
                source_ref=source,
                target_ref=target,
                created=created,
                modified=modified,
                **self.marks,
            )
        )


def _confidence(risk: float) -> int:
    return max(0, min(100, round(100 * risk)))


def actor_pseudonym(org_name: str, actor_key: str) -> str:
    """The name an intrusion-set is shared under: ``DW-ACTOR-`` and 8 hex digits.

    >>> actor_pseudonym("acme", "actor:a-1")
    'DW-ACTOR-9EE02E72'
    """
    digest = uuid.UUID(stable_uuid("actor-name", org_name, actor_key)).hex
    return f"DW-ACTOR-{digest[:8].upper()}"


def _actor_key(camp: CampaignVerdict) -> str:
    return f"actor:{camp.actor_id}" if camp.actor_id else f"campaign:{camp.campaign_id}"


def _intrusion_sets(b: _Build, flagged: list[CampaignVerdict]) -> dict[str, str]:
    """One intrusion-set per actor (or per campaign without one): campaign_id -> its id."""
    groups: dict[str, list[CampaignVerdict]] = {}
    for camp in flagged:
        groups.setdefault(_actor_key(camp), []).append(camp)
    out: dict[str, str] = {}
    for key, camps in groups.items():
        first = min(as_utc(c.first_seen) for c in camps)
        last = max(as_utc(c.last_seen) for c in camps)
        n = len(camps)
        obj_id = b.add(
            b.stix2.IntrusionSet(
                id="intrusion-set--" + stable_uuid("intrusion-set", b.org, key),
                name=actor_pseudonym(b.org, key),
                description=(
                    f"Pseudonymous actor behind {n} suspected adversarial distillation "
                    f"campaign{'s' if n > 1 else ''}."
                ),
                first_seen=first,
                last_seen=last,
                created=first,
                modified=last,
                **b.marks,
            )
        )
        out.update({c.campaign_id: obj_id for c in camps})
    return out


@dataclass(frozen=True)
class _Campaign:
    """Builds one campaign's objects into a :class:`_Build`."""

    b: _Build
    camp: CampaignVerdict
    first: datetime
    last: datetime
    name: str
    confidence: int
    id: str

    @classmethod
    def of(cls, b: _Build, camp: CampaignVerdict) -> _Campaign:
        return cls(
            b,
            camp,
            as_utc(camp.first_seen),
            as_utc(camp.last_seen),
            campaign_pseudonym(camp.campaign_id, b.org),
            _confidence(camp.risk),
            "campaign--" + stable_uuid("campaign", b.org, camp.campaign_id),
        )

    def build(self, intrusion_set: str, catalog: AtlasCatalog) -> None:
        b, camp = self.b, self.camp
        b.add(
            b.stix2.Campaign(
                id=self.id,
                name=self.name,
                description=campaign_description(camp),
                objective=OBJECTIVE,
                first_seen=self.first,
                last_seen=self.last,
                confidence=self.confidence,
                created=self.first,
                modified=self.last,
                **b.marks,
            )
        )
        b.relate("attributed-to", self.id, intrusion_set, self.first, self.last)
        for tech_id in dict.fromkeys(camp.techniques):
            tech = catalog.get(tech_id)
            if tech is None:
                continue
            b.add(_attack_pattern(b.stix2, tech, b.org, catalog.updated, b.marks))
            b.add(  # same id as today's outputs/intel.py, so both builders agree
                b.stix2.Relationship(
                    id="relationship--"
                    + stable_uuid("relationship", b.org, camp.campaign_id, "uses", tech.id),
                    relationship_type="uses",
                    source_ref=self.id,
                    target_ref=_pattern_id(b.org, tech.id),
                    created=self.first,
                    modified=self.last,
                    **b.marks,
                )
            )
        self._templates()
        self._payments()
        for hosting in (False, True):
            self._infrastructure(hosting)

    def indicator(self, name: str, pattern: str, *, keyed: bool) -> None:
        b = self.b
        created = min(self.first, b.now)
        until = b.now + b.ttl
        if keyed:  # a digest is useless to peers once its key has expired
            until = min(until, b.key.valid_until)
        ind_id = b.add(
            b.stix2.Indicator(
                id="indicator--" + stable_uuid("indicator", b.org, self.camp.campaign_id, pattern),
                name=f"{self.name} {name}",
                indicator_types=["malicious-activity"],
                pattern=pattern,
                pattern_type="stix",
                pattern_version="2.1",
                valid_from=b.now,
                valid_until=until,
                confidence=self.confidence,
                created=created,
                modified=b.now,
                **b.marks,
            )
        )
        b.relate("indicates", ind_id, self.id, created, created)

    def _templates(self) -> None:
        b = self.b
        keep = [t for t in self.camp.templates if _shareable(t, self.camp.n_requests)]
        if not keep:
            return
        sk = sketches(b.key, pa.array([t.skeleton for t in keep], type=pa.string()))
        for t, sketch in zip(keep, sk, strict=True):
            digest = part_digest(b.key, t.part, t.skeleton)
            b.add(
                ext.fingerprint_sco(
                    t.part, digest, b.key.key_id, sketch.tolist(), marking_ref=b.marking_id
                )
            )
            pattern = ext.fingerprint_pattern(t.part, digest, b.key.key_id)
            self.indicator(f"prompt template {t.part} fingerprint", pattern, keyed=True)

    def _payments(self) -> None:
        b = self.b
        for p in self.camp.payment_fingerprints:
            digest = value_digest(b.key, "payment-fingerprint", p.value)
            b.add(
                ext.keyed_digest_sco(
                    "payment-fingerprint", digest, b.key.key_id, marking_ref=b.marking_id
                )
            )
            pattern = ext.keyed_digest_pattern("payment-fingerprint", digest, b.key.key_id)
            self.indicator("payment fingerprint (keyed digest)", pattern, keyed=True)

    def _infrastructure(self, hosting: bool) -> None:
        b = self.b
        uses = [u for u in self.camp.infrastructure if u.hosting == hosting]
        if not uses:
            return
        members = [m for m in map(self._member, uses) if m is not None]
        n_asn = sum(u.kind == "asn" for u in uses)
        what = "hosting" if hosting else "residential proxy"
        infra_id = b.add(
            b.stix2.Infrastructure(
                id="infrastructure--"
                + stable_uuid("infrastructure", b.org, self.camp.campaign_id, what),
                name=f"{self.name} {what} fleet",
                description=(
                    f"{what.capitalize()} networks of the campaign's accounts: ASNs {n_asn}, "
                    f"address ranges {len(uses) - n_asn}"
                    + ("." if hosting else " (as keyed digests).")
                ),
                infrastructure_types=["unknown"] if hosting else ["anonymization"],
                first_seen=self.first,
                last_seen=self.last,
                created=self.first,
                modified=self.last,
                **b.marks,
            )
        )
        b.relate("uses", self.id, infra_id, self.first, self.last)
        for member in dict.fromkeys(members):
            b.relate("consists-of", infra_id, member, self.first, self.last)

    def _member(self, use: InfraUse) -> str | None:
        """Publish one network (its SCO, and an indicator unless an ASN); the id of the
        standard SCO that is an infrastructure member, None for a keyed digest."""
        b = self.b
        if use.kind == "asn":
            return b.add(b.stix2.AutonomousSystem(number=int(use.value), **b.sco_marks))
        cidr = ext.normalize_network(use.value)
        net = ipaddress.ip_network(cidr)
        if use.hosting:
            value = str(net.network_address) if use.kind == "ip-address" else cidr
            cls = b.stix2.IPv4Address if net.version == 4 else b.stix2.IPv6Address
            sco_id = b.add(cls(value=value, **b.sco_marks))
            self.indicator(f"hosting range {cidr}", ext.range_pattern(cidr), keyed=False)
            return sco_id
        text = str(net.network_address) if use.kind == "ip-address" else cidr
        digest = value_digest(b.key, use.kind, text)
        b.add(ext.keyed_digest_sco(use.kind, digest, b.key.key_id, marking_ref=b.marking_id))
        label = "address" if use.kind == "ip-address" else "prefix"
        pattern = ext.keyed_digest_pattern(use.kind, digest, b.key.key_id)
        self.indicator(f"residential {label} (keyed digest)", pattern, keyed=True)
        return None


def _shareable(t: TemplateUse, n_requests: int) -> bool:
    """Used widely enough, mostly by the campaign (a corpus task that other users of the
    input ask too would match peers' honest customers), and more than placeholders."""
    if not _PLACEHOLDER.sub(" ", t.skeleton).strip():
        return False
    outside = t.n_accounts_input - t.n_accounts
    if outside > max(1, MAX_OUTSIDE_SHARE * t.n_accounts):
        return False
    if 0 <= t.n_variants < MIN_VARIANTS:  # the task harvested, not the tooling around it
        return False
    return t.n_accounts >= MIN_TEMPLATE_ACCOUNTS or (
        n_requests > 0 and t.n_requests >= MIN_TEMPLATE_SHARE * n_requests
    )


#: a template is shared only if accounts outside the campaign that use it are at most this
#: share of the campaign's (and at least 1 is tolerated): a corpus task that honest users
#: also ask would match peers' honest customers
MAX_OUTSIDE_SHARE = 0.1
#: a template part is shared only if it comes with at least this many distinct other parts
#: in the campaign: a wrapper surrounds many tasks, while a public-dataset task that one
#: wrapper surrounds would match peers' honest users of that dataset
MIN_VARIANTS = 5


def _ordered(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    rank = {t: i for i, t in enumerate(_TYPE_ORDER)}
    return sorted(objects, key=lambda o: rank.get(o["type"], len(rank)))


def build_bundle(
    scan_dir_or_campaigns_json: Path,
    *,
    org_name: str,
    keyring: Keyring,
    tlp_level: str = "amber",
    ttl_days: int = 30,
    now: datetime | None = None,
    atlas: AtlasCatalog | None = None,
) -> str:
    """The STIX 2.1 bundle text (indented JSON) of the flagged campaigns of a scan.

    Uses the newest key of ``keyring`` valid at ``now`` (default: the current time).
    Raises :class:`UsageError` for an empty org name, TLP:RED or an unknown level, or
    ``ttl_days`` < 1, and :class:`IntelError` for an unreadable campaigns.json or key.
    """
    import stix2.v21 as stix2  # lazy: ~0.3 s to import
    from stix2.exceptions import STIXError

    level = tlp.shareable_level(tlp_level)
    if not org_name.strip():
        raise UsageError("the organization name is empty; pass --org NAME")
    if ttl_days < 1:
        raise UsageError(f"--ttl-days must be at least 1, got {ttl_days}")
    at = as_utc(now) if now is not None else datetime.now(UTC).replace(microsecond=0)
    key = keyring.current(at)
    if not _KEY_ID.fullmatch(key.key_id):
        raise IntelError(
            f"key id {key.key_id!r} may only hold letters, digits and . _ : - (at most 128); "
            "make a new key with `distillwatch intel keygen`"
        )
    campaigns = [
        c for c in ranked_campaigns(load_campaigns(scan_dir_or_campaigns_json)) if c.flagged
    ]
    catalog = atlas if atlas is not None else load_atlas()
    marking = tlp.marking_object(level)
    b = _Build(stix2, org_name, key, at, timedelta(days=ttl_days), marking["id"])
    try:
        b.add(
            stix2.Identity(
                id=b.identity_id,
                name=org_name,
                identity_class="organization",
                created=IDENTITY_CREATED,
                modified=IDENTITY_CREATED,
                **b.marks,
            )
        )
        b.add(marking)
        # the shipped extension definitions are public: marked TLP:CLEAR whatever we publish
        b.add(tlp.marking_object("clear"))
        for definition in ext.load_definitions():
            b.add(definition)
        actors = _intrusion_sets(b, campaigns)
        for camp in campaigns:
            _Campaign.of(b, camp).build(actors[camp.campaign_id], catalog)
    except (STIXError, ValueError) as exc:
        raise IntelError(f"cannot build a valid STIX bundle from the scan: {exc}") from exc
    ids = sorted(c.campaign_id for c in campaigns)
    bundle_id = "bundle--" + stable_uuid(
        "bundle", org_name, b.marking_id, key.key_id, rfc3339(at), *ids
    )
    bundle = {"type": "bundle", "id": bundle_id, "objects": _ordered(b.objects.values())}
    return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"

"""Where requests come from: countries, autonomous systems, addresses, user agents.

Addresses are drawn inside the plausible public blocks of ``sim/data/network.toml``; a
:class:`Subnet` is one /24 (IPv4) or /64 (IPv6) from which hosts are drawn.

>>> import random
>>> net = load_network()
>>> rng = random.Random(3)
>>> info = net.pick_asn(rng, "residential", "DE")
>>> info.country, info.kind
('DE', 'residential')
>>> ep = net.subnet(rng, info, v6=False).endpoint(rng)
>>> ep.asn == info.asn and ep.ip.count(".") == 3
True
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from functools import cached_property

from distillwatch.errors import ConfigError
from distillwatch.sim.choice import Weighted
from distillwatch.sim.spec import NETWORK_KINDS, UA_FAMILIES
from distillwatch.sim.tomldata import as_float, as_int, as_str, as_str_list, as_table, load_data


@dataclass(frozen=True)
class Endpoint:
    """A client address as the provider sees it."""

    ip: str
    asn: int
    country: str


@dataclass(frozen=True)
class AsnInfo:
    asn: int
    name: str
    kind: str
    country: str
    #: (first address, number of /24s) per IPv4 block
    v4: tuple[tuple[int, int], ...]
    #: (first address, number of /64s) per IPv6 block
    v6: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Subnet:
    """One /24 or /64 inside an AS."""

    base: int
    v6: bool
    asn: int
    country: str

    def endpoint(self, rng: random.Random) -> Endpoint:
        if self.v6:
            ip = str(ipaddress.IPv6Address(self.base + rng.getrandbits(64)))
        else:
            ip = str(ipaddress.IPv4Address(self.base + rng.randint(2, 253)))
        return Endpoint(ip, self.asn, self.country)


class Network:
    """The geography tables, with seeded draws over them."""

    def __init__(
        self,
        countries: dict[str, tuple[tuple[float, ...], float]],
        asns: list[AsnInfo],
        user_agents: dict[str, Weighted[str]],
    ) -> None:
        self.countries = countries
        self.asns = asns
        self.user_agents = user_agents

    @cached_property
    def country_choice(self) -> Weighted[str]:
        """Home countries of users, by weight."""
        return Weighted.from_pairs((c, w) for c, (_, w) in self.countries.items())

    @cached_property
    def _by_kind(self) -> dict[str, list[AsnInfo]]:
        out: dict[str, list[AsnInfo]] = {}
        for info in self.asns:
            out.setdefault(info.kind, []).append(info)
        return out

    @cached_property
    def _by_kind_country(self) -> dict[tuple[str, str], list[AsnInfo]]:
        out: dict[tuple[str, str], list[AsnInfo]] = {}
        for info in self.asns:
            out.setdefault((info.kind, info.country), []).append(info)
        return out

    @cached_property
    def _by_number(self) -> dict[int, AsnInfo]:
        return {info.asn: info for info in self.asns}

    def offsets(self, country: str) -> tuple[float, ...]:
        return self.countries[country][0]

    def asn(self, number: int) -> AsnInfo:
        try:
            return self._by_number[number]
        except KeyError as exc:
            raise ConfigError(f"network.toml has no AS{number}") from exc

    def pick_asn(self, rng: random.Random, kind: str, country: str | None = None) -> AsnInfo:
        """An AS of this kind, in *country* when it has one."""
        if country is not None:
            local = self._by_kind_country.get((kind, country))
            if local:
                return rng.choice(local)
        pool = self._by_kind.get(kind)
        if not pool:
            raise ConfigError(f"network.toml has no AS of kind {kind!r}")
        return rng.choice(pool)

    def subnet(self, rng: random.Random, info: AsnInfo, v6: bool) -> Subnet:
        """A random /24 (or /64 when *v6* and the AS has IPv6) of the AS."""
        if v6 and info.v6:
            base, count = rng.choice(info.v6)
            return Subnet(base + (rng.randrange(count) << 64), True, info.asn, info.country)
        base, count = rng.choice(info.v4)
        return Subnet(base + (rng.randrange(count) << 8), False, info.asn, info.country)

    def pick_user_agent(self, rng: random.Random, family: str) -> str:
        return self.user_agents[family].pick(rng)


def _blocks(cidrs: tuple[str, ...], host_bits: int, what: str) -> tuple[tuple[int, int], ...]:
    out = []
    for cidr in cidrs:
        try:
            net = ipaddress.ip_network(cidr)
        except ValueError as exc:
            raise ConfigError(f"{what}: {cidr!r} is not a network") from exc
        subnets = 1 << max(0, net.max_prefixlen - net.prefixlen - host_bits)
        out.append((int(net.network_address), subnets))
    return tuple(out)


def load_network(file_name: str = "network.toml") -> Network:
    """Countries, autonomous systems and user agents, validated."""
    data = load_data(file_name)
    countries: dict[str, tuple[tuple[float, ...], float]] = {}
    for entry in data.get("country", []):
        t = as_table(entry, f"{file_name} country")
        code = as_str(t.get("code"), f"{file_name} country.code")
        offsets = t.get("utc_offsets")
        if not isinstance(offsets, list) or not offsets:
            raise ConfigError(f"{file_name} country {code}: utc_offsets must be a list")
        countries[code] = (
            tuple(as_float(o, f"{file_name} {code}.utc_offsets") for o in offsets),
            as_float(t.get("weight"), f"{file_name} {code}.weight"),
        )
    asns = []
    for entry in data.get("asn", []):
        t = as_table(entry, f"{file_name} asn")
        number = as_int(t.get("asn"), f"{file_name} asn.asn")
        what = f"{file_name} AS{number}"
        kind = as_str(t.get("kind"), f"{what}.kind")
        if kind not in NETWORK_KINDS:
            raise ConfigError(f"{what}.kind must be one of {', '.join(NETWORK_KINDS)}")
        v6 = t.get("v6", [])
        asns.append(
            AsnInfo(
                asn=number,
                name=as_str(t.get("name"), f"{what}.name"),
                kind=kind,
                country=as_str(t.get("country"), f"{what}.country"),
                v4=_blocks(as_str_list(t.get("v4"), f"{what}.v4"), 8, what),
                v6=_blocks(tuple(v6), 64, what) if v6 else (),
            )
        )
    pairs: dict[str, list[tuple[str, float]]] = {f: [] for f in UA_FAMILIES}
    for entry in data.get("user_agent", []):
        t = as_table(entry, f"{file_name} user_agent")
        family = as_str(t.get("family"), f"{file_name} user_agent.family")
        if family not in pairs:
            raise ConfigError(f"{file_name}: user agent family {family!r} is unknown")
        value = as_str(t.get("value"), f"{file_name} user_agent.value")
        pairs[family].append((value, as_float(t.get("weight"), f"{file_name} ua weight")))
    user_agents = {f: Weighted.from_pairs(p, f"{file_name} {f} agents") for f, p in pairs.items()}
    if not countries or not asns:
        raise ConfigError(f"{file_name}: needs [[country]] and [[asn]] tables")
    return Network(countries, asns, user_agents)

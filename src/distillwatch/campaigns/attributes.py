"""The attributes accounts can share, one row per (account, kind, value).

Kinds (see ``config/campaigns.toml`` for their base weights):

- ``payment``: the payment fingerprint,
- ``org``: the organisation id,
- ``ip_prefix``: the client's IPv4 /24 or IPv6 /64,
- ``asn_created``: a hosting ASN together with the day the account was created,
- ``ua_created``: the user agent together with the hour the account was created,
- ``template``: a prompt template (head or tail cluster) dominating the account's traffic
  (at least ``template_min_share`` of its requests and ``template_min_count`` of them, so
  that two people who once asked the same popular question are not linked).

>>> ip_prefix("203.0.113.77"), ip_prefix("2001:db8:1:2:3::1"), ip_prefix("nonsense")
('203.0.113.0/24', '2001:db8:1:2::/64', None)
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import ibis
import ibis.expr.types as ir
import pyarrow as pa


@lru_cache(maxsize=1 << 18)
def ip_prefix(ip: str) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) network of ``ip``, or None if it is not an address."""
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    bits = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{addr}/{bits}", strict=False))


def ip_prefix_table(ips: pa.Array) -> pa.Table:
    """Map distinct IP strings to their prefix (done in Python: few distinct values)."""
    values = [v for v in ips.to_pylist() if v]
    return pa.table(
        {
            "ip": pa.array(values, pa.string()),
            "prefix": pa.array([ip_prefix(v) for v in values], pa.string()),
        }
    )


#: a prompt template is an account's attribute when at least this share and this many of
#: its requests follow it (the online scorer applies the same rule as requests arrive)
TEMPLATE_MIN_SHARE = 0.3
TEMPLATE_MIN_COUNT = 5


def account_attributes(
    ev: ir.Table,
    prefixes: ir.Table,
    hosting_asns: list[int],
    *,
    template_min_share: float = TEMPLATE_MIN_SHARE,
    template_min_count: int = TEMPLATE_MIN_COUNT,
) -> ir.Table:
    """``account_id, kind, value`` for every linkable attribute of every account."""
    payment = ev.filter(ev.payment_fingerprint.notnull()).select(
        "account_id", kind=ibis.literal("payment"), value=ev.payment_fingerprint
    )
    org = ev.filter(ev.org_id.notnull()).select(
        "account_id", kind=ibis.literal("org"), value=ev.org_id
    )
    with_prefix = ev.select("account_id", "ip").join(prefixes, "ip")
    ip = with_prefix.select("account_id", kind=ibis.literal("ip_prefix"), value=with_prefix.prefix)
    hosting = ev.filter(ev.asn.isin(hosting_asns) & ev.account_created_at.notnull())
    asn = hosting.select(
        "account_id",
        kind=ibis.literal("asn_created"),
        value=hosting.asn.cast("string") + "@" + hosting.account_created_at.date().cast("string"),
    )
    ua_rows = ev.filter(ev.user_agent.notnull() & ev.account_created_at.notnull())
    ua = ua_rows.select(
        "account_id",
        kind=ibis.literal("ua_created"),
        value=ua_rows.user_agent + "@" + ua_rows.account_created_at.truncate("h").cast("string"),
    )
    per_acc = ev.group_by("account_id").aggregate(_n=ev.count())
    heads = ev.group_by(["account_id", "head_tid"]).aggregate(c=ev.count())
    tails = ev.group_by(["account_id", "tail_tid"]).aggregate(c=ev.count())
    head_t = heads.join(per_acc, "account_id")
    head_t = head_t.filter(
        (head_t.c >= head_t._n * template_min_share) & (head_t.c >= template_min_count)
    ).select(
        "account_id", kind=ibis.literal("template"), value="h" + head_t.head_tid.cast("string")
    )
    tail_t = tails.join(per_acc, "account_id")
    tail_t = tail_t.filter(
        (tail_t.c >= tail_t._n * template_min_share) & (tail_t.c >= template_min_count)
    ).select(
        "account_id", kind=ibis.literal("template"), value="t" + tail_t.tail_tid.cast("string")
    )
    return ibis.union(payment, org, ip, asn, ua, head_t, tail_t, distinct=True)

"""What a detected campaign is made of, for sharing and for analysts: the prompt-template
parts it uses, its infrastructure and its payment fingerprints.

These are raw local values (skeleton text, addresses, card fingerprints). They are written
to the scan directory (``campaigns.json``) and only ever leave the provider as keyed
digests, fingerprints or plain hosting ranges (``distillwatch intel build``).

- ``templates``: head or tail skeleton parts used by at least ``min_accounts`` of the
  campaign's accounts or at least ``min_share`` of its requests, most used first, with the
  number of accounts in the whole input using them (a corpus task everyone asks is not
  the campaign's fingerprint) and the number of distinct other parts they come with (a
  wrapper surrounds many different tasks; a task comes with one or two wrappers);
- ``infrastructure``: the /24 or /64 prefixes, addresses and ASNs its requests came from,
  each with whether the ASN is a hosting provider's and how many accounts used it;
- ``payment_fingerprints``: the cards on its accounts.

>>> import ibis, pyarrow as pa
>>> ev = ibis.memtable(pa.table({
...     "account_id": ["a", "b", "b", "c"], "head": ["solve <n>", "solve <n>", "hi", "hi"],
...     "tail": ["x", "y", "y", "y"], "ip": ["203.0.113.5", "203.0.113.9", None, "10.0.0.1"],
...     "asn": [14061, 14061, None, 7922], "payment_fingerprint": ["card1", "card1", None, None]}))
>>> members = pa.table({"account_id": ["a", "b"], "cid": ["C-1", "C-1"]})
>>> art = campaign_artifacts(ev, members, hosting_asns=[14061], min_share=0.9)
>>> [(t.part, t.skeleton, t.n_accounts) for t in art["C-1"].templates]
[('head', 'solve <n>', 2)]
>>> [(i.kind, i.value, i.n_accounts) for i in art["C-1"].infrastructure][:3]
[('asn', '14061', 2), ('ip-prefix', '203.0.113.0/24', 2), ('ip-address', '203.0.113.5', 1)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from distillwatch.campaigns.attributes import ip_prefix_table
from distillwatch.results import InfraUse, TemplateUse, ValueUse


@dataclass
class Artifacts:
    templates: list[TemplateUse] = field(default_factory=list)
    infrastructure: list[InfraUse] = field(default_factory=list)
    payment_fingerprints: list[ValueUse] = field(default_factory=list)


def _templates(
    ev: ir.Table, j: ir.Table, part: str, min_accounts: int, min_share: float
) -> list[tuple[str, TemplateUse]]:
    col = j[part]
    other = "tail" if part == "head" else "head"
    rows = j.filter(col.notnull() & (col.length() > 0))
    total = j.group_by("cid").aggregate(total=j.count())
    agg = rows.group_by(["cid", part]).aggregate(
        n_accounts=rows.account_id.nunique(),
        n_requests=rows.count(),
        n_variants=rows[other].nunique(),
    )
    agg = agg.join(total, "cid")
    agg = agg.filter((agg.n_accounts >= min_accounts) | (agg.n_requests >= agg.total * min_share))
    everyone = ev.group_by(part).aggregate(n_input=ev.account_id.nunique())
    agg = agg.join(everyone, part)
    out = []
    for r in agg.to_pyarrow().to_pylist():
        use = TemplateUse(
            part,
            r[part],
            int(r["n_accounts"]),
            int(r["n_requests"]),
            int(r["n_input"]),
            int(r["n_variants"]),
        )
        out.append((r["cid"], use))
    return out


def campaign_artifacts(
    ev: ir.Table,
    members: pa.Table,
    *,
    hosting_asns: Sequence[int],
    min_accounts: int = 2,
    min_share: float = 0.2,
    max_items: int = 20,
) -> dict[str, Artifacts]:
    """Artifacts per campaign; ``members`` maps ``account_id`` to ``cid``."""
    out: dict[str, Artifacts] = {c: Artifacts() for c in set(members.column("cid").to_pylist())}
    if not out:
        return out
    mem = ibis.memtable(members.select(["account_id", "cid"]))
    j = ev.select("account_id", "head", "tail", "ip", "asn", "payment_fingerprint").join(
        mem, "account_id"
    )
    found = _templates(ev, j, "head", min_accounts, min_share)
    found += _templates(ev, j, "tail", min_accounts, min_share)
    for cid, use in sorted(found, key=lambda x: (-x[1].n_requests, x[1].part, x[1].skeleton)):
        if len(out[cid].templates) < max_items:
            out[cid].templates.append(use)

    hosting = {int(a) for a in hosting_asns}
    net = j.filter(j.ip.notnull()).select("cid", "account_id", "ip", "asn").distinct()
    net_rows = net.to_pyarrow()
    prefix_of = dict(
        zip(
            *ip_prefix_table(net_rows.column("ip").combine_chunks()).to_pydict().values(),
            strict=True,
        )
    )
    seen: dict[tuple[str, str, str], tuple[bool, set[str]]] = {}
    for r in net_rows.to_pylist():
        asn = r["asn"]
        is_hosting = asn is not None and int(asn) in hosting
        keys = [("ip-address", r["ip"])]
        if prefix_of.get(r["ip"]):
            keys.append(("ip-prefix", prefix_of[r["ip"]]))
        if asn is not None:
            keys.append(("asn", str(int(asn))))
        for kind, value in keys:
            entry = seen.setdefault((r["cid"], kind, value), (is_hosting, set()))
            entry[1].add(r["account_id"])
    infra = [
        (cid, InfraUse(kind, value, hosting_flag, len(accs)))
        for (cid, kind, value), (hosting_flag, accs) in seen.items()
    ]
    order = {"asn": 0, "ip-prefix": 1, "ip-address": 2}
    for cid, net_use in sorted(
        infra, key=lambda x: (order[x[1].kind], -x[1].n_accounts, x[1].value)
    ):
        if sum(1 for i in out[cid].infrastructure if i.kind == net_use.kind) < max_items:
            out[cid].infrastructure.append(net_use)

    pay = j.filter(j.payment_fingerprint.notnull())
    cards = pay.group_by(["cid", "payment_fingerprint"]).aggregate(n=pay.account_id.nunique())
    for r in cards.order_by([ibis.desc("n"), "payment_fingerprint"]).to_pyarrow().to_pylist():
        if len(out[r["cid"]].payment_fingerprints) < max_items:
            out[r["cid"]].payment_fingerprints.append(
                ValueUse(r["payment_fingerprint"], int(r["n"]))
            )
    return out

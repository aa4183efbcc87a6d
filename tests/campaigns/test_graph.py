"""The linkage graph: rare shared attributes link, common ones do not."""

from __future__ import annotations

import ibis
import pyarrow as pa

from distillwatch.campaigns.attributes import ip_prefix
from distillwatch.campaigns.graph import cluster_accounts, link_pairs
from distillwatch.config import load_scan_config


def _attrs(rows: list[tuple[str, str, str]]) -> ibis.Table:
    return ibis.memtable(
        pa.table(
            {
                "account_id": [r[0] for r in rows],
                "kind": [r[1] for r in rows],
                "value": [r[2] for r in rows],
            }
        )
    )


def _clusters(rows):
    cfg = load_scan_config()
    edges, _ = link_pairs(
        _attrs(rows),
        cfg.link_weights,
        max_sharing=int(cfg.graph["max_sharing"]),
        rarity_k0=cfg.graph["rarity_k0"],
    )
    cl = cluster_accounts(edges.to_pyarrow(), min_edge_weight=cfg.graph["min_edge_weight"])
    return {a: int(lbl) for a, lbl in zip(cl.accounts, cl.labels, strict=True)}


def test_campus_nat_stays_unlinked():
    # 300 students behind 3 NAT addresses of one /24, one university ASN, term-start signups.
    rows = []
    for i in range(300):
        rows.append((f"s{i}", "ip_prefix", "192.0.2.0/24"))
        rows.append((f"s{i}", "asn_created", f"64500@2026-09-0{1 + i % 3}"))
        rows.append((f"s{i}", "payment", f"card-{i}"))
        rows.append((f"s{i}", "ua_created", f"Mozilla/5.0 Chrome@2026-09-01T{i % 24:02d}"))
    labels = _clusters(rows)
    clustered = [a for a, lbl in labels.items() if lbl >= 0]
    # Only students who happen to share UA and creation hour may pair up; no large group.
    sizes: dict[int, int] = {}
    for a in clustered:
        sizes[labels[a]] = sizes.get(labels[a], 0) + 1
    assert max(sizes.values(), default=0) <= 2


def test_hydra_sharing_cards_is_one_campaign():
    # 60 accounts; each card is shared by 6 accounts and every account also shares a card
    # with the next group (cards overlap), proxies rotate so IPs are not shared.
    rows = []
    for i in range(60):
        rows.append((f"h{i}", "payment", f"card-{i // 6}"))
        if i % 6 == 5:
            rows.append((f"h{i}", "payment", f"card-{(i // 6 + 1) % 10}"))
        rows.append((f"h{i}", "ip_prefix", f"198.51.{i}.0/24"))
    for i in range(50):  # unrelated customers with their own cards
        rows.append((f"c{i}", "payment", f"own-{i}"))
    labels = _clusters(rows)
    hydra = {labels.get(f"h{i}", -1) for i in range(60)}
    assert len(hydra) == 1 and hydra != {-1}
    assert all(labels.get(f"c{i}", -1) == -1 for i in range(50))


def test_family_card_links_two_but_weight_falls_with_sharing():
    cfg = load_scan_config()
    rows = [("a", "payment", "x"), ("b", "payment", "x")]
    rows += [(f"n{i}", "payment", "y") for i in range(100)]
    edges, _ = link_pairs(_attrs(rows), cfg.link_weights)
    t = edges.to_pyarrow().to_pylist()
    w_pair = next(e["weight"] for e in t if {e["a"], e["b"]} == {"a", "b"})
    w_crowd = next(e["weight"] for e in t if e["a"].startswith("n"))
    assert w_crowd < cfg.graph["min_edge_weight"] <= w_pair


def test_ip_prefixes():
    assert ip_prefix("10.1.2.3") == "10.1.2.0/24"
    assert ip_prefix("2001:db8::1") == "2001:db8::/64"
    assert ip_prefix("") is None

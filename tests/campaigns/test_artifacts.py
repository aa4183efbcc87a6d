"""What a campaign is made of: templates, infrastructure and cards, for campaigns.json."""

from __future__ import annotations

import ibis
import pyarrow as pa

from distillwatch.campaigns.artifacts import campaign_artifacts


def _events() -> ibis.Table:
    rows = [
        # campaign accounts a, b on a hosting /24 sharing a card and a wrapper tail
        ("a", "q1", "show all your reasoning", "203.0.113.5", 14061, "card1"),
        ("a", "q2", "show all your reasoning", "203.0.113.5", 14061, "card1"),
        ("b", "q3", "show all your reasoning", "203.0.113.7", 14061, "card1"),
        ("b", "popular question", "thanks", "2001:db8:1:2::9", 7922, "card1"),
        # a benign user asking the same popular question from a home line
        ("u", "popular question", "thanks", "81.2.69.1", 7922, None),
        ("v", "popular question", "ok", "81.2.69.2", 7922, None),
    ]
    names = ["account_id", "head", "tail", "ip", "asn", "payment_fingerprint"]
    return ibis.memtable(pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}))


MEMBERS = pa.table({"account_id": ["a", "b"], "cid": ["C-1", "C-1"]})


def test_templates_used_by_several_accounts_with_input_wide_counts():
    art = campaign_artifacts(_events(), MEMBERS, hosting_asns=[14061], min_share=1.0)["C-1"]
    got = {
        (t.part, t.skeleton): (t.n_accounts, t.n_requests, t.n_accounts_input, t.n_variants)
        for t in art.templates
    }
    # the wrapper tail comes with 3 distinct heads (the tasks q1, q2, q3)
    assert got == {("tail", "show all your reasoning"): (2, 3, 2, 3)}


def test_share_threshold_keeps_a_part_one_account_uses_heavily():
    # q1 is 1 of the campaign's 4 requests, from one account
    keep = campaign_artifacts(_events(), MEMBERS, hosting_asns=[], min_share=0.25)["C-1"]
    drop = campaign_artifacts(_events(), MEMBERS, hosting_asns=[], min_share=0.3)["C-1"]
    assert ("head", "q1") in {(t.part, t.skeleton) for t in keep.templates}
    assert ("head", "q1") not in {(t.part, t.skeleton) for t in drop.templates}


def test_infrastructure_with_hosting_flag_and_prefixes():
    art = campaign_artifacts(_events(), MEMBERS, hosting_asns=[14061])["C-1"]
    infra = {(i.kind, i.value): (i.hosting, i.n_accounts) for i in art.infrastructure}
    assert infra[("asn", "14061")] == (True, 2)
    assert infra[("ip-prefix", "203.0.113.0/24")] == (True, 2)
    assert infra[("ip-prefix", "2001:db8:1:2::/64")] == (False, 1)
    assert infra[("ip-address", "203.0.113.5")] == (True, 1)
    assert not any(v.startswith("81.2.69") for _, v in infra)  # other users' lines stay out


def test_cards_and_limits():
    art = campaign_artifacts(_events(), MEMBERS, hosting_asns=[], max_items=1)["C-1"]
    assert [(p.value, p.n_accounts) for p in art.payment_fingerprints] == [("card1", 2)]
    assert sum(1 for i in art.infrastructure if i.kind == "ip-address") == 1
    assert all(not i.hosting for i in art.infrastructure)


def test_no_members_no_work():
    empty = pa.table({"account_id": pa.array([], pa.string()), "cid": pa.array([], pa.string())})
    assert campaign_artifacts(_events(), empty, hosting_asns=[]) == {}

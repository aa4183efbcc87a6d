"""truth.csv covers every account, and campaigns follow their rules."""

from __future__ import annotations

from collections import defaultdict

from distillwatch.sim.spec import load_personas


def test_truth_covers_exactly_the_accounts_with_traffic(dataset):
    seen = {e["account_id"] for e in dataset.events}
    assert seen == set(dataset.truth)
    assert dataset.summary.n_accounts == len(dataset.truth)


def test_labels_personas_and_campaign_columns(dataset):
    specs, _ = load_personas()
    personas = {row["persona"] for row in dataset.truth.values()}
    assert personas == set(specs)
    for row in dataset.truth.values():
        spec = specs[row["persona"]]
        assert row["label"] == spec.label
        if spec.is_attack:
            assert row["campaign_id"] and row["actor_id"]
            assert row["campaign_id"] in {c.campaign_id for c in spec.campaigns}
        else:
            assert row["campaign_id"] == "" and row["actor_id"] == ""


def test_campaigns_never_share_cards(dataset):
    cards: dict[str, set[str]] = defaultdict(set)
    for e in dataset.events:
        owner = dataset.truth[e["account_id"]]["campaign_id"] or "benign"
        if e["payment_fingerprint"]:
            cards[e["payment_fingerprint"]].add(owner)
    assert all(len(owners) == 1 for owners in cards.values())


def test_account_fields_are_constant_per_account(dataset):
    fields = ("org_id", "payment_fingerprint", "signup_channel", "account_created_at")
    first: dict[str, tuple[object, ...]] = {}
    for e in dataset.events:
        values = tuple(e[f] for f in fields)
        assert first.setdefault(e["account_id"], values) == values

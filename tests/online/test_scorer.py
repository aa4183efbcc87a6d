"""The online scorer: verdicts, linkage into campaigns, lists, persistence, failures."""

from __future__ import annotations

import csv
import math
import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest

from distillwatch.config import ScanConfig
from distillwatch.errors import ScoringError
from distillwatch.online.linkage import Linkage
from distillwatch.online.scorer import OnlineScorer, open_scorer
from distillwatch.online.store import StateStore


def _truth(sim_dir: Path) -> dict[str, dict[str, str]]:
    with (sim_dir / "truth.csv").open() as fh:
        return {r["account_id"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def learnt(sim_events: pa.Table) -> OnlineScorer:
    sc = OnlineScorer()
    for ev in sim_events.sort_by("ts").to_pylist():
        sc.learn_one(ev)
    sc.flush()
    return sc


def test_attack_accounts_rank_above_benign(learnt: OnlineScorer, sim_dir: Path) -> None:
    truth = _truth(sim_dir)
    risk = {a: learnt.score_one({"account_id": a}).risk for a in learnt.accounts}
    attack = [r for a, r in risk.items() if truth[a]["label"] == "attack"]
    benign = [r for a, r in risk.items() if truth[a]["label"] == "benign"]
    assert attack and benign
    above = sum(1 for x in attack for y in benign if x > y) / (len(attack) * len(benign))
    assert above > 0.95
    flagged_benign = sum(1 for a in benign if a >= learnt.model.threshold)
    assert flagged_benign <= max(1, len(benign) // 100)


def test_linked_accounts_share_a_campaign(learnt: OnlineScorer, sim_dir: Path) -> None:
    truth = _truth(sim_dir)
    hydra = [a for a, t in truth.items() if t["persona"] == "hydra" and a in learnt.accounts]
    assert len(hydra) >= 3
    verdicts = [learnt.score_one({"account_id": a}) for a in hydra]
    ids = [v.campaign_id for v in verdicts if v.campaign_id]
    assert len(ids) >= len(hydra) // 2
    assert any(r.startswith("campaign:") for v in verdicts for r in v.reasons)


def test_unknown_account_is_not_flagged(learnt: OnlineScorer) -> None:
    v = learnt.score_one({"account_id": "never-seen"})
    assert (v.risk, v.flagged, v.n_requests, v.campaign_id) == (0.0, False, 0, None)


def test_listed_accounts_are_flagged_and_reload_picks_up_changes(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    (lists / "scan-1").mkdir(parents=True)
    table = lists / "scan-1" / "accounts.csv"
    table.write_text(
        "account_id,risk,flagged,campaign_id,signals\nbad,0.99,true,cmp-1,\nok,0.1,false,,\n"
    )
    sc = OnlineScorer(lists=lists)
    bad = sc.score_one({"account_id": "bad"})
    assert bad.flagged and bad.listed and bad.campaign_id == "cmp-1"
    assert bad.reasons[0] == "listed:cmp-1"
    assert not sc.score_one({"account_id": "ok"}).flagged
    table.write_text("account_id,risk,flagged,campaign_id,signals\nok,0.99,true,,\n")
    sc.reload()
    assert not sc.score_one({"account_id": "bad"}).flagged
    assert sc.score_one({"account_id": "ok"}).listed


def test_a_list_without_the_columns_is_refused(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("id,score\na,1\n")
    with pytest.raises(ScoringError, match="account_id/flagged"):
        OnlineScorer(lists=tmp_path)


def test_state_survives_a_restart(sim_events: pa.Table, tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    rows = sim_events.sort_by("ts").to_pylist()[:3000]
    first = OnlineScorer(store=StateStore(db), checkpoint_s=0.0)
    for ev in rows:
        first.learn_one(ev)
    first.flush()
    first.checkpoint()
    before = {a: first.score_one({"account_id": a}) for a in first.accounts}
    second = OnlineScorer(store=StateStore(db))
    after = {a: second.score_one({"account_id": a}) for a in second.accounts}
    assert set(after) == set(before)
    for a, v in before.items():
        assert after[a].n_requests == v.n_requests
        assert after[a].risk == pytest.approx(v.risk, abs=1e-9)
        assert after[a].campaign_id == v.campaign_id


def test_checkpoint_interval_bounds_what_a_crash_loses(
    sim_events: pa.Table, tmp_path: Path
) -> None:
    db = tmp_path / "state.db"
    rows = sim_events.sort_by("ts").to_pylist()[:600]
    sc = OnlineScorer(store=StateStore(db), checkpoint_s=3600.0, batch=100)
    for ev in rows[:300]:
        sc.learn_one(ev)
    sc.checkpoint()
    for ev in rows[300:]:
        sc.learn_one(ev)  # learnt, but the interval has not passed: not on disk yet
    sc.flush()
    crashed = OnlineScorer(store=StateStore(db))
    assert sum(s.n for s in crashed.accounts.values()) == 300
    assert sum(s.n for s in sc.accounts.values()) == 600


def test_an_unwritable_store_raises_scoring_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(ScoringError, match="cannot be opened"):
        OnlineScorer(store=StateStore(blocker / "state.db"))
    db = tmp_path / "state.db"
    sc = OnlineScorer(store=StateStore(db), checkpoint_s=0.0)
    sc.learn_one({"account_id": "a", "ts": 1.7e9, "prompt": "hello", "model": "m"})
    sc.flush()
    con = sqlite3.connect(db)
    con.execute("DROP TABLE account")
    con.execute("CREATE VIEW account AS SELECT 1 AS account_id, 2 AS state")
    con.commit()
    con.close()
    with pytest.raises(ScoringError, match="cannot be written"):
        sc.checkpoint()


def test_open_scorer_flushes_in_the_background(tmp_path: Path) -> None:
    import time

    sc = open_scorer(tmp_path / "s.db", checkpoint_s=0.1)
    try:
        sc.learn_one({"account_id": "a", "ts": 1.7e9, "prompt": "hi there", "model": "m"})
        deadline = time.monotonic() + 10
        while sc.score_one({"account_id": "a"}).n_requests == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sc.score_one({"account_id": "a"}).n_requests == 1
    finally:
        sc.close()
    assert "a" in StateStore(tmp_path / "s.db").load()[0]


def test_linkage_needs_enough_shared_weight() -> None:
    g = Linkage({"payment": 1.0, "ip_prefix": 0.35, "ua_created": 0.25}, min_edge_weight=0.45)
    assert g.add("a", "ip_prefix", "p1") == [] and g.add("b", "ip_prefix", "p1") == []
    assert g.find("a") != g.find("b")  # 0.35 < 0.45
    assert g.add("b", "ua_created", "ua@h") == [] and g.add("a", "ua_created", "ua@h") == ["b"]
    assert g.find("a") == g.find("b")  # 0.35 + 0.25
    assert g.strength(g.find("a")) == pytest.approx(0.6 / 2)


def test_linkage_ignores_values_shared_too_widely() -> None:
    g = Linkage({"payment": 1.0}, max_sharing=3)
    for a in "abcdef":
        g.add(a, "payment", "gift-card")
    assert len(g.members(g.find("a"))) == 3
    assert g.find("f") == "f"


def test_a_store_failing_longer_than_the_interval_stops_scoring(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    sc = OnlineScorer(store=StateStore(db), checkpoint_s=0.0)
    sc.learn_one({"account_id": "a", "ts": 1.7e9, "prompt": "hello", "model": "m"})
    sc.flush()
    assert sc.score_one({"account_id": "a"}).n_requests == 1
    con = sqlite3.connect(db)
    con.execute("DROP TABLE meta")
    con.execute("CREATE VIEW meta AS SELECT 1 AS key, 2 AS value")
    con.commit()
    con.close()
    with pytest.raises(ScoringError):
        sc.checkpoint()
    assert sc.store_failed_since is not None
    sc.store_failed_since -= 5.0  # as if it had been failing for 5 s (> max(2 x 0, 1) s)
    with pytest.raises(ScoringError, match="unavailable"):
        sc.score_one({"account_id": "a"})


def test_an_account_is_flagged_only_after_confirm_crossings_in_a_row(sim_events: pa.Table) -> None:
    sc = OnlineScorer()
    assert sc.confirm == 2  # config/online.toml
    rows = [e for e in sim_events.sort_by("ts").to_pylist() if e["account_id"]][:50]
    account = rows[0]["account_id"]
    sc.model = type(sc.model)(sc.model.bias, sc.model.weights, 1e-9)  # every risk crosses
    mine = [e for e in rows if e["account_id"] == account]
    sc.learn_one(mine[0])
    sc.flush()
    first = sc.score_one({"account_id": account})
    assert first.risk >= sc.model.threshold and not first.flagged  # one crossing
    sc.learn_one(dict(mine[0], request_id="again"))
    sc.flush()
    assert sc.score_one({"account_id": account}).flagged  # two in a row


def test_regroup_splits_links_through_a_value_that_became_common() -> None:
    g = Linkage({"payment": 1.0, "template": 0.6}, min_edge_weight=0.45, rarity_k0=12)
    g.add("a", "template", "t1")
    assert g.add("b", "template", "t1") == ["a"]  # rare so far: full weight 0.6
    g.add("c", "payment", "card")
    assert g.add("d", "payment", "card") == ["c"]
    g.add("c", "template", "t1")
    g.add("d", "template", "t1")  # links c-d's group to a-b through t1 (4 holders)
    root = g.find("a")
    assert sorted(g.members(root)) == ["a", "b", "c", "d"]
    assert g.regroup(root) == [root]  # still rare enough: nothing changes
    for i in range(30):  # the format turns out to be common: 34 holders, weight 0.36
        g.add(f"u{i}", "template", "t1")  # (the first ones still join the group)
    assert len(g.members(root)) > 4
    parts = g.regroup(root)
    sizes = sorted(len(g.members(r)) for r in parts)
    assert sizes[-1] == 2 and sizes[:-1] == [1] * (len(parts) - 1)
    assert g.find("a") != g.find("b") and g.find("c") == g.find("d")
    # the card, and the now common format at its discounted weight, over two accounts
    assert g.strength(g.find("c")) == pytest.approx((1.0 + 0.6 * math.sqrt(12 / 34)) / 2)
    # the state survives a round trip with the counts
    h = Linkage({"payment": 1.0, "template": 0.6}, min_edge_weight=0.45, rarity_k0=12)
    h.load_json(g.to_json())
    assert h.counts["template\x1ft1"] == 34 and h.find("d") == g.find("d")


def test_a_withdrawn_template_stops_linking_and_can_link_again() -> None:
    g = Linkage({"payment": 1.0, "template": 0.6}, min_edge_weight=0.45)
    g.add("a", "template", "t1")
    assert g.add("b", "template", "t1") == ["a"]
    g.add("c", "payment", "card")
    g.add("a", "payment", "card")  # a-c linked by a card: survives a's template going
    root = g.find("a")
    g.withdraw("b", "template", "t1")
    assert g.counts.get("template\x1ft1") == 1 and "t1" not in g.seen["b"]["template"]
    parts = g.regroup(root)
    assert g.find("b") != g.find("a") and g.find("a") == g.find("c") and len(parts) == 2
    g.withdraw("b", "template", "t1")  # not shown any more: nothing to take back
    assert g.counts.get("template\x1ft1") == 1
    assert g.add("b", "template", "t1") == ["a"]  # dominating again: linked again
    assert g.find("b") == g.find("a")


def test_regroup_measures_how_much_of_a_group_more_than_templates_link() -> None:
    g = Linkage({"payment": 1.0, "ip_prefix": 0.35, "template": 0.6}, min_edge_weight=0.45)
    g.add("a", "payment", "card")
    g.add("b", "payment", "card")  # a-b: a card
    g.add("b", "template", "t1")
    g.add("c", "template", "t1")  # b-c: a template
    g.add("c", "ip_prefix", "10.0.0.0/24")
    g.add("d", "ip_prefix", "10.0.0.0/24")
    g.add("d", "template", "t1")  # c-d: a template and a /24 too weak alone
    root = g.find("a")
    assert g.regroup(root) == [root] and len(g.members(root)) == 4
    assert g.infra_share[root] == 0.5  # a and b
    g.withdraw("b", "template", "t1")
    parts = g.regroup(root)  # a-b | c-d
    assert sorted(g.infra_share[p] for p in parts) == [0.0, 1.0]


@pytest.mark.parametrize(("n_accounts", "still_linked"), [(14, False), (3, True)])
def test_accounts_that_moved_on_from_a_common_format_are_no_longer_one_group(
    n_accounts: int, still_linked: bool
) -> None:
    """Evaluation accounts start with the same benchmark's format (linked), then run other
    benchmarks. Once the format no longer dominates their traffic, a format that many
    accounts show (more than rarity_k0 = 12) stops linking them; a rare one, which only a
    few accounts ever showed (an operator's own tooling), keeps linking them."""
    sc = OnlineScorer()
    assert sc.linkage.rarity_k0 == 12
    accounts = [f"e{i}" for i in range(n_accounts)]
    t0 = 1.7e9
    rid = iter(range(100_000))

    def send(account: str, prompt: str, i: int) -> None:
        event = {"account_id": account, "ts": t0 + 60 * i, "model": "m", "prompt": prompt}
        sc.learn_one(dict(event, request_id=f"r{next(rid)}"))

    for i in range(6):
        for acc in accounts:
            send(acc, f"Question {i}: which planet is largest? Answer with one letter.", i)
    sc.flush()
    assert sc.linkage.find("e0") == sc.linkage.find("e1")
    topics = ["photosynthesis", "the French revolution", "prime numbers", "sorting lists"]
    for i in range(6, 40):
        for acc in accounts:
            send(acc, f"{acc} asks, in its own words, number {i}, about {topics[i % 4]}?", i)
    sc.flush()
    assert (sc.linkage.find("e0") == sc.linkage.find("e1")) is still_linked


def test_early_hours_models_judge_only_young_subjects() -> None:
    from dataclasses import replace

    from distillwatch.verdicts.model import RiskModel

    sc = OnlineScorer()
    m = sc.models
    assert m.early_account is not None and m.early_h > 0  # config/online.toml [online.early]
    assert m.early_account.threshold == sc.model.threshold  # one threshold for both
    # an early model that calls everything an extraction, a main model that calls nothing
    sure = RiskModel(40.0, {}, sc.model.threshold)
    sc.models = replace(m, early_account=sure, early_campaign=sure, long_account=None)
    sc.model = sc.camp_model = RiskModel(-40.0, {}, sc.model.threshold)
    base = {"account_id": "a", "model": "m", "prompt": "hello there", "request_id": "r0"}
    t0 = 1.7e9
    for i, hours in enumerate([0.0, 0.5, m.early_h - 0.5]):
        sc.learn_one(dict(base, ts=t0 + hours * 3600, request_id=f"r{i}"))
        sc.flush()
        assert sc.score_one({"account_id": "a"}).risk > 0.99
    sc.learn_one(dict(base, ts=t0 + (m.early_h + 1) * 3600, request_id="late"))
    sc.flush()
    assert sc.score_one({"account_id": "a"}).risk < 0.01  # past until_h: the main model only


def _held_config(hold_h: float) -> ScanConfig:
    """Online models that call nothing, the scan's models (from 2 h) that call everything."""
    from dataclasses import replace

    from distillwatch.config import load_scan_config

    cfg = load_scan_config()
    online = {k: v for k, v in cfg.extra["online"].items() if k != "early"}
    online.update(bias=-40.0, campaign_bias=-40.0, long_horizon_h=2.0, long_hold_h=hold_h)
    return replace(cfg, bias=40.0, campaign_bias=40.0, extra={**cfg.extra, "online": online})


def test_the_scans_model_alone_flags_only_after_holding_for_long_hold_h(tmp_path: Path) -> None:
    assert OnlineScorer().models.long_hold_h == 24.0  # config/online.toml
    db = tmp_path / "state.db"
    sc = OnlineScorer(_held_config(10.0), store=StateStore(db), checkpoint_s=0.0)
    base = {"account_id": "a", "model": "m", "prompt": "hello there"}
    t0 = 1.7e9
    seen = []

    def step(scorer: OnlineScorer, hours: float) -> tuple[float, bool, bool]:
        scorer.learn_one(dict(base, ts=t0 + hours * 3600, request_id=f"r{hours}"))
        scorer.flush()
        v = scorer.score_one({"account_id": "a"})
        return hours, v.risk > 0.99, v.flagged

    seen = [step(sc, h) for h in (0.0, 1.0, 2.0, 3.0, 6.0)]
    sc.checkpoint()
    # a restart keeps when the hold started (2 h), not the first re-scoring after it
    sc = OnlineScorer(_held_config(10.0), store=StateStore(db), checkpoint_s=0.0)
    seen += [step(sc, h) for h in (11.0, 12.0, 13.0)]
    # over from 2 h (the long horizon), flagged once it has held for 10 h: at 12 h
    assert seen == [
        (0.0, False, False),
        (1.0, False, False),
        (2.0, True, False),
        (3.0, True, False),
        (6.0, True, False),
        (11.0, True, False),
        (12.0, True, True),
        (13.0, True, True),
    ]
    # without a hold the scan's model counts towards confirm (2 re-scorings in a row)
    sc = OnlineScorer(_held_config(0.0))
    assert [step(sc, h)[2] for h in (0.0, 1.0, 2.0, 3.0)] == [False, False, False, True]


@pytest.mark.parametrize("model", ["online", "scan"])
@pytest.mark.parametrize(("card", "flagged"), [(False, False), (True, True)])
def test_only_groups_linked_by_more_than_templates_are_judged_as_campaigns(
    model: str, card: bool, flagged: bool
) -> None:
    """Two accounts on one prompt format: a campaign model calling every group an
    extraction (the online one, or the scan's after the long horizon) flags their group
    only when a payment card links them too; account models call nothing."""
    from dataclasses import replace

    if model == "scan":
        cfg = replace(_held_config(0.0), bias=-40.0)  # the scan's account model: nothing
    else:
        cfg = _held_config(0.0)
        online = dict(cfg.extra["online"], campaign_bias=40.0, long_horizon_h=0.0)
        cfg = replace(cfg, extra={**cfg.extra, "online": online})
    sc = OnlineScorer(cfg)
    assert sc.models.group_min_infra == 0.5  # config/online.toml
    t0 = 1.7e9
    for i in range(24):
        for acc in ("a", "b"):
            event = {
                "account_id": acc,
                "ts": t0 + 900 * i,
                "model": "m",
                "request_id": f"{acc}{i}",
                "prompt": f"Question {i}: which planet is largest? Answer with one letter.",
            }
            if card:
                event["payment_fingerprint"] = "card-1"
            sc.learn_one(event)
        sc.flush()
    root = sc.linkage.find("a")
    assert root == sc.linkage.find("b")  # one group either way
    assert sc.linkage.infra_share[root] == (1.0 if card else 0.0)
    verdicts = [sc.score_one({"account_id": acc}) for acc in ("a", "b")]
    assert [v.flagged for v in verdicts] == [flagged, flagged]
    assert all((v.risk > 0.99) is flagged for v in verdicts)


@pytest.mark.parametrize(
    ("early", "message"),
    [({"until_h": 0.0, "bias": 0.0, "campaign_bias": 0.0}, "until_h must be > 0"), (3, "table")],
)
def test_a_bad_early_table_is_refused(early: object, message: str) -> None:
    from distillwatch.config import load_scan_config
    from distillwatch.errors import ConfigError
    from distillwatch.online.model import load_online_models

    cfg = load_scan_config()
    cfg.extra["online"] = dict(cfg.extra["online"], early=early)
    with pytest.raises(ConfigError, match=message):
        load_online_models(cfg)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("long_hold_h", -1.0, "long_hold_h must be >= 0"),
        ("group_min_infra", 1.5, "group_min_infra must be between 0 and 1"),
        ("group_min_infra", "half", "group_min_infra must be a number"),
        ("confirm", 0, "confirm must be >= 1"),
    ],
)
def test_a_bad_online_setting_is_refused(key: str, value: object, message: str) -> None:
    from distillwatch.config import load_scan_config
    from distillwatch.errors import ConfigError
    from distillwatch.online.model import load_online_models

    cfg = load_scan_config()
    cfg.extra["online"] = dict(cfg.extra["online"], **{key: value})
    with pytest.raises(ConfigError, match=message):
        load_online_models(cfg)

"""A peer's published intel used in a scan: real commands, two simulated providers.

Provider A and provider B are two simulator seeds: the simulator's CoT harvesting
campaigns reuse their prompt wrappers across seeds, as one actor's tooling would across
providers. A publishes; B scans with and without A's intel.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from distillwatch.config import load_scan_config
from distillwatch.pipeline import Scored, _apply_peer_rule
from distillwatch.verdicts.model import RiskModel

BIN = Path(sys.executable).parent / "distillwatch"


def run(*args: str) -> None:
    done = subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def rows(path: Path) -> dict[str, dict[str, str]]:
    return {r["account_id"]: r for r in csv.DictReader(path.read_text().splitlines())}


@pytest.fixture(scope="module")
def providers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("sharing")
    for name, seed in (("a", "61"), ("b", "62")):
        run("simulate", "--out", str(base / name), "--seed", seed, "--scale", "0.1", "--days", "3")
    run("scan", str(base / "a" / "events.jsonl.gz"), "--out", str(base / "scan-a"), "-q")
    run("intel", "keygen", "--out", str(base / "group.key"), "--group", "isac")
    run(
        "intel", "build", str(base / "scan-a"), "--org", "provider-a",
        "--key-file", str(base / "group.key"), "--out", str(base / "intel" / "a.json"),
    )  # fmt: skip
    events_b = str(base / "b" / "events.jsonl.gz")
    run("scan", events_b, "--out", str(base / "scan-b"), "-q")
    run(
        "scan", events_b, "--out", str(base / "scan-b-intel"), "-q",
        "--intel", str(base / "intel"), "--key-file", str(base / "group.key"),
    )  # fmt: skip
    return base


def test_peer_intel_raises_the_risk_of_the_shared_actors_accounts(providers: Path) -> None:
    truth = rows(providers / "b" / "truth.csv")
    plain = rows(providers / "scan-b" / "accounts.csv")
    shared = rows(providers / "scan-b-intel" / "accounts.csv")
    cot = [a for a, t in truth.items() if t["persona"] == "cot_harvest" and a in plain]
    assert cot
    raised = [a for a in cot if float(shared[a]["own_risk"]) > float(plain[a]["own_risk"])]
    assert len(raised) >= 0.8 * len(cot)
    assert any("peer_intel" in shared[a]["signals"] for a in cot)


def test_peer_intel_never_flags_an_account_on_its_own(providers: Path) -> None:
    plain = rows(providers / "scan-b" / "accounts.csv")
    shared = rows(providers / "scan-b-intel" / "accounts.csv")
    newly = [
        a for a, r in shared.items() if r["flagged"] == "true" and plain[a]["flagged"] == "false"
    ]
    # only accounts more likely than not extractors on their own traffic may be pushed over
    assert all(float(plain[a]["own_risk"]) >= 0.5 for a in newly)


def test_rule_caps_and_holds_below_threshold() -> None:
    cfg = load_scan_config()
    model = RiskModel(-2.0, {"volume": 1.0, "peer_intel": 0.0}, 0.98)
    n = 3
    scored = Scored(
        ids=["weak", "suspect", "strong"],
        features={},
        scores={"volume": np.zeros(n), "peer_intel": np.ones(n)},
        risk=np.zeros(n),
        contrib={"volume": np.array([-4.0, 3.5, 6.0]), "peer_intel": np.zeros(n)},
    )
    _apply_peer_rule(scored, model, cfg)
    own = 1 / (1 + np.exp(-(model.bias + scored.contrib["volume"])))
    assert scored.risk[0] > own[0] and scored.risk[0] < model.threshold  # raised, held below
    assert scored.risk[1] >= model.threshold  # own risk 0.82 >= 0.5: may be pushed over
    cap = float(cfg.extra["peer"]["cap"])
    assert np.all(scored.contrib["peer_intel"] <= cap + 1e-9)
    full = min(cap, float(cfg.extra["peer"]["weight"]))
    assert scored.contrib["peer_intel"][2] == pytest.approx(full)  # a full match, capped


def test_campaign_peer_features_pool_the_accounts_matches() -> None:
    from distillwatch.pipeline import _campaign_peer_features

    def tuples(*vals: tuple[str, ...]) -> np.ndarray:
        col = np.empty(len(vals), dtype=object)
        col[:] = list(vals)
        return col

    acc = {
        "n_requests": np.array([10.0, 30.0, 5.0]),
        "pi_template_n": np.array([10.0, 20.0, 0.0]),
        "pi_payment": np.array([1.0, 0.0, 0.0]),
        "pi_ip_address": np.zeros(3),
        "pi_ip_prefix": np.zeros(3),
        "pi_hosting": np.array([0.0, 1.0, 1.0]),
        "pi_confidence": np.array([80.0, 60.0, 0.0]),
        "pi_indicator_ids": tuples(("i1",), ("i1", "i2"), ()),
        "pi_publishers": tuples(("A",), ("A",), ()),
        "pi_campaigns": tuples(("X",), ("X",), ()),
    }
    f = _campaign_peer_features(acc, [[0, 1], [2]])
    assert f["pi_template_share"].tolist() == [0.75, 0.0]
    assert f["pi_template_n"].tolist() == [30.0, 0.0]
    assert f["pi_payment"].tolist() == [1.0, 0.0] and f["pi_hosting"].tolist() == [1.0, 1.0]
    assert f["pi_confidence"].tolist() == [80.0, 0.0]
    assert f["pi_indicator_ids"][0] == ("i1", "i2") and f["pi_indicator_ids"][1] == ()


@pytest.fixture(scope="module")
def replays(providers: Path) -> Path:
    events_b = str(providers / "b" / "events.jsonl.gz")
    run("replay", events_b, "--out", str(providers / "replay-b"), "-q")
    run(
        "replay", events_b, "--out", str(providers / "replay-b-intel"), "-q",
        "--intel", str(providers / "intel"), "--key-file", str(providers / "group.key"),
    )  # fmt: skip
    return providers


def test_online_scorer_matches_peer_intel_and_flags_the_actor_sooner(replays: Path) -> None:
    truth = rows(replays / "b" / "truth.csv")
    plain = rows(replays / "replay-b" / "detections.csv")
    shared = rows(replays / "replay-b-intel" / "detections.csv")
    cot = [a for a, t in truth.items() if t["persona"] == "cot_harvest" and a in plain]
    assert cot
    raised = [a for a in cot if float(shared[a]["max_risk"]) > float(plain[a]["max_risk"])]
    assert len(raised) >= 0.8 * len(cot)

    def served(table: dict[str, dict[str, str]]) -> int:  # all requests if never flagged
        return sum(int(table[a]["requests_before_flag"]) for a in cot)

    assert served(shared) < served(plain)
    newly = [
        a for a, r in shared.items() if r["flagged"] == "true" and plain[a]["flagged"] != "true"
    ]
    assert all(truth[a]["label"] != "benign" for a in newly if a in truth)

"""The grouped, deterministic train / held-out split."""

from __future__ import annotations

import numpy as np

from distillwatch.calibrate.data import scan_data
from distillwatch.calibrate.split import group_keys, split


def _scan(result_factory, n_groups: int, prefix: str = "a", size: int = 3):
    accounts, campaigns = [], []
    for g in range(n_groups):
        members = [f"{prefix}{g}_{k}" for k in range(size)]
        campaigns.append((f"C-{prefix}{g}", members, {"volume": 0.5}))
        accounts += [(a, {"volume": 0.5}, True, f"C-{prefix}{g}") for a in members]
    accounts.append((f"{prefix}_alone", {}, False, None))
    return scan_data(prefix, result_factory(accounts, campaigns))


def test_accounts_of_one_campaign_land_on_one_side(result_factory):
    d = _scan(result_factory, 200)
    s = split([d], [set()], [set()], holdout=0.3, seed=0)
    held = s.account_heldout[0]
    for k, mem in enumerate(d.campaign_members):
        sides = {bool(held[i]) for i in mem}
        assert len(sides) == 1
        assert bool(s.campaign_heldout[0][k]) in sides
    share = s.campaign_heldout[0].mean()
    assert 0.2 < share < 0.4  # about --holdout of the groups


def test_split_is_deterministic_and_depends_on_the_seed(result_factory):
    d = _scan(result_factory, 100)
    a = split([d], [set()], [set()], holdout=0.3, seed=0)
    b = split([d], [set()], [set()], holdout=0.3, seed=0)
    c = split([d], [set()], [set()], holdout=0.3, seed=1)
    assert (a.account_heldout[0] == b.account_heldout[0]).all()
    assert (a.account_heldout[0] != c.account_heldout[0]).any()


def test_forced_groups_stay_in_training(result_factory):
    d = _scan(result_factory, 50)
    free = split([d], [set()], [set()], holdout=0.9, seed=0)
    held_rows = set(np.flatnonzero(free.account_heldout[0]).tolist())
    k = next(k for k, mem in enumerate(d.campaign_members) if mem[0] in held_rows)
    one_member = d.campaign_members[k][1]
    forced = split([d], [{one_member}], [set()], holdout=0.9, seed=0)
    assert not forced.campaign_heldout[0][k]
    assert not forced.account_heldout[0][list(d.campaign_members[k])].any()
    forced_c = split([d], [set()], [{k}], holdout=0.9, seed=0)
    assert not forced_c.account_heldout[0][list(d.campaign_members[k])].any()


def test_an_account_in_two_scans_joins_their_groups(result_factory):
    first = scan_data(
        "s1",
        result_factory(
            [("x", {}, True, "C-1"), ("y", {}, True, "C-1"), ("z", {}, False, None)],
            [("C-1", ["x", "y"], {})],
        ),
    )
    second = scan_data(
        "s2",
        result_factory([("y", {}, True, "C-2"), ("w", {}, True, "C-2")], [("C-2", ["y", "w"], {})]),
    )
    keys = group_keys([["x", "y"], ["y", "w"], ["z"]])
    assert keys["x"] == keys["w"] == "w" and keys["z"] == "z"
    for seed in range(20):
        s = split([first, second], [set(), set()], [set(), set()], holdout=0.5, seed=seed)
        sides = {bool(s.account_heldout[0][0]), bool(s.account_heldout[0][1])}
        sides |= {bool(v) for v in s.account_heldout[1]}
        assert len(sides) == 1

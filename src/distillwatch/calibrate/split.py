"""Deterministic, grouped train / held-out split of labelled subjects.

Accounts of one campaign, and the campaign itself, form one group; groups sharing an
account (the same account in two scans) are one group too, so nothing learned about an
account leaks into the held-out side through a neighbour. A group is held out when a hash
of its key (its smallest account id) and the seed falls below ``holdout``; the same ids
and seed always give the same split, whatever the order of the inputs. Groups holding a
*forced* subject (a decision that contradicts the current model: what calibration learns
from) always stay in training.

>>> g = group_keys([["a", "b"], ["b", "c"], ["d"]])
>>> g["a"] == g["c"], g["a"] == g["d"]
(True, False)
>>> 0.0 <= unit_hash("a", seed=0) < 1.0
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from distillwatch.calibrate.data import BoolArray, ScanData
from distillwatch.unionfind import DisjointSets


def unit_hash(key: str, *, seed: int) -> float:
    """A number in [0, 1) fixed by ``key`` and ``seed``."""
    digest = hashlib.blake2b(f"{seed}\n{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def group_keys(groups: Iterable[Sequence[str]]) -> dict[str, str]:
    """Each account's group key: the smallest id of the accounts linked to it through
    ``groups`` (union-find)."""
    sets = DisjointSets()
    for accs in groups:
        if accs:
            sets.find(accs[0])
            for a in accs[1:]:
                sets.union(accs[0], a)
    return {a: sets.find(a) for a in list(sets.parent)}


@dataclass(frozen=True)
class Split:
    """Which subjects of each scan are held out (True) rather than used for training."""

    account_heldout: list[BoolArray]
    campaign_heldout: list[BoolArray]


def split(
    scans: Sequence[ScanData],
    forced_accounts: Sequence[set[int]],
    forced_campaigns: Sequence[set[int]],
    *,
    holdout: float,
    seed: int,
) -> Split:
    """Split every subject of ``scans`` (labelled or not) by group (see the module doc)."""
    groups: list[list[str]] = []
    for d in scans:
        groups += [[a] for a in d.account_ids]
        groups += [[d.account_ids[i] for i in mem] for mem in d.campaign_members]
    key = group_keys(groups)
    forced_keys: set[str] = set()
    for d, fa, fc in zip(scans, forced_accounts, forced_campaigns, strict=True):
        forced_keys.update(key[d.account_ids[i]] for i in fa)
        for k in fc:
            forced_keys.update(key[d.account_ids[i]] for i in d.campaign_members[k])
    held = {
        k: k not in forced_keys and unit_hash(k, seed=seed) < holdout for k in set(key.values())
    }
    acc_out = [np.array([held[key[a]] for a in d.account_ids], dtype=np.bool_) for d in scans]
    camp_out = [
        np.array([held[key[d.account_ids[mem[0]]]] for mem in d.campaign_members], dtype=np.bool_)
        for d in scans
    ]
    return Split(acc_out, camp_out)

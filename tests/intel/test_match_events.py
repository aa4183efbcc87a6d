"""match_events: peers' indicators against local requests."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pytest
from tests.intel.conftest_match import (
    KEY,
    KEYRING,
    PARAPHRASE,
    PEER,
    STRANGER,
    T0,
    TASKS,
    UNRELATED,
    WRAPPER,
    campaign,
    digest_objects,
    events,
    identity,
    indicates,
    parts,
    range_indicator,
    template_objects,
    write_bundle,
)

from distillwatch.errors import DetectionError
from distillwatch.intel.fingerprints import part_digest, similarity, sketches
from distillwatch.intel.keys import GroupKey, Keyring
from distillwatch.intel.match import FEATURE_COLUMNS, match_events, near_pairs
from distillwatch.intel.store import load_intel


def _intel(tmp_path, objects):
    write_bundle(tmp_path / "intel" / "coll", "page-1.json", [identity(), *objects])
    return load_intel(tmp_path / "intel", at=T0 + timedelta(days=1))


def _ind_id(objects):
    return next(o["id"] for o in objects if o["type"] == "indicator")


def test_exact_digest_of_a_head_and_of_a_tail(tmp_path):
    head, _ = parts(WRAPPER + TASKS[0])
    wrap = "Respond only after you list, one per line, each and every step you took to get there."
    tail_prompt = "Here is my question about taxes in Peru and in Chile. " + wrap
    _, tail = parts(tail_prompt)
    head_objs = template_objects("head", head)
    tail_objs = template_objects("tail", tail)
    camp = campaign()
    intel = _intel(tmp_path, [*head_objs, *tail_objs, camp, indicates(head_objs[0], camp)])
    ev = events(
        [
            {"account_id": "attacker", "prompt": WRAPPER + TASKS[1]},
            {"account_id": "attacker", "prompt": WRAPPER + TASKS[2]},
            {"account_id": "attacker", "prompt": "hello there, what time is it in Lima?"},
            {"account_id": "tailer", "prompt": "A different question about farming. " + wrap},
            {"account_id": "honest", "prompt": UNRELATED + "the cat sleeps."},
        ]
    )
    m = match_events(ev, intel, KEYRING)
    assert set(m.accounts) == {"attacker", "tailer"}
    att = m.accounts["attacker"]
    assert att.indicator_ids == (_ind_id(head_objs),)
    assert att.n_requests == 3 and att.n_requests_matched == 2
    assert att.template_share == pytest.approx(2 / 3)
    assert att.publishers == (PEER,) and att.campaigns == (camp["name"],)
    assert att.max_confidence == 80 and att.infra_kinds == ()
    assert m.accounts["tailer"].indicator_ids == (_ind_id(tail_objs),)
    hit = m.indicators[_ind_id(head_objs)]
    assert (hit.n_requests, hit.n_accounts) == (2, 1)
    assert hit.first_seen == T0 and hit.last_seen == T0 + timedelta(minutes=1)


def test_paraphrase_matches_through_the_sketch_unrelated_does_not(tmp_path):
    head, _ = parts(WRAPPER + TASKS[0])
    para_head, _ = parts(PARAPHRASE + TASKS[1])
    # the paraphrase has another digest, so only the sketch can match it
    assert part_digest(KEY, "head", para_head) != part_digest(KEY, "head", head)
    sk = sketches(KEY, pa.array([head, para_head]))
    assert similarity(sk[0], sk[1]) >= 0.8
    objs = template_objects("head", head)
    intel = _intel(tmp_path, objs)
    ev = events(
        [
            {"account_id": "para", "prompt": PARAPHRASE + TASKS[1]},
            {"account_id": "other", "prompt": UNRELATED + "the dog barks."},
        ]
    )
    m = match_events(ev, intel, KEYRING)
    assert list(m.accounts) == ["para"]
    assert m.indicators[_ind_id(objs)].n_requests == 1
    # a stricter threshold than the paraphrase's similarity drops the match
    assert match_events(ev, intel, KEYRING, near_threshold=0.99).accounts == {}


def test_indicator_made_with_a_different_key_does_not_match(tmp_path):
    head, _ = parts(WRAPPER + TASKS[0])
    # computed under another secret but labelled with our key id: digests and sketch differ
    forged = template_objects("head", head, STRANGER, key_id=KEY.key_id)
    unknown = template_objects("tail", parts(WRAPPER + TASKS[1])[1], STRANGER)
    intel = _intel(tmp_path, [*forged, *unknown])
    ev = events([{"account_id": "attacker", "prompt": WRAPPER + TASKS[1]}])
    m = match_events(ev, intel, KEYRING)
    assert m.accounts == {}
    assert dict(m.unknown_keys) == {STRANGER.key_id: 1}
    # with the right key the same traffic matches the tail indicator
    both = Keyring("isac", [KEY, STRANGER])
    assert set(match_events(ev, intel, both).accounts) == {"attacker"}


def test_payment_ip_and_prefix_digests_match_per_account(tmp_path):
    pay = digest_objects("payment-fingerprint", "card_77aa")
    ip = digest_objects("ip-address", "81.2.3.4", confidence=60)
    prefix = digest_objects("ip-prefix", "2001:db8:1:2::/64")
    intel = _intel(tmp_path, [*pay, *ip, *prefix])
    ev = events(
        [
            {"account_id": "payer", "prompt": "hi", "payment_fingerprint": "card_77aa"},
            {"account_id": "payer", "prompt": "hi again", "payment_fingerprint": "card_77aa"},
            {"account_id": "home", "prompt": "hi", "ip": "81.2.3.4"},
            {"account_id": "v6", "prompt": "hi", "ip": "2001:DB8:1:2:0:0:0:99"},
            {"account_id": "neighbour", "prompt": "hi", "ip": "81.2.3.5"},
            {"account_id": "clean", "prompt": "hi", "payment_fingerprint": "card_other"},
        ]
    )
    m = match_events(ev, intel, KEYRING)
    assert set(m.accounts) == {"payer", "home", "v6"}
    payer = m.accounts["payer"]
    assert payer.infra_kinds == ("payment-fingerprint",) and payer.n_payment == 1
    assert payer.n_requests_matched == 0 and payer.template_share == 0.0
    assert m.accounts["home"].n_ip_address == 1 and m.accounts["home"].max_confidence == 60
    assert m.accounts["v6"].infra_kinds == ("ip-prefix",)
    assert m.indicators[_ind_id(pay)].n_requests == 2


def test_hosting_range_contains_addresses_inside_only(tmp_path):
    v4 = range_indicator("198.51.100.0/24")
    v6 = range_indicator("2001:db8:aa::/48")
    intel = _intel(tmp_path, [v4, v6])
    ev = events(
        [
            {"account_id": "in4", "prompt": "x", "ip": "198.51.100.200"},
            {"account_id": "out4", "prompt": "x", "ip": "198.51.101.1"},
            {"account_id": "in6", "prompt": "x", "ip": "2001:db8:aa:ffff::1"},
            {"account_id": "out6", "prompt": "x", "ip": "2001:db8:ab::1"},
            {"account_id": "bad", "prompt": "x", "ip": "not-an-ip"},
        ]
    )
    m = match_events(ev, intel, KEYRING)
    assert set(m.accounts) == {"in4", "in6"}
    assert m.accounts["in4"].indicator_ids == (v4["id"],)
    assert m.accounts["in6"].n_hosting == 1


def test_features_align_on_subjects_and_text_is_computed_when_missing(tmp_path):
    objs = template_objects("head", parts(WRAPPER + TASKS[0])[0])
    intel = _intel(tmp_path, objs)
    ev = events([{"account_id": "attacker", "prompt": WRAPPER + TASKS[3]}], with_text=False)
    m = match_events(ev, intel, KEYRING)
    f = m.features(["nobody", "attacker"])
    assert set(FEATURE_COLUMNS) <= set(f)
    assert f["pi_template_share"].tolist() == [0.0, 1.0]
    assert f["pi_indicator_ids"][1] == (_ind_id(objs),) and f["pi_indicator_ids"][0] == ()


def test_missing_columns_are_a_clear_error():
    with pytest.raises(DetectionError, match="payment_fingerprint"):
        match_events(pa.table({"account_id": ["a"]}), _empty(), KEYRING)


def _empty():
    from distillwatch.intel.store import PeerIntel

    return PeerIntel()


def test_near_pairs_finds_every_pair_above_threshold_like_brute_force():
    rng = np.random.default_rng(5)
    peer = rng.integers(0, 2**32, size=(40, 64), dtype=np.uint32)
    local = rng.integers(0, 2**32, size=(500, 64), dtype=np.uint32)
    # plant near copies with 0..12 of 64 positions changed
    for i in range(60):
        src = peer[i % 40].copy()
        changed = rng.choice(64, size=i % 13, replace=False)
        src[changed] = rng.integers(0, 2**32, size=changed.size, dtype=np.uint32)
        local[i * 7] = src
    got = set(zip(*[a.tolist() for a in near_pairs(local, peer, 0.8)], strict=True))
    sim = (local[:, None, :] == peer[None, :, :]).mean(axis=2)
    want = set(zip(*[a.tolist() for a in np.nonzero(sim >= 0.8)], strict=True))
    assert want and got == want


def test_keys_of_other_groups_are_independent():
    other = GroupKey(KEY.key_id, b"\x12" * 32, KEY.valid_from, KEY.valid_until)
    assert part_digest(other, "head", "x y z") != part_digest(KEY, "head", "x y z")

"""Trust-group key files: format, validation, rotation, derivations."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta

import pytest

from distillwatch.errors import IntelError
from distillwatch.intel.keys import GroupKey, Keyring, load_keyring, new_key, rotate, save_keyring

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_round_trip_keeps_secret_and_validity(tmp_path):
    key = new_key("isac", 90, start=T0)
    path = tmp_path / "group.key"
    save_keyring(Keyring("isac", [key]), path)
    ring = load_keyring(path)
    assert ring.group == "isac" and ring.keys == [key]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key.valid_until - key.valid_from == timedelta(days=90)


def test_refuses_to_overwrite(tmp_path):
    path = tmp_path / "group.key"
    save_keyring(Keyring("isac", [new_key("isac", 30)]), path)
    with pytest.raises(IntelError, match="exists; rotate it"):
        save_keyring(Keyring("isac", [new_key("isac", 30)]), path)


def test_rotation_appends_and_current_picks_the_newest_valid(tmp_path):
    path = tmp_path / "group.key"
    first = new_key("isac", 90, start=T0)
    save_keyring(Keyring("isac", [first]), path)
    second = rotate(path, 90, now=T0 + timedelta(days=60))
    ring = load_keyring(path)
    assert [k.key_id for k in ring.keys] == [first.key_id, second.key_id]
    assert ring.current(T0 + timedelta(days=10)).key_id == first.key_id
    assert ring.current(T0 + timedelta(days=61)).key_id == second.key_id
    assert ring.get(first.key_id) == first  # the old key still matches older indicators
    with pytest.raises(IntelError, match="no key of group 'isac' is valid"):
        ring.current(T0 + timedelta(days=400))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="other"), "not a distillwatch key file"),
        (lambda d: d.update(keys=[]), "'keys' must be a non-empty list"),
        (lambda d: d["keys"][0].update(secret="!!"), "base64url|bytes"),
        (lambda d: d["keys"][0].update(secret="AAAA"), "needs at least 16"),
        (lambda d: d["keys"][0].update(valid_until="2020-01-01T00:00:00Z"), "must be after"),
        (lambda d: d["keys"][0].update(valid_from="yesterday"), "not an RFC 3339"),
        (lambda d: d["keys"][0].update(valid_from="2026-01-01T00:00:00"), "needs a time zone"),
        (lambda d: d["keys"].append(dict(d["keys"][0])), "unique"),
        (lambda d: d["keys"][0].update(key_id="k' OR 1=1"), "must be 1-64 letters"),
        (lambda d: d.update(group="my group"), "must be 1-64 letters"),
    ],
)
def test_bad_key_files_are_one_line_errors(tmp_path, mutate, message):
    path = tmp_path / "group.key"
    save_keyring(Keyring("isac", [new_key("isac", 30, start=T0)]), path)
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(IntelError, match=message) as info:
        load_keyring(path)
    assert "\n" not in str(info.value)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(IntelError, match="intel keygen"):
        load_keyring(tmp_path / "none.key")
    bad = tmp_path / "bad.key"
    bad.write_text("{not json")
    with pytest.raises(IntelError, match="cannot be read"):
        load_keyring(bad)


def test_digests_are_keyed_and_domain_separated():
    a = GroupKey("a", b"\x01" * 32, T0, T0 + timedelta(days=1))
    b = GroupKey("b", b"\x02" * 32, T0, T0 + timedelta(days=1))
    assert a.digest("ip-address", "10.0.0.1") != b.digest("ip-address", "10.0.0.1")
    assert a.digest("ip-address", "10.0.0.1") != a.digest("ip-prefix", "10.0.0.1")
    assert a.digest("ip-address", "10.0.0.1") == a.digest("ip-address", "10.0.0.1")
    assert a.minhash_seed() != b.minhash_seed() and 0 <= a.minhash_seed() < 2**64
    assert "\\x01" not in repr(a) and "secret" not in repr(a)


def test_same_start_prefers_the_key_added_last(tmp_path):
    path = tmp_path / "group.key"
    first = new_key("isac", 30, start=T0)
    save_keyring(Keyring("isac", [first]), path)
    second = rotate(path, 30, now=T0)
    assert load_keyring(path).current(T0 + timedelta(hours=1)).key_id == second.key_id


def test_group_name_is_checked_when_making_a_key():
    with pytest.raises(IntelError, match="group name"):
        new_key("bad name", 30)

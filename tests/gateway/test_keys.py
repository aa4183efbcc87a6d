"""Gateway API keys: only hashes on disk, roles, revocation, re-reading the file."""

from __future__ import annotations

import stat

import orjson
import pytest

from distillwatch.errors import GatewayError
from distillwatch.gateway.keys import (
    KeyRejected,
    KeyRing,
    add_key,
    hash_key,
    key_rows,
    load_keys,
    revoke_key,
)


def rejected(ring: KeyRing, header: str | None, role: str) -> int:
    with pytest.raises(KeyRejected) as err:
        ring.check(header, role)
    return err.value.status


def test_keys_are_stored_as_hashes_with_mode_0600(tmp_path):
    path = tmp_path / "keys.json"
    key = add_key(path, "gw", "score")
    assert key.startswith("dwg_") and len(key) > 40
    raw = path.read_bytes()
    assert key.encode() not in raw and hash_key(key).encode() in raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [k.name for k in load_keys(path)] == ["gw"]
    assert add_key(path, "gw2", "score") != key


def test_roles_and_rejections(tmp_path):
    path = tmp_path / "keys.json"
    score, metrics = add_key(path, "a", "score"), add_key(path, "b", "metrics")
    ring = KeyRing(path)
    assert ring.check(f"Bearer {score}", "score").name == "a"
    assert ring.check(f"bearer {metrics}", "metrics").role == "metrics"
    assert rejected(ring, f"Bearer {metrics}", "score") == 403
    assert rejected(ring, None, "score") == 401
    assert rejected(ring, f"Basic {score}", "score") == 401
    assert rejected(ring, "Bearer dwg_unknown", "score") == 401
    assert rejected(KeyRing(None), f"Bearer {score}", "score") == 401


def test_revoke_is_seen_by_a_running_ring(tmp_path):
    path = tmp_path / "keys.json"
    key = add_key(path, "a", "score")
    ring = KeyRing(path)
    assert ring.check(f"Bearer {key}", "score").name == "a"
    assert revoke_key(path, "a") == 1
    assert rejected(ring, f"Bearer {key}", "score") == 401
    rows = key_rows(path)
    assert rows[0]["revoked"] and rows[0]["sha256"] == hash_key(key)[:12]
    # the name is free again; the old key stays revoked
    new = add_key(path, "a", "score")
    assert ring.check(f"Bearer {new}", "score").name == "a"
    assert rejected(ring, f"Bearer {key}", "score") == 401


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (lambda p: add_key(p, "x", "admin"), "role 'admin' is not a role"),
        (lambda p: add_key(p, " ", "score"), "non-empty name"),
        (lambda p: (add_key(p, "x", "score"), add_key(p, "x", "score")), "already named 'x'"),
        (lambda p: (add_key(p, "x", "score"), revoke_key(p, "y")), "no active key is named 'y'"),
        (lambda p: load_keys(p), "does not exist; create a key with"),
    ],
)
def test_key_file_errors(tmp_path, action, expected):
    with pytest.raises(GatewayError, match=expected):
        action(tmp_path / "keys.json")


def test_corrupt_key_files(tmp_path):
    path = tmp_path / "keys.json"
    for content, expected in [
        (b"{", "is not JSON"),
        (b'{"format": "other"}', "is not a gateway key file"),
        (
            orjson.dumps({"format": "distillwatch-gateway-keys/1", "keys": [{"name": "a"}]}),
            "entry 1 is malformed",
        ),
    ]:
        path.write_bytes(content)
        with pytest.raises(GatewayError, match=expected):
            load_keys(path)

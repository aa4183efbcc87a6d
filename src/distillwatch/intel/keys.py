"""Trust-group keys: the secret that makes shared fingerprints useless to outsiders.

Every value that identifies a person or a line (a payment fingerprint, a residential IP)
and every prompt-template skeleton leaves a provider only as a keyed digest
(HMAC-SHA-256) under the trust group's current key; MinHash sketches use a seed derived
from the same key. Members of the group hold the key and can recompute the digests over
their own traffic; the hub operator and anyone else cannot test guesses.

A key file is JSON (written with mode 0600)::

    {"format": "distillwatch-group-keys/1", "group": "frontier-isac",
     "keys": [{"key_id": "frontier-isac-2026-11-29-1a2b", "secret": "<base64url, 32 bytes>",
               "valid_from": "2026-11-29T00:00:00Z", "valid_until": "2027-02-27T00:00:00Z"}]}

Rotation appends a key (``intel key rotate``); older keys stay for matching peers'
indicators published under them until they expire, and publishing always uses the newest
key valid at the time.

>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> key = GroupKey("k1", bytes(32), t0, t0 + timedelta(days=90))
>>> key.digest("payment-fingerprint", "card_1")[:16]
'872b76eb8b11a1fc'
>>> key.digest("payment-fingerprint", "card_1") == key.digest("ip-address", "card_1")
False
>>> ring = Keyring("g", [key])
>>> ring.current(t0 + timedelta(days=1)).key_id
'k1'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from distillwatch.errors import IntelError

FORMAT = "distillwatch-group-keys/1"
#: group names and key ids travel inside STIX patterns: keep them to a safe alphabet
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SECRET_BYTES = 32
#: Domain separation of every derivation, so a digest of one kind never equals another's.
_CONTEXT = b"distillwatch/1"


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_ts(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise IntelError(f"{where} must be an RFC 3339 timestamp string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise IntelError(f"{where} is not an RFC 3339 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise IntelError(f"{where} needs a time zone (end it with Z): {value!r}")
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class GroupKey:
    """One key of a trust group with its validity period."""

    key_id: str
    secret: bytes
    valid_from: datetime
    valid_until: datetime

    def __repr__(self) -> str:  # never print the secret
        return f"GroupKey({self.key_id!r}, valid {_ts(self.valid_from)}..{_ts(self.valid_until)})"

    def valid_at(self, at: datetime) -> bool:
        return self.valid_from <= at < self.valid_until

    def digest(self, kind: str, value: str) -> str:
        """Hex HMAC-SHA-256 of ``value`` for values of ``kind`` (domain-separated)."""
        msg = b"|".join([_CONTEXT, kind.encode(), value.encode("utf-8", "surrogatepass")])
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()

    def minhash_seed(self) -> int:
        """The secret 64-bit seed of this key's MinHash permutations."""
        raw = hmac.new(self.secret, _CONTEXT + b"|minhash-seed", hashlib.sha256).digest()
        return int.from_bytes(raw[:8], "little")


class Keyring:
    """The keys of one trust group, oldest first."""

    def __init__(self, group: str, keys: Sequence[GroupKey]) -> None:
        self.group = group
        self.keys = list(keys)

    def get(self, key_id: str) -> GroupKey | None:
        return next((k for k in self.keys if k.key_id == key_id), None)

    def current(self, at: datetime | None = None) -> GroupKey:
        """The newest key valid at ``at`` (now by default); IntelError if none is."""
        at = at or datetime.now(UTC)
        valid = [(k.valid_from, i, k) for i, k in enumerate(self.keys) if k.valid_at(at)]
        if not valid:
            raise IntelError(
                f"no key of group {self.group!r} is valid at {_ts(at)}; "
                "run `distillwatch intel key rotate KEY_FILE` to add one"
            )
        return max(valid, key=lambda x: (x[0], x[1]))[2]  # ties: the one added last

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "group": self.group,
            "keys": [
                {
                    "key_id": k.key_id,
                    "secret": base64.urlsafe_b64encode(k.secret).decode().rstrip("="),
                    "valid_from": _ts(k.valid_from),
                    "valid_until": _ts(k.valid_until),
                }
                for k in self.keys
            ],
        }


def new_key(group: str, valid_days: int, *, start: datetime | None = None) -> GroupKey:
    """A fresh random key valid for ``valid_days`` from ``start`` (now)."""
    if valid_days < 1:
        raise IntelError(f"--valid-days must be at least 1, got {valid_days}")
    check_name(group, "group name")
    start = (start or datetime.now(UTC)).replace(microsecond=0)
    key_id = f"{group}-{start:%Y%m%d}-{secrets.token_hex(3)}"
    return GroupKey(
        key_id, secrets.token_bytes(SECRET_BYTES), start, start + timedelta(days=valid_days)
    )


def check_name(value: str, what: str) -> str:
    """``value`` if it is a safe group name or key id, else a one-line IntelError."""
    if not NAME_RE.fullmatch(value):
        raise IntelError(
            f"{what} {value!r} must be 1-64 letters, digits, '.', '_' or '-' (starting with a "
            "letter or digit)"
        )
    return value


def _decode_secret(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise IntelError(f"{where} must be a base64url string")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise IntelError(f"{where} is not valid base64url") from exc
    if len(raw) < 16:
        raise IntelError(f"{where} is {len(raw)} bytes; a key needs at least 16 (32 are made)")
    return raw


def load_keyring(path: Path) -> Keyring:
    """Read and validate a key file; every problem is one IntelError line."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise IntelError(
            f"key file {path} not found; create one with `distillwatch intel keygen --out {path}`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntelError(f"key file {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise IntelError(f"{path} is not a distillwatch key file (expected format {FORMAT!r})")
    group = data.get("group")
    if not isinstance(group, str) or not group:
        raise IntelError(f"{path}: 'group' must be a non-empty string")
    check_name(group, f"{path}: group")
    raw_keys = data.get("keys")
    if not isinstance(raw_keys, list) or not raw_keys:
        raise IntelError(f"{path}: 'keys' must be a non-empty list")
    keys = []
    for i, item in enumerate(raw_keys):
        where = f"{path}: keys[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("key_id"), str):
            raise IntelError(f"{where} needs a string 'key_id'")
        check_name(item["key_id"], f"{where}.key_id")
        start = _parse_ts(item.get("valid_from"), f"{where}.valid_from")
        end = _parse_ts(item.get("valid_until"), f"{where}.valid_until")
        if end <= start:
            raise IntelError(f"{where}: valid_until must be after valid_from")
        keys.append(GroupKey(item["key_id"], _decode_secret(item.get("secret"), where), start, end))
    ids = [k.key_id for k in keys]
    if len(set(ids)) != len(ids):
        raise IntelError(f"{path}: key ids must be unique")
    return Keyring(group, keys)


def save_keyring(ring: Keyring, path: Path, *, overwrite: bool = False) -> None:
    """Write ``ring`` with mode 0600; refuses to replace a file unless ``overwrite``."""
    text = json.dumps(ring.to_json(), indent=2) + "\n"
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise IntelError(f"{path} exists; rotate it with `distillwatch intel key rotate`") from None
    except OSError as exc:
        raise IntelError(f"cannot write key file {path}: {exc}") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def rotate(path: Path, valid_days: int, *, now: datetime | None = None) -> GroupKey:
    """Append a new key to the file at ``path`` that starts now; returns it."""
    ring = load_keyring(path)
    key = new_key(ring.group, valid_days, start=now)
    ring.keys.append(key)
    save_keyring(ring, path, overwrite=True)
    return key

"""API keys of the gateway's own endpoints: role ``score`` for ``/v1/score`` and
``/v1/reload``, role ``metrics`` for ``/metrics``.

A key is 32 random bytes (``secrets.token_urlsafe``) prefixed ``dwg_``, shown once; the key
file (JSON, mode 0600) keeps only its SHA-256, its name, role and dates. A 256-bit random
key cannot be guessed from its hash, so a fast hash is enough and lets a request be checked
by lookup. Revoked keys stay in the file, marked with the time of revocation. A running
gateway re-reads the file when it changes, so ``key revoke`` takes effect at once.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "keys.json"
>>> key = add_key(path, "ops", "metrics")
>>> ring = KeyRing(path)
>>> ring.check("Bearer " + key, "metrics").name
'ops'
>>> try:
...     ring.check("Bearer " + key, "score")
... except KeyRejected as exc:
...     exc.status
403
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from distillwatch.errors import GatewayError
from distillwatch.gateway.requests import bearer_key

ROLES = ("score", "metrics")
KEY_PREFIX = "dwg_"
FORMAT = "distillwatch-gateway-keys/1"
_DUMMY = "0" * 64


class KeyRejected(GatewayError):
    """A request's key is missing, unknown or revoked (401) or lacks the role (403)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ApiKey:
    """One entry of the key file (the key itself is never stored)."""

    name: str
    role: str
    sha256: str
    created: str
    revoked: str | None = None


def hash_key(key: str) -> str:
    """The stored form of *key*: SHA-256 hex.

    >>> hash_key("dwg_x")[:12]
    '9cced8b6eba5'
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_keys(path: Path) -> list[ApiKey]:
    """Every entry of the key file; GatewayError when it cannot be used."""
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise GatewayError(
            f"key file {path} does not exist; create a key with "
            f"`distillwatch gateway key add NAME --role score --keys {path}`"
        ) from exc
    except OSError as exc:
        raise GatewayError(f"key file {path} cannot be read: {exc.strerror}") from exc
    except orjson.JSONDecodeError as exc:
        raise GatewayError(
            f"key file {path} is not JSON ({exc}); restore it from a backup"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise GatewayError(f"key file {path} is not a gateway key file (format {FORMAT})")
    out: list[ApiKey] = []
    for i, raw in enumerate(data.get("keys", []), 1):
        try:
            key = ApiKey(**raw)
        except TypeError as exc:
            raise GatewayError(f"key file {path}: entry {i} is malformed ({exc})") from exc
        if key.role not in ROLES or len(key.sha256) != 64:
            raise GatewayError(f"key file {path}: entry {i} ({key.name}) has a bad role or hash")
        out.append(key)
    return out


def _write(path: Path, keys: list[ApiKey]) -> None:
    body = orjson.dumps(
        {"format": FORMAT, "keys": [asdict(k) for k in keys]}, option=orjson.OPT_INDENT_2
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".keys-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(body + b"\n")
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise GatewayError(f"key file {path} cannot be written: {exc.strerror}") from exc


def add_key(path: Path, name: str, role: str) -> str:
    """Create a key named *name* with *role*; return it (the only time it is shown).
    Creates the file when missing."""
    if role not in ROLES:
        raise GatewayError(f"role {role!r} is not a role; use one of {', '.join(ROLES)}")
    if not name.strip():
        raise GatewayError("a key needs a non-empty name")
    keys = load_keys(path) if path.exists() else []
    if any(k.name == name and k.revoked is None for k in keys):
        raise GatewayError(f"an active key is already named {name!r}; revoke it or pick a name")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    keys.append(ApiKey(name, role, hash_key(key), _now()))
    _write(path, keys)
    return key


def revoke_key(path: Path, name: str) -> int:
    """Revoke every active key named *name*; return how many."""
    keys = load_keys(path)
    stamp = _now()
    hit = [i for i, k in enumerate(keys) if k.name == name and k.revoked is None]
    if not hit:
        raise GatewayError(f"no active key is named {name!r}; see `gateway key list`")
    for i in hit:
        keys[i] = replace(keys[i], revoked=stamp)
    _write(path, keys)
    return len(hit)


class KeyRing:
    """Checks ``Authorization: Bearer <key>`` headers against a key file (None: no keys,
    every check fails). Re-reads the file when its inode, size or mtime changes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.stamp_: tuple[int, int, int] | None = None
        self.by_hash_: dict[str, ApiKey] = {}

    def _refresh(self) -> None:
        assert self.path is not None
        try:
            st = self.path.stat()
        except OSError as exc:
            raise GatewayError(f"key file {self.path} cannot be read: {exc.strerror}") from exc
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp != self.stamp_:
            self.by_hash_ = {k.sha256: k for k in load_keys(self.path) if k.revoked is None}
            self.stamp_ = stamp

    def check(self, authorization: str | None, role: str) -> ApiKey:
        """The key the header proves, if it has *role*; KeyRejected otherwise."""
        if self.path is None:
            raise KeyRejected(401, "this gateway has no key file (start it with --keys FILE)")
        key = bearer_key(authorization)
        if key is None:
            raise KeyRejected(401, "send a gateway key as 'Authorization: Bearer <key>'")
        self._refresh()
        digest = hash_key(key)
        found = self.by_hash_.get(digest)
        if found is None or not hmac.compare_digest(found.sha256, digest):
            hmac.compare_digest(_DUMMY, digest)
            raise KeyRejected(401, "invalid or revoked gateway key")
        if found.role != role:
            raise KeyRejected(
                403, f"this key has role {found.role}; this endpoint needs a key with role {role}"
            )
        return found


def key_rows(path: Path) -> list[dict[str, Any]]:
    """The key file as rows for ``key list`` (no hashes beyond a short prefix)."""
    return [
        {
            "name": k.name,
            "role": k.role,
            "sha256": k.sha256[:12],
            "created": k.created,
            "revoked": k.revoked or "",
        }
        for k in load_keys(path)
    ]

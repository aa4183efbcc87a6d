"""Who is calling: HTTP Basic (member name + token as password) or Bearer token.

Tokens are 32 random bytes (``secrets.token_urlsafe``) prefixed ``dwh_``; only their
SHA-256 is stored. A slow password hash (PBKDF2, scrypt) protects low-entropy secrets
people choose; a 256-bit random token cannot be guessed from its hash, so a fast hash
costs an attacker nothing more, while a slow one would cost every request tens of
milliseconds and prevent looking tokens up by hash. Hashes are compared with
:func:`hmac.compare_digest`; a Basic login for an unknown member still does a comparison,
so response time does not tell which member names exist.

``Authorization: Token <token>`` (what ``taxii2client.common.TokenAuth`` sends) is
accepted as a synonym of Bearer.

>>> token = new_token()
>>> token.startswith("dwh_") and len(hash_token(token)) == 64
True
>>> parse_authorization("Bearer abc")
Credentials(scheme='bearer', name=None, token='abc')
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from distillwatch.errors import HubError
from distillwatch.hub.storage import HubStore, Member

TOKEN_PREFIX = "dwh_"
REALM = "distillwatch-hub"
#: the value of ``WWW-Authenticate`` on a 401
CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8", Bearer realm="{REALM}"'
_DUMMY_HASH = "0" * 64


class AuthError(HubError):
    """Missing or wrong credentials (HTTP 401)."""


@dataclass(frozen=True)
class Credentials:
    """What an ``Authorization`` header carries."""

    scheme: Literal["basic", "bearer"]
    name: str | None
    token: str


def new_token() -> str:
    """A fresh random token (256 bits); shown once, only its hash is kept."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of *token*: SHA-256 hex.

    >>> hash_token("dwh_x")[:12]
    '6eb7e7bc31a7'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_authorization(header: str | None) -> Credentials:
    """Split an ``Authorization`` header; AuthError when absent or malformed."""
    if not header or not header.strip():
        raise AuthError(
            "credentials are missing: send HTTP Basic (member name and token) or Bearer"
        )
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    kind = scheme.lower()
    if kind in ("bearer", "token"):
        if not value:
            raise AuthError("the Bearer token is empty")
        return Credentials("bearer", None, value)
    if kind == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise AuthError("the Basic credentials are not valid base64 of name:token") from exc
        name, sep, token = decoded.partition(":")
        if not sep or not name or not token:
            raise AuthError("the Basic credentials must be name:token")
        return Credentials("basic", name, token)
    raise AuthError(f"unsupported authorization scheme {scheme!r}; use Basic or Bearer")


def authenticate(store: HubStore, header: str | None) -> Member:
    """The member the *header* proves to be; AuthError otherwise (same message for any wrong
    name or token)."""
    creds = parse_authorization(header)
    digest = hash_token(creds.token)
    if creds.scheme == "bearer":
        found = store.member_by_token_hash(digest)
        if found is None:
            hmac.compare_digest(_DUMMY_HASH, digest)
        elif hmac.compare_digest(found[1], digest):
            return found[0]
        raise AuthError("invalid credentials")
    assert creds.name is not None
    known = store.member_with_hashes(creds.name)
    hashes = known[1] if known is not None and known[1] else [_DUMMY_HASH]
    matched = False
    for stored in hashes:
        matched |= hmac.compare_digest(stored, digest)
    if known is not None and matched:
        return known[0]
    raise AuthError("invalid credentials")

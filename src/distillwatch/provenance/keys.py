"""Provenance keys: the secret that decides every marked choice.

One key per campaign (the gateway makes one the first time it marks a campaign's
traffic). Whoever holds the key can test a suspect model for the mark; without it the
choices look like ordinary variation in wording. A key file is JSON written with mode
0600::

    {"format": "distillwatch-provenance-key/1", "key_id": "pk-20261129-1a2b3c",
     "secret": "<base64url, 32 bytes>", "created": "2026-11-29T09:30:00Z",
     "context_words": 2, "strength": 1.0, "lexicon_sha256": "<digest of the lexicon>",
     "kinds": ["contraction", "synonym", "phrase"]}

``context_words`` and ``strength`` are part of the key because the test must look at the
text exactly as the marker did; ``lexicon_sha256`` names the lexicon the key was used
with, so a test against a different lexicon is refused instead of silently losing power.

>>> key = ProvenanceKey("pk-test", bytes(32), context_words=1, strength=1.0)
>>> pick, activation, digest = key.position(3, "the", 2)
>>> pick in (0, 1) and 0.0 <= activation < 1.0
True
>>> key.position(3, "the", 2) == (pick, activation, digest)
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distillwatch.errors import ProvenanceError

FORMAT = "distillwatch-provenance-key/1"
SECRET_BYTES = 32
KEY_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DOMAIN = b"distillwatch-provenance/1"
_TWO64 = float(2**64)
KINDS = ("contraction", "spelling", "synonym", "phrase")
DEFAULT_KINDS = ("contraction", "synonym", "phrase")


@dataclass(frozen=True)
class ProvenanceKey:
    """A marking key and the parameters the test must share with the marker."""

    key_id: str
    secret: bytes = field(repr=False)
    context_words: int = 2
    strength: float = 1.0
    created: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    lexicon_sha256: str = ""
    #: lexicon group kinds the key marks (spelling variants are left out by default: a
    #: US-English answer with "colour" in it reads oddly, even if it means the same)
    kinds: tuple[str, ...] = DEFAULT_KINDS

    def __repr__(self) -> str:  # never print the secret
        return f"ProvenanceKey({self.key_id!r}, context_words={self.context_words})"

    def _raw(self, group: int, context: str) -> bytes:
        msg = b"|".join([_DOMAIN, str(group).encode(), context.encode("utf-8", "surrogatepass")])
        return hmac.new(self.secret, msg, hashlib.sha256).digest()

    def position(self, group: int, context: str, n_variants: int) -> tuple[int, float, int]:
        """What the key says about ``group`` after ``context``: the variant it picks, the
        position's activation in [0, 1) (marked when below the strength) and its 64-bit
        ledger digest.

        The three come from disjoint bytes of one HMAC, so whether a position is marked
        says nothing about what was chosen at it, and a ledger reveals neither.
        """
        raw = self._raw(group, context)
        pick = int.from_bytes(raw[:8], "big") % n_variants
        activation = int.from_bytes(raw[8:16], "big") / _TWO64
        return pick, activation, int.from_bytes(raw[16:24], "big")

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "key_id": self.key_id,
            "secret": base64.urlsafe_b64encode(self.secret).decode().rstrip("="),
            "created": self.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "context_words": self.context_words,
            "strength": self.strength,
            "lexicon_sha256": self.lexicon_sha256,
            "kinds": list(self.kinds),
        }


def check_params(
    context_words: int, strength: float, kinds: tuple[str, ...] = DEFAULT_KINDS
) -> None:
    """One-line errors for marking parameters out of range."""
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise ProvenanceError(
            f"kinds must be a non-empty subset of {', '.join(KINDS)}; got {', '.join(kinds)}"
        )
    if not 1 <= context_words <= 4:
        raise ProvenanceError(f"context_words must be 1 to 4, got {context_words}")
    if not 0.0 < strength <= 1.0:
        raise ProvenanceError(f"strength must be in (0, 1], got {strength}")


def new_key(
    *,
    context_words: int = 2,
    strength: float = 1.0,
    lexicon_sha256: str = "",
    kinds: tuple[str, ...] = DEFAULT_KINDS,
    prefix: str = "pk",
) -> ProvenanceKey:
    """A fresh random key."""
    check_params(context_words, strength, kinds)
    now = datetime.now(UTC).replace(microsecond=0)
    key_id = f"{prefix}-{now:%Y%m%d}-{secrets.token_hex(4)}"
    if not KEY_ID_RE.fullmatch(key_id):
        raise ProvenanceError(f"key id prefix {prefix!r} must be letters, digits, '.', '_', '-'")
    return ProvenanceKey(
        key_id,
        secrets.token_bytes(SECRET_BYTES),
        context_words,
        strength,
        now,
        lexicon_sha256,
        tuple(kinds),
    )


def save_key(key: ProvenanceKey, path: Path, *, overwrite: bool = False) -> None:
    """Write ``key`` to ``path`` with mode 0600; never replaces a key unless ``overwrite``."""
    if path.exists() and not overwrite:
        raise ProvenanceError(
            f"{path} exists; a key is never overwritten by accident (choose another path)"
        )
    data = json.dumps(key.to_json(), indent=2) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
    except OSError as exc:
        raise ProvenanceError(f"cannot write key file {path}: {exc.strerror}") from exc


def _field(data: dict[str, Any], name: str, kind: type, path: Path) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ProvenanceError(f"{path}: {name!r} must be a {kind.__name__}")
    return value


def load_key(path: Path) -> ProvenanceKey:
    """Read and validate a key file; every problem is one ProvenanceError line."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ProvenanceError(
            f"key file {path} not found; create one with "
            f"`distillwatch provenance keygen --out {path}`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProvenanceError(f"key file {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProvenanceError(
            f"{path} is not a provenance key file (expected format {FORMAT!r}; "
            "intel group keys are a different kind of key)"
        )
    key_id = _field(data, "key_id", str, path)
    if not KEY_ID_RE.fullmatch(key_id):
        raise ProvenanceError(f"{path}: key_id {key_id!r} has characters outside [A-Za-z0-9._-]")
    text = _field(data, "secret", str, path)
    try:
        secret = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise ProvenanceError(f"{path}: 'secret' is not valid base64url") from exc
    if len(secret) < 16:
        raise ProvenanceError(f"{path}: the secret is {len(secret)} bytes; at least 16 needed")
    context_words = _field(data, "context_words", int, path)
    strength = data.get("strength")
    if not isinstance(strength, int | float) or isinstance(strength, bool):
        raise ProvenanceError(f"{path}: 'strength' must be a number")
    try:
        check_params(context_words, float(strength))
    except ProvenanceError as exc:
        raise ProvenanceError(f"{path}: {exc}") from None
    created_text = _field(data, "created", str, path)
    try:
        created = datetime.fromisoformat(created_text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ProvenanceError(f"{path}: 'created' is not an RFC 3339 timestamp") from exc
    lexicon_sha = data.get("lexicon_sha256", "")
    if not isinstance(lexicon_sha, str):
        raise ProvenanceError(f"{path}: 'lexicon_sha256' must be a string")
    kinds = data.get("kinds", list(DEFAULT_KINDS))
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise ProvenanceError(f"{path}: 'kinds' must be a list of strings")
    try:
        check_params(context_words, float(strength), tuple(kinds))
    except ProvenanceError as exc:
        raise ProvenanceError(f"{path}: {exc}") from None
    return ProvenanceKey(
        key_id, secret, context_words, float(strength), created, lexicon_sha, tuple(kinds)
    )

"""The ledger: which positions were served marked, as keyed digests (no text).

A ledger file belongs to one key. Its first line is a JSON header, then one 16-hex-digit
digest per line, appended as texts are marked (duplicates are harmless)::

    {"format": "distillwatch-provenance-ledger/1", "key_id": "pk-20261129-1a2b3c"}
    9f86d081884c7d65
    ...

The digests come from bytes of the key's HMAC that the pick does not use, so a ledger
reveals nothing about the choices, and without the key nothing about the text.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path

from distillwatch.errors import ProvenanceError

FORMAT = "distillwatch-provenance-ledger/1"
_LOCK = threading.Lock()


def append_ledger(path: Path, key_id: str, digests: Iterable[int]) -> None:
    """Append ``digests`` to the ledger of ``key_id`` at ``path`` (created if missing)."""
    lines = "".join(f"{d:016x}\n" for d in digests)
    try:
        with _LOCK:
            if path.exists():
                header = read_header(path)
                if header != key_id:
                    raise ProvenanceError(
                        f"ledger {path} belongs to key {header!r}, not {key_id!r}; "
                        "use one ledger file per key"
                    )
                with path.open("a", encoding="ascii") as fh:
                    fh.write(lines)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                head = json.dumps({"format": FORMAT, "key_id": key_id})
                path.write_text(head + "\n" + lines, "ascii")
    except OSError as exc:
        raise ProvenanceError(f"cannot write ledger {path}: {exc.strerror}") from exc


def read_header(path: Path) -> str:
    """The key id a ledger file belongs to."""
    try:
        with path.open(encoding="ascii") as fh:
            head = json.loads(fh.readline())
    except FileNotFoundError:
        raise ProvenanceError(f"ledger {path} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProvenanceError(f"{path} is not a provenance ledger: {exc}") from exc
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise ProvenanceError(f"{path} is not a provenance ledger (expected format {FORMAT!r})")
    key_id = head.get("key_id")
    if not isinstance(key_id, str):
        raise ProvenanceError(f"{path}: the ledger header has no key_id")
    return key_id


def read_ledger(path: Path) -> tuple[str, set[int]]:
    """``(key id, digests)`` of a ledger file; a malformed line is a one-line error."""
    key_id = read_header(path)
    digests: set[int] = set()
    with path.open(encoding="ascii") as fh:
        next(fh)
        for number, line in enumerate(fh, start=2):
            text = line.strip()
            if not text:
                continue
            try:
                digests.add(int(text, 16))
            except ValueError:
                raise ProvenanceError(
                    f"{path}:{number}: {text[:20]!r} is not a hex digest; the ledger is damaged"
                ) from None
    return key_id, digests

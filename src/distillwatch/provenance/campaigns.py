"""One key per campaign, and the marker the gateway's ``mark`` action calls.

The gateway marks what it serves to a suspect campaign with that campaign's own key, so
a later test names the campaign whose answers a suspect model learned from. Keys live in
a directory the operator owns::

    MARKS/keys/<key_id>.json        the key (mode 0600)
    MARKS/ledgers/<key_id>.ledger   marked positions, as keyed digests (no text)
    MARKS/assignments.jsonl         {"campaign_id", "key_id", "assigned"}: which key went where

Accounts flagged outside any campaign share the key of ``unattributed``.

>>> import tempfile
>>> from pathlib import Path
>>> marks = CampaignKeys(Path(tempfile.mkdtemp()))
>>> marks.key_for("camp-1").key_id == marks.key_for("camp-1").key_id
True
>>> marks.key_for("camp-1").key_id != marks.key_for("camp-2").key_id
True
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distillwatch.errors import ProvenanceError
from distillwatch.provenance.keys import ProvenanceKey, load_key, new_key, save_key
from distillwatch.provenance.ledger import append_ledger
from distillwatch.provenance.lexicon import Lexicon, lexicon_sha256, load_lexicon
from distillwatch.provenance.mark import mark_text
from distillwatch.provenance.stream import MarkStream

UNATTRIBUTED = "unattributed"


@dataclass(frozen=True)
class Assignment:
    campaign_id: str
    key_id: str
    assigned: str


class CampaignKeys:
    """The per-campaign keys under ``root``; a key is made the first time it is needed."""

    def __init__(self, root: Path, *, context_words: int = 2, strength: float = 1.0) -> None:
        self.root = root
        self.context_words = context_words
        self.strength = strength
        self._keys: dict[str, ProvenanceKey] | None = None
        self._lock = threading.Lock()

    @property
    def assignments_path(self) -> Path:
        return self.root / "assignments.jsonl"

    def ledger_path(self, key_id: str) -> Path:
        return self.root / "ledgers" / f"{key_id}.ledger"

    def assignments(self) -> list[Assignment]:
        """Every assignment recorded, oldest first."""
        path = self.assignments_path
        if not path.exists():
            return []
        out = []
        try:
            lines = path.read_text("utf-8").splitlines()
        except OSError as exc:
            raise ProvenanceError(f"cannot read {path}: {exc.strerror}") from exc
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row: dict[str, Any] = json.loads(line)
                out.append(Assignment(row["campaign_id"], row["key_id"], row["assigned"]))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ProvenanceError(
                    f"{path}:{number} is damaged ({exc}); fix or remove it"
                ) from None
        return out

    def _load(self) -> dict[str, ProvenanceKey]:
        if self._keys is None:
            keys = {}
            for a in self.assignments():
                keys[a.campaign_id] = load_key(self.root / "keys" / f"{a.key_id}.json")
            self._keys = keys
        return self._keys

    def key_for(self, campaign_id: str | None) -> ProvenanceKey:
        """The key of ``campaign_id`` (made and recorded on first use)."""
        campaign = campaign_id or UNATTRIBUTED
        with self._lock:
            keys = self._load()
            if campaign in keys:
                return keys[campaign]
            key = new_key(
                context_words=self.context_words,
                strength=self.strength,
                lexicon_sha256=lexicon_sha256(),
            )
            save_key(key, self.root / "keys" / f"{key.key_id}.json")
            row = {
                "campaign_id": campaign,
                "key_id": key.key_id,
                "assigned": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            try:
                with self.assignments_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
            except OSError as exc:
                raise ProvenanceError(
                    f"cannot record the key of {campaign}: {exc.strerror}"
                ) from exc
            keys[campaign] = key
            return key


class CampaignMarker:
    """The gateway's provenance marker: marks with the campaign's key, records the ledger."""

    def __init__(self, keys: CampaignKeys, lexicon: Lexicon | None = None) -> None:
        self.keys = keys
        self.lexicon = lexicon

    def mark(self, text: str, campaign_id: str | None) -> str:
        """``text`` marked with the campaign's key; the marked positions go to its ledger."""
        lexicon = self.lexicon or load_lexicon()
        key = self.keys.key_for(campaign_id)
        result = mark_text(text, key, lexicon)
        if result.digests:
            append_ledger(self.keys.ledger_path(key.key_id), key.key_id, result.digests)
        return result.text

    def open_stream(self, campaign_id: str | None) -> CampaignStream:
        """A marker for one streamed answer of the campaign (see :mod:`.stream`)."""
        key = self.keys.key_for(campaign_id)
        stream = MarkStream(key, self.lexicon or load_lexicon())
        return CampaignStream(stream, self.keys.ledger_path(key.key_id))


class CampaignStream:
    """A :class:`MarkStream` that records what it released in the campaign's ledger."""

    def __init__(self, stream: MarkStream, ledger: Path) -> None:
        self.stream = stream
        self.ledger = ledger
        self.recorded: set[int] = set()

    @property
    def pending(self) -> str:
        return self.stream.pending

    def feed(self, text: str) -> str:
        return self._record(self.stream.feed(text))

    def flush(self) -> str:
        return self._record(self.stream.flush())

    def _record(self, out: str) -> str:
        new = self.stream.digests - self.recorded
        if new:
            append_ledger(self.ledger, self.stream.key.key_id, new)
            self.recorded |= new
        return out

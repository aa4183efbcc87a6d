"""The decision log: one JSON line per decision, appended, never rewritten.

Fields: ``ts`` (UTC, RFC 3339), ``request_id``, ``route``, ``account_id``, ``action`` (what
was done), ``would_action`` (dry-run only: what the policy would have done), ``rule``,
``reason_code``, ``reasons``, ``risk``, ``flagged``, ``campaign_id``, ``status`` (HTTP
status returned), ``latency_ms`` (arrival to the end of the response), ``score_ms`` and
``prompt`` (only with ``log_prompts = true``). API keys are never written: accounts are
hashes of them (``account = "bearer"``).

>>> import io
>>> rec = DecisionRecord(ts=0.0, request_id="r1", route="/v1/score", account_id="a",
...     action="block", reason_code="account_blocked", reasons=("flagged",), risk=0.97)
>>> out = io.BytesIO(); DecisionLog(None).write(rec, out); out.getvalue()[:60]
b'{"ts":"1970-01-01T00:00:00.000Z","request_id":"r1","route":"'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson


@dataclass(frozen=True)
class DecisionRecord:
    """One decision, as logged."""

    ts: float  # epoch seconds
    request_id: str
    route: str
    account_id: str | None
    action: str
    would_action: str | None = None
    rule: str | None = None
    reason_code: str | None = None
    reasons: tuple[str, ...] = ()
    risk: float | None = None
    flagged: bool | None = None
    campaign_id: str | None = None
    status: int | None = None
    latency_ms: float | None = None
    score_ms: float | None = None
    prompt: str | None = None

    def to_json(self) -> bytes:
        stamp = datetime.fromtimestamp(self.ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        row: dict[str, Any] = {
            "ts": stamp,
            "request_id": self.request_id,
            "route": self.route,
            "account_id": self.account_id,
            "action": self.action,
        }
        if self.would_action is not None:
            row["would_action"] = self.would_action
        row.update(
            rule=self.rule,
            reason_code=self.reason_code,
            reasons=list(self.reasons),
            risk=None if self.risk is None else round(self.risk, 4),
            flagged=self.flagged,
            campaign_id=self.campaign_id,
            status=self.status,
            latency_ms=None if self.latency_ms is None else round(self.latency_ms, 3),
            score_ms=None if self.score_ms is None else round(self.score_ms, 3),
        )
        if self.prompt is not None:
            row["prompt"] = self.prompt
        return orjson.dumps(row) + b"\n"


class DecisionLog:
    """Appends records to *path* (None: records are dropped); opened on first write."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.fh_: IO[bytes] | None = None

    def write(self, record: DecisionRecord, fh: IO[bytes] | None = None) -> None:
        """Append one line (to *fh* when given); OSError when the file cannot be written."""
        if fh is None:
            if self.path is None:
                return
            if self.fh_ is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.fh_ = self.path.open("ab")
            fh = self.fh_
        fh.write(record.to_json())
        fh.flush()

    def close(self) -> None:
        if self.fh_ is not None:
            self.fh_.close()
            self.fh_ = None

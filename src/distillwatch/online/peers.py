"""Peers' intel online: each learnt batch is matched against the indicators peers shared.

The scan matches a whole log at once (``intel.match.match_events``); online, the same
matcher runs on every batch the scorer learns (the events already carry their text
features), and what each account matched is kept as a small tally: template-matched
requests, the largest number of distinct indicators of each infrastructure kind seen in
one batch (the signal only asks whether there is one), the highest publisher confidence,
and up to a few indicator ids, publishers and campaigns for the evidence. The tallies
become the ``pi_*`` columns of the ``peer_intel`` signal and, as in ``scan``, peers'
intel raises risk under the "never flags alone" rule (``signals.peer_intel``).

Indicators are reloaded with the scorer's lists (:meth:`OnlineScorer.reload`), so
newly pulled intel applies without a restart; indicators past ``valid_until`` drop out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from distillwatch.online.state import epoch

#: indicator ids, publishers and campaigns kept per account for the evidence
MAX_KEPT = 8
_KINDS = (
    ("pi_payment", "n_payment"),
    ("pi_ip_address", "n_ip_address"),
    ("pi_ip_prefix", "n_ip_prefix"),
    ("pi_hosting", "n_hosting"),
)


@dataclass
class PeerTally:
    """What one account's traffic matched so far."""

    n_template: int = 0
    infra: dict[str, int] = field(default_factory=dict)  # pi_* column -> distinct indicators
    confidence: int = 0
    ids: list[str] = field(default_factory=list)
    publishers: list[str] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)

    def add(self, match: Any) -> None:
        """Fold in one batch's ``intel.match.AccountMatch``."""
        self.n_template += int(match.n_requests_matched)
        for column, attr in _KINDS:
            self.infra[column] = max(self.infra.get(column, 0), int(getattr(match, attr)))
        self.confidence = max(self.confidence, int(match.max_confidence))
        for kept, new in (
            (self.ids, match.indicator_ids),
            (self.publishers, match.publishers),
            (self.campaigns, match.campaigns),
        ):
            for value in new:
                if value not in kept and len(kept) < MAX_KEPT:
                    kept.append(str(value))

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n_template,
            "infra": self.infra,
            "conf": self.confidence,
            "ids": self.ids,
            "pub": self.publishers,
            "camp": self.campaigns,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> PeerTally:
        return cls(
            int(d["n"]),
            {str(k): int(v) for k, v in d["infra"].items()},
            int(d["conf"]),
            list(d["ids"]),
            list(d["pub"]),
            list(d["camp"]),
        )


def columns(tallies: Sequence[PeerTally | None], n_requests: int) -> dict[str, float]:
    """The numeric ``pi_*`` columns of one subject (an account, or a campaign's accounts
    together) whose traffic is ``n_requests`` requests."""
    n_template = sum(t.n_template for t in tallies if t is not None)
    out = {
        "pi_template_share": n_template / n_requests if n_requests else 0.0,
        "pi_template_n": float(n_template),
        "pi_confidence": float(max((t.confidence for t in tallies if t is not None), default=0)),
    }
    for column, _ in _KINDS:
        out[column] = float(sum(t.infra.get(column, 0) for t in tallies if t is not None))
    return out


class OnlinePeers:
    """Peers' indicators and the trust group's keys, matched batch by batch."""

    def __init__(self, intel_dir: Path, key_file: Path) -> None:
        self.intel_dir = intel_dir
        self.key_file = key_file
        self.intel_: Any = None  # intel.store.PeerIntel
        self.keyring_: Any = None  # intel.keys.Keyring
        self.tallies: dict[str, PeerTally] = {}

    def load(self) -> None:
        """(Re)read the indicators in force now and the key file."""
        from distillwatch.intel.keys import load_keyring
        from distillwatch.intel.store import load_intel

        keyring = load_keyring(self.key_file)
        self.intel_ = load_intel(self.intel_dir, at=datetime.now(UTC))
        self.keyring_ = keyring

    @property
    def n_indicators(self) -> int:
        return sum(self.intel_.counts().values()) if self.intel_ is not None else 0

    def observe(self, events: Sequence[Mapping[str, Any]]) -> set[str]:
        """Match a learnt batch (events with ``head``/``tail``); the accounts that matched."""
        if self.intel_ is None or not events or not self.n_indicators:
            return set()
        from distillwatch.intel.match import match_events

        ts = [int((epoch(e.get("ts")) or 0.0) * 1_000_000) for e in events]
        table = pa.table(
            {
                "account_id": pa.array([str(e.get("account_id") or "") for e in events]),
                "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "ip": pa.array([e.get("ip") for e in events], pa.string()),
                "payment_fingerprint": pa.array(
                    [e.get("payment_fingerprint") for e in events], pa.string()
                ),
                "head": pa.array([e.get("head") for e in events], pa.string()),
                "tail": pa.array([e.get("tail") for e in events], pa.string()),
            }
        )
        matches = match_events(table, self.intel_, self.keyring_)
        for account, match in matches.accounts.items():
            self.tallies.setdefault(account, PeerTally()).add(match)
        return set(matches.accounts)

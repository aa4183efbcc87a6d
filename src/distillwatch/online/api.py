"""What a caller of the online scorer sees.

A request is scored *before* it is served (``score_one``) and learnt once its response is
known (``learn_one``, with the response fields such as ``completion_tokens`` filled in), as
in streaming learners. Events are plain mappings with the canonical event fields of
``docs/contracts.md`` (``account_id``, ``ts``, ``prompt`` ...).

>>> v = Verdict(account_id="acct-1", risk=0.2, flagged=False)
>>> v.listed, v.reasons
(False, ())
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Event = Mapping[str, Any]


@dataclass(frozen=True)
class Verdict:
    """The scorer's view of one request's account, at the moment of the request."""

    account_id: str
    risk: float  # 0 to 1, same scale and threshold as ``scan``'s accounts.csv
    flagged: bool  # at the scan's default operating point
    campaign_id: str | None = None  # the campaign the account is linked to, if any
    #: on a list a batch scan or a peer produced (flagged account, campaign, indicator)
    listed: bool = False
    #: short machine-readable reasons, most important first, e.g.
    #: ``("campaign:cmp-1a2b", "automation=0.93", "peer_intel:indicator--...")``
    reasons: tuple[str, ...] = ()
    #: the account's requests seen so far (this one excluded)
    n_requests: int = 0


class Scorer(Protocol):
    """An online scorer: the gateway and ``replay`` call nothing else."""

    def score_one(self, event: Event) -> Verdict:
        """Score the request's account as it stands, this request included; no state change."""
        ...

    def learn_one(self, event: Event) -> None:
        """Add the served request (with its response fields) to the account's state."""
        ...

    def reload(self) -> None:
        """Re-read the lists (batch scans' flags, peers' indicators) without a restart."""
        ...

    def checkpoint(self) -> None:
        """Persist state now (the scorer also does so every configured interval)."""
        ...

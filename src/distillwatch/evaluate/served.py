"""How much each true campaign got served before it was stopped (``replay`` output).

Reads ``detections.csv`` of ``distillwatch replay`` and the simulator's ``truth.csv``. For
each true campaign:

- ``share_before_flag``: its requests served before *their own account* was flagged,
  over all its requests (an account never flagged counts every request): what the
  campaign harvested while the gateway was letting it through;
- ``hours_to_detection``: from its first request to its first flag.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "detections.csv").write_text(
...     "account_id,first_flagged_ts,requests_before_flag,tokens_before_flag,n_requests,"
...     "n_tokens,flagged,campaign_id,max_risk,first_seen\\n"
...     "a1,2026-11-02T01:00:00Z,5,0,100,0,true,,0.99,2026-11-02T00:00:00Z\\n"
...     "a2,,50,0,50,0,false,,0.2,2026-11-02T00:30:00Z\\n")
>>> _ = (d / "truth.csv").write_text(
...     "account_id,label,persona,campaign_id,actor_id\\na1,attack,hydra,h-1,x\\n"
...     "a2,attack,hydra,h-1,x\\n")
>>> r = served_before_flag(d / "detections.csv", d / "truth.csv")
>>> round(r.campaigns[0].share_before_flag, 3), r.campaigns[0].hours_to_detection
(0.367, 1.0)
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from distillwatch.evaluate.tables import read_rows, read_truth

_NEEDED = ("account_id", "first_flagged_ts", "requests_before_flag", "n_requests", "first_seen")


@dataclass(frozen=True)
class CampaignServed:
    campaign_id: str
    persona: str
    n_accounts: int
    n_requests: int
    requests_before_flag: int
    share_before_flag: float
    hours_to_detection: float | None


@dataclass(frozen=True)
class ServedReport:
    campaigns: list[CampaignServed] = field(default_factory=list)
    #: median over campaigns of ``share_before_flag``
    median_share_before_flag: float | None = None
    median_hours_to_detection: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ts(value: str) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def served_before_flag(detections_csv: Path, truth_csv: Path) -> ServedReport:
    """Per true campaign, the share of its requests served before it was flagged."""
    rows = read_rows(detections_csv, _NEEDED, "replay detections file")
    truth = read_truth(truth_csv)
    by_campaign: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        t = truth.get(r["account_id"])
        if t is not None and t.label == "attack" and t.campaign_id:
            by_campaign.setdefault(t.campaign_id, []).append(r)
    out: list[CampaignServed] = []
    for cid, members in sorted(by_campaign.items()):
        n = sum(int(r["n_requests"]) for r in members)
        before = sum(int(r["requests_before_flag"]) for r in members)
        flags = [f for f in (_ts(r["first_flagged_ts"]) for r in members) if f is not None]
        first = min(f for f in (_ts(r["first_seen"]) for r in members) if f is not None)
        persona = truth[members[0]["account_id"]].persona
        out.append(
            CampaignServed(
                campaign_id=cid,
                persona=persona,
                n_accounts=len(members),
                n_requests=n,
                requests_before_flag=before,
                share_before_flag=before / max(n, 1),
                hours_to_detection=(min(flags) - first) / 3600.0 if flags else None,
            )
        )
    hours = [c.hours_to_detection for c in out if c.hours_to_detection is not None]
    return ServedReport(
        campaigns=out,
        median_share_before_flag=(
            statistics.median(c.share_before_flag for c in out) if out else None
        ),
        median_hours_to_detection=statistics.median(hours) if hours else None,
    )

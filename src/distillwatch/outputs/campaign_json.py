"""``campaigns.json``: every flagged campaign with what it is made of, machine-readable.

The input of ``distillwatch intel build`` (and of analysts' own tooling). It holds raw
local values (template skeletons, addresses, payment fingerprints, account ids): it stays
in the scan directory like accounts.csv. Format ``distillwatch-campaigns/1``:
``{"format", "window": {"start", "end"}, "campaigns": [{"campaign_id", "flagged", "risk",
"actor_id", "first_seen", "last_seen", "n_accounts", "n_requests", "signals",
"techniques", "linked_by", "templates": [{"part", "skeleton", "n_accounts",
"n_requests", "n_accounts_input", "n_variants"}], "infrastructure": [{"kind", "value",
"hosting", "n_accounts"}], "payment_fingerprints": [{"value", "n_accounts"}], "account_ids"}]}``.

>>> from datetime import datetime
>>> from distillwatch.results import CampaignVerdict, IngestSummary, ScanResult
>>> t = datetime(2026, 1, 1)
>>> c = CampaignVerdict("C-1", ["a", "b"], 10, 0.9, True, t, t)
>>> doc = json.loads(campaigns_json(ScanResult([], [c], IngestSummary(), t, t, 0.5, 10)))
>>> doc["format"], doc["campaigns"][0]["n_accounts"], doc["window"]["start"]
('distillwatch-campaigns/1', 2, '2026-01-01T00:00:00Z')
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from distillwatch.outputs.fmt import ranked_campaigns, rfc3339
from distillwatch.outputs.tables import linked_by
from distillwatch.results import CampaignVerdict, ScanResult

FORMAT = "distillwatch-campaigns/1"


def _campaign(c: CampaignVerdict) -> dict[str, Any]:
    return {
        "campaign_id": c.campaign_id,
        "flagged": c.flagged,
        "risk": round(c.risk, 6),
        "actor_id": c.actor_id,
        "first_seen": rfc3339(c.first_seen),
        "last_seen": rfc3339(c.last_seen),
        "n_accounts": len(c.account_ids),
        "n_requests": c.n_requests,
        "signals": c.top_signals(),
        "techniques": list(c.techniques),
        "linked_by": linked_by(c),
        "templates": [asdict(t) for t in c.templates],
        "infrastructure": [asdict(i) for i in c.infrastructure],
        "payment_fingerprints": [asdict(p) for p in c.payment_fingerprints],
        "account_ids": sorted(c.account_ids),
    }


def campaigns_json(result: ScanResult) -> str:
    """The text of campaigns.json (flagged campaigns, highest risk first)."""
    doc = {
        "format": FORMAT,
        "window": {"start": rfc3339(result.window_start), "end": rfc3339(result.window_end)},
        "campaigns": [_campaign(c) for c in ranked_campaigns(result.campaigns) if c.flagged],
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"

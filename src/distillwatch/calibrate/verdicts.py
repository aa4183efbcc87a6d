"""Verdicts recomputed from stored scores, for a pair of risk models.

This *approximates* a re-scan with other weights and thresholds; it does not re-run it:

- an account's final risk is the larger of its own risk and the risk of the campaign the
  scan attributed it to (``max(own', campaign')``), and it is flagged when that reaches
  the account threshold. The scan takes the campaign risk of its linkage *cluster*, which
  is the detected campaign in most cases but not always (clusters the scan did not keep
  as campaigns are not stored, so their accounts get their own risk only);
- the scan's later steps are not re-run: splitting risky clusters at their bridges, and
  flagging the members of a detected campaign whose risk is at least
  ``graph.member_min_risk`` though under the threshold;
- a campaign is flagged when its risk reaches the campaign threshold or one of its
  accounts is flagged (as in the scan); a campaign of one account follows its account.

:func:`agreement` measures how close the approximation is: with the models the scan ran
with, the recomputed flags should be the stored ones.

>>> import numpy as np
>>> from distillwatch.verdicts.model import RiskModel
>>> m = Models(RiskModel(-4.0, {"volume": 8.0}, 0.5), RiskModel(-4.0, {}, 0.5))
>>> m.account_vector(("volume", "automation")).tolist()
[8.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from distillwatch.calibrate.data import Array, BoolArray, ScanData
from distillwatch.config import ScanConfig
from distillwatch.verdicts.model import RiskModel, sigmoid


def logit(p: float) -> float:
    """Log-odds of a probability in (0, 1).

    >>> round(logit(0.5), 6)
    0.0
    """
    return float(np.log(p) - np.log1p(-p))


@dataclass(frozen=True)
class Models:
    """The account model and the campaign model (bias, weights, threshold each)."""

    account: RiskModel
    campaign: RiskModel

    @classmethod
    def from_config(cls, cfg: ScanConfig) -> Models:
        return cls(
            RiskModel(cfg.bias, dict(cfg.weights), cfg.threshold),
            RiskModel(cfg.campaign_bias, dict(cfg.campaign_weights), cfg.campaign_threshold),
        )

    def account_vector(self, signals: Sequence[str]) -> Array:
        return np.array([self.account.weights.get(s, 0.0) for s in signals], dtype=np.float64)

    def campaign_vector(self, signals: Sequence[str]) -> Array:
        return np.array([self.campaign.weights.get(s, 0.0) for s in signals], dtype=np.float64)


@dataclass(frozen=True)
class Recomputed:
    """Risks (as log-odds) and flags of one scan's subjects under one pair of models."""

    own_logit: Array
    #: max(own, campaign) per account
    final_logit: Array
    flagged: BoolArray
    #: campaign model log-odds (own log-odds for a campaign of one account)
    campaign_logit: Array
    campaign_flagged: BoolArray

    @property
    def own_risk(self) -> Array:
        return sigmoid(self.own_logit)

    @property
    def final_risk(self) -> Array:
        return sigmoid(self.final_logit)

    @property
    def campaign_risk(self) -> Array:
        return sigmoid(self.campaign_logit)


def own_logits(data: ScanData, model: RiskModel) -> Array:
    """Account model log-odds of every account's own traffic."""
    w = np.array([model.weights.get(s, 0.0) for s in data.account_signals], dtype=np.float64)
    return np.asarray(model.bias + data.account_x @ w + data.account_offset, dtype=np.float64)


def campaign_logits(data: ScanData, models: Models, own: Array) -> Array:
    """Campaign model log-odds of every campaign (own log-odds for campaigns of one)."""
    w = models.campaign_vector(data.campaign_signals)
    out = np.asarray(
        models.campaign.bias + data.campaign_x @ w + data.campaign_offset, dtype=np.float64
    )
    for k in np.flatnonzero(data.campaign_single):
        out[k] = own[data.campaign_members[k][0]]
    return out


def recompute(data: ScanData, models: Models) -> Recomputed:
    """The verdicts of ``data``'s subjects under ``models`` (see the module doc)."""
    own = own_logits(data, models.account)
    camp = campaign_logits(data, models, own)
    final = own.copy()
    has = data.account_campaign >= 0
    final[has] = np.maximum(own[has], camp[data.account_campaign[has]])
    flagged = final >= logit(models.account.threshold)
    camp_flagged = camp >= logit(models.campaign.threshold)
    for k, mem in enumerate(data.campaign_members):
        if data.campaign_single[k]:
            camp_flagged[k] = bool(flagged[mem[0]])
        else:
            camp_flagged[k] = bool(camp_flagged[k] or flagged[list(mem)].any())
    return Recomputed(own, final, flagged, camp, camp_flagged)


@dataclass(frozen=True)
class Agreement:
    """How well the recomputation reproduces the scan it read."""

    n_accounts: int
    #: accounts whose recomputed flag is the stored one
    same_flag: int
    #: accounts whose recomputed own risk is the stored one (within 0.001)
    same_own_risk: int


def agreement(data: ScanData, current: Recomputed) -> Agreement:
    """Compare verdicts recomputed with the scan's own models to what the scan stored."""
    own_ok = np.abs(current.own_risk - data.stored_own_risk) <= 1e-3
    return Agreement(
        n_accounts=data.n_accounts,
        same_flag=int((current.flagged == data.stored_flagged).sum()),
        same_own_risk=int(own_ok.sum()),
    )

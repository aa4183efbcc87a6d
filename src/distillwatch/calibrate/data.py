"""What calibration learns from: the stored signal scores of one scan, as matrices.

A scan's :class:`~distillwatch.results.ScanResult` keeps, for every account and every
detected campaign, each signal with a score above 0 (rounded to 4 decimals) in ``hits``;
an absent signal scored 0. :func:`scan_data` turns those into one row per subject over
the *fitted* signals (the ones with a weight in ``[model.weights]``). Signals that are
not fitted (``peer_intel``: its weight is policy, see ``[peer]``) keep their stored
log-odds contribution as a fixed ``offset``; the pseudo-hit ``campaign`` is not a signal
and is skipped.

Campaigns of one account (an account flagged alone) carry that account's own hits and
risk: the scan scores them with the account model, and so does calibration.

>>> from datetime import datetime
>>> from distillwatch.results import AccountVerdict, IngestSummary, ScanResult, SignalHit
>>> t = datetime(2026, 11, 2)
>>> acc = AccountVerdict("a1", 0.9, True, 10, t, t, None, 0.9,
...                      [SignalHit("volume", 0.5, 1.0, {})])
>>> d = scan_data("s1", ScanResult([acc], [], IngestSummary(), t, t, 0.5, 10))
>>> d.account_x[0, d.account_signals.index("volume")], d.n_campaigns
(np.float64(0.5), 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from distillwatch.results import ScanResult, SignalHit

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def fitted_signals(*, campaign: bool) -> tuple[str, ...]:
    """Ids of the signals whose weights calibration fits, in registry order.

    >>> "linkage" in fitted_signals(campaign=True), "linkage" in fitted_signals(campaign=False)
    (True, False)
    """
    from distillwatch.signals.registry import CAMPAIGN_ONLY, SIGNALS

    return tuple(
        sid for sid, cls in SIGNALS.items() if cls.fitted and (campaign or sid not in CAMPAIGN_ONLY)
    )


def signs_of(signal_ids: Sequence[str]) -> Array:
    """+1 for signals that can only raise risk, -1 for evidence against extraction.

    >>> signs_of(["volume", "repetition"]).tolist()
    [1.0, -1.0]
    """
    from distillwatch.signals.registry import SIGNALS

    return np.array([-1.0 if SIGNALS[s].lowers_risk else 1.0 for s in signal_ids])


@dataclass(frozen=True)
class ScanData:
    """The stored evidence of one scan, one row per subject."""

    scan_id: str
    account_signals: tuple[str, ...]
    campaign_signals: tuple[str, ...]
    account_ids: tuple[str, ...]
    #: scores, shape (accounts, len(account_signals))
    account_x: Array
    #: log-odds of signals that are not fitted (peer intel), per account
    account_offset: Array
    #: what the scan decided and the risk of the account's own traffic
    stored_flagged: BoolArray
    stored_own_risk: Array
    campaign_ids: tuple[str, ...]
    campaign_x: Array
    campaign_offset: Array
    #: True for a campaign of one account (scored by the account model)
    campaign_single: BoolArray
    #: member account rows of each campaign
    campaign_members: tuple[tuple[int, ...], ...]
    #: campaign row of each account, -1 for none
    account_campaign: IntArray

    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)

    @property
    def n_campaigns(self) -> int:
        return len(self.campaign_ids)


def _row(hits: Sequence[SignalHit], index: dict[str, int]) -> tuple[Array, float]:
    row = np.zeros(len(index))
    offset = 0.0
    for h in hits:
        j = index.get(h.signal_id)
        if j is not None:
            row[j] = h.score
        elif h.signal_id != "campaign":
            offset += h.contribution
    return row, offset


def scan_data(scan_id: str, result: ScanResult) -> ScanData:
    """The score matrices of ``result`` (see the module doc for what is kept)."""
    acc_sig = fitted_signals(campaign=False)
    camp_sig = fitted_signals(campaign=True)
    acc_index = {s: j for j, s in enumerate(acc_sig)}
    camp_index = {s: j for j, s in enumerate(camp_sig)}
    rows = [_row(a.hits, acc_index) for a in result.accounts]
    account_x = np.array([r for r, _ in rows]).reshape(len(rows), len(acc_sig))
    row_of = {a.account_id: i for i, a in enumerate(result.accounts)}
    campaign_ids: list[str] = []
    camp_rows: list[Array] = []
    camp_offsets: list[float] = []
    single: list[bool] = []
    members: list[tuple[int, ...]] = []
    account_campaign = np.full(len(rows), -1, dtype=np.int64)
    for c in result.campaigns:
        mem = tuple(row_of[a] for a in c.account_ids if a in row_of)
        if not mem:
            continue
        is_single = len(c.account_ids) == 1
        if is_single:  # scored on the account's own signals by the account model
            r = np.zeros(len(camp_sig))
            for s, j in acc_index.items():
                r[camp_index[s]] = account_x[mem[0], j]
            off = rows[mem[0]][1]
        else:
            r, off = _row(c.hits, camp_index)
        k = len(campaign_ids)
        for i in mem:
            account_campaign[i] = k
        campaign_ids.append(c.campaign_id)
        camp_rows.append(r)
        camp_offsets.append(off)
        single.append(is_single)
        members.append(mem)
    return ScanData(
        scan_id=scan_id,
        account_signals=acc_sig,
        campaign_signals=camp_sig,
        account_ids=tuple(a.account_id for a in result.accounts),
        account_x=account_x,
        account_offset=np.array([o for _, o in rows], dtype=np.float64),
        stored_flagged=np.array([a.flagged for a in result.accounts], dtype=np.bool_),
        stored_own_risk=np.array([a.own_risk for a in result.accounts], dtype=np.float64),
        campaign_ids=tuple(campaign_ids),
        campaign_x=np.array(camp_rows).reshape(len(camp_rows), len(camp_sig)),
        campaign_offset=np.array(camp_offsets, dtype=np.float64),
        campaign_single=np.array(single, dtype=np.bool_),
        campaign_members=tuple(members),
        account_campaign=account_campaign,
    )

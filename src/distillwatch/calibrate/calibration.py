"""One calibration: split, refit both models, choose thresholds, compare before and after.

Steps (:func:`calibrate`):

1. recompute every scan's verdicts with the current models (:mod:`.verdicts`);
2. split the labelled subjects into training and held-out groups (:mod:`.split`), keeping
   every decision that contradicts the current verdicts in training;
3. refit the campaign model on labelled training campaigns of several accounts (kept as
   it is when those labels are of one class only) and choose its threshold; then refit
   the account model on labelled training accounts and choose the account threshold on
   their final risks, ``max(own', campaign')`` (:mod:`.fit`);
4. recompute the verdicts with the new models and compare, on held-out subjects, and on
   decided subjects (``decided subjects now agreeing``).

Nothing is written here; see :mod:`.write` for the calibrated config.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from distillwatch.calibrate.data import Array, BoolArray, ScanData
from distillwatch.calibrate.fit import IntArray, choose_threshold, refit
from distillwatch.calibrate.labels import Label, ScanLabels
from distillwatch.calibrate.metrics import Agreeing, HeldOut, Side
from distillwatch.calibrate.split import Split, split
from distillwatch.calibrate.verdicts import Agreement, Models, Recomputed, agreement, recompute
from distillwatch.errors import UsageError
from distillwatch.verdicts.model import RiskModel


@dataclass(frozen=True)
class LabelledScan:
    """One scan's stored evidence and its labels."""

    source: str  # the scan directory as given
    data: ScanData
    labels: ScanLabels
    truth: str | None = None  # the truth.csv paired with it, if any


@dataclass(frozen=True)
class VerdictChange:
    """A decided subject whose flag the new models change."""

    scan_id: str
    kind: str  # account | campaign
    subject_id: str
    label: int
    before: bool
    after: bool


@dataclass
class Calibration:
    """Everything a calibration found, for printing, JSON and the config header."""

    before: Models
    after: Models
    heldout: list[HeldOut]
    agreeing: list[Agreeing]
    #: labelled subjects per kind and side: {"accounts": {"train": Side, "held-out": Side}}
    sides: dict[str, dict[str, Side]]
    changes: list[VerdictChange]
    #: how well recomputing with the current models reproduces each scan's stored flags
    fidelity: list[tuple[str, Agreement]]
    campaign_refit: bool
    notes: list[str] = field(default_factory=list)
    #: (scan_id, recomputed verdicts after) for callers that show or test them
    after_verdicts: list[tuple[str, Recomputed]] = field(default_factory=list)


def _labelled(labels: dict[int, Label], n: int) -> tuple[IntArray, BoolArray, BoolArray]:
    """(label or -1, has label, label from a decision) per row."""
    y = np.full(n, -1, dtype=np.int_)
    decided = np.zeros(n, dtype=np.bool_)
    for i, lab in labels.items():
        y[i] = lab.value
        decided[i] = lab.decided
    return y, y >= 0, decided


@dataclass
class _Rows:
    """Stacked rows of one kind over all scans."""

    x: list[Array] = field(default_factory=list)
    offset: list[Array] = field(default_factory=list)
    y: list[IntArray] = field(default_factory=list)
    decided: list[BoolArray] = field(default_factory=list)
    before: list[Array] = field(default_factory=list)

    def add(self, x: Array, off: Array, y: IntArray, dec: BoolArray, before: Array) -> None:
        self.x.append(x)
        self.offset.append(off)
        self.y.append(y)
        self.decided.append(dec)
        self.before.append(before)

    def stack(self, width: int) -> tuple[Array, Array, IntArray, BoolArray, Array]:
        if not self.x:
            e = np.zeros(0)
            return np.zeros((0, width)), e, np.zeros(0, np.int_), np.zeros(0, np.bool_), e
        return (
            np.vstack(self.x),
            np.concatenate(self.offset),
            np.concatenate(self.y),
            np.concatenate(self.decided),
            np.concatenate(self.before),
        )


def _forced(scan: LabelledScan, before: Recomputed) -> tuple[set[int], set[int]]:
    """Decided subjects whose decision contradicts the current verdict."""
    acc = {
        i
        for i, lab in scan.labels.account.items()
        if lab.decided and bool(lab.value) != bool(before.flagged[i])
    }
    camp = {
        k
        for k, lab in scan.labels.campaign.items()
        if lab.decided and bool(lab.value) != bool(before.campaign_flagged[k])
    }
    return acc, camp


def _check_classes(y: IntArray, where: str, fix: str) -> None:
    if len(y) == 0:
        raise UsageError(f"no labelled accounts {where}; {fix}")
    n_pos = int((y == 1).sum())
    if n_pos in (0, len(y)):
        kind, other = ("extraction", "benign") if n_pos else ("benign", "extraction")
        raise UsageError(
            f"all {len(y)} labelled accounts {where} are {kind}: a model cannot be fitted on one "
            f"class; add {other} labels ({fix})"
        )


def calibrate(
    scans: Sequence[LabelledScan], current: Models, *, holdout: float = 0.3, seed: int = 0
) -> Calibration:
    """Refit ``current`` from the labels of ``scans`` and compare (see the module doc)."""
    if not 0.0 <= holdout < 1.0:
        raise UsageError(f"--holdout {holdout} must be at least 0 and below 1, e.g. 0.3")
    n_labels = sum(len(s.labels.account) + len(s.labels.campaign) for s in scans)
    if n_labels == 0:
        raise UsageError(
            "no labels: the case store has no confirm/dismiss decision on these scans and no "
            "--truth was given; decide some campaigns or accounts, or pass --truth TRUTH_CSV"
        )
    before = [recompute(s.data, current) for s in scans]
    forced = [_forced(s, b) for s, b in zip(scans, before, strict=True)]
    parts = split(
        [s.data for s in scans],
        [f[0] for f in forced],
        [f[1] for f in forced],
        holdout=holdout,
        seed=seed,
    )
    all_y = np.concatenate(
        [_labelled(s.labels.account, s.data.n_accounts)[0] for s in scans]
    ).astype(np.int_)
    _check_classes(
        all_y[all_y >= 0],
        "in these scans",
        "dismiss or confirm accounts or campaigns in the case store, or pass --truth",
    )
    notes: list[str] = []
    camp_model, campaign_refit = _refit_campaigns(scans, before, parts, current, notes)
    acc_model = _refit_accounts(scans, before, parts, current, camp_model)
    after_models = Models(acc_model, camp_model)
    after = [recompute(s.data, after_models) for s in scans]
    for kind, old, new in (
        ("account", current.account.threshold, acc_model.threshold),
        ("campaign", current.campaign.threshold, camp_model.threshold),
    ):
        if new < old:
            n_neg = int((all_y == 0).sum())
            notes.append(
                f"the {kind} threshold was lowered ({old:.6f} -> {new:.6f}) to flag decided "
                f"subjects; with {n_neg} labelled benign account(s) a false-positive rate is "
                f"measured no finer than about 1/{max(n_neg, 1)}: check the new config on a "
                "larger labelled scan before relying on it"
            )
    fidelity = [(s.data.scan_id, agreement(s.data, b)) for s, b in zip(scans, before, strict=True)]
    for sid, ag in fidelity:
        if ag.same_own_risk < ag.n_accounts:
            notes.append(
                f"scan {sid}: the current model gives {ag.n_accounts - ag.same_own_risk} "
                "account(s) another own risk than the scan stored; was it run with another "
                "config? Pass that one as --config"
            )
        if ag.same_flag < ag.n_accounts:
            notes.append(
                f"scan {sid}: {ag.n_accounts - ag.same_flag} stored flag(s) are not reproduced "
                "by recomputing (member flagging and clusters the scan did not keep are not "
                "re-run); 'before' is the recomputed verdict"
            )
    for s in scans:
        if s.labels.unknown:
            notes.append(
                f"scan {s.data.scan_id}: {len(s.labels.unknown)} decision(s) name subjects "
                f"it does not contain, ignored (e.g. {s.labels.unknown[0]})"
            )
    return Calibration(
        before=current,
        after=after_models,
        heldout=_heldout(scans, before, after, parts),
        agreeing=_agreeing(scans, before, after),
        sides=_sides(scans, parts),
        changes=_changes(scans, before, after),
        fidelity=fidelity,
        campaign_refit=campaign_refit,
        notes=notes,
        after_verdicts=[(s.data.scan_id, a) for s, a in zip(scans, after, strict=True)],
    )


def _refit_campaigns(
    scans: Sequence[LabelledScan],
    before: Sequence[Recomputed],
    parts: Split,
    current: Models,
    notes: list[str],
) -> tuple[RiskModel, bool]:
    rows = _Rows()
    signals = scans[0].data.campaign_signals
    for s, b, held in zip(scans, before, parts.campaign_heldout, strict=True):
        y, has, dec = _labelled(s.labels.campaign, s.data.n_campaigns)
        m = has & ~held & ~s.data.campaign_single
        rows.add(s.data.campaign_x[m], s.data.campaign_offset[m], y[m], dec[m], b.campaign_logit[m])
    x, off, y, dec, bl = rows.stack(len(signals))
    n_pos = int((y == 1).sum())
    if n_pos in (0, len(y)):
        notes.append(
            f"campaign model kept as it is: {len(y)} labelled training campaign(s) of several "
            f"accounts, {n_pos} extraction and {len(y) - n_pos} benign; confirm or dismiss "
            "campaigns of both kinds to refit it"
        )
        return current.campaign, False
    bias, weights = refit(x, y, dec, off, current.campaign, signals)
    new_logits = bias + x @ np.array([weights[s] for s in signals]) + off
    threshold = choose_threshold(new_logits, y, dec, bl, current.campaign.threshold)
    return RiskModel(bias, weights, threshold), True


def _refit_accounts(
    scans: Sequence[LabelledScan],
    before: Sequence[Recomputed],
    parts: Split,
    current: Models,
    camp_model: RiskModel,
) -> RiskModel:
    rows = _Rows()
    signals = scans[0].data.account_signals
    for s, b, held in zip(scans, before, parts.account_heldout, strict=True):
        y, has, dec = _labelled(s.labels.account, s.data.n_accounts)
        m = has & ~held
        rows.add(s.data.account_x[m], s.data.account_offset[m], y[m], dec[m], b.final_logit[m])
    x, off, y, dec, before_final = rows.stack(len(signals))
    _check_classes(y, "for training", "lower --holdout or try another --seed")
    bias, weights = refit(x, y, dec, off, current.account, signals)
    interim = Models(RiskModel(bias, weights, current.account.threshold), camp_model)
    finals: list[Array] = []
    for s, held in zip(scans, parts.account_heldout, strict=True):
        _, has, _ = _labelled(s.labels.account, s.data.n_accounts)
        finals.append(recompute(s.data, interim).final_logit[has & ~held])
    threshold = choose_threshold(
        np.concatenate(finals), y, dec, before_final, current.account.threshold
    )
    return RiskModel(bias, weights, threshold)


def _heldout(
    scans: Sequence[LabelledScan],
    before: Sequence[Recomputed],
    after: Sequence[Recomputed],
    parts: Split,
) -> list[HeldOut]:
    out = []
    for kind in ("accounts", "campaigns"):
        ys, fb, fa = [], [], []
        for s, b, a, ha, hc in zip(
            scans, before, after, parts.account_heldout, parts.campaign_heldout, strict=True
        ):
            if kind == "accounts":
                y, has, _ = _labelled(s.labels.account, s.data.n_accounts)
                m = has & ha
                ys.append(y[m])
                fb.append(b.flagged[m])
                fa.append(a.flagged[m])
            else:
                y, has, _ = _labelled(s.labels.campaign, s.data.n_campaigns)
                m = has & hc
                ys.append(y[m])
                fb.append(b.campaign_flagged[m])
                fa.append(a.campaign_flagged[m])
        out.append(HeldOut.of(kind, np.concatenate(ys), np.concatenate(fb), np.concatenate(fa)))
    return out


def _agreeing(
    scans: Sequence[LabelledScan], before: Sequence[Recomputed], after: Sequence[Recomputed]
) -> list[Agreeing]:
    out = []
    for kind in ("accounts", "campaigns"):
        n = nb = na = 0
        for s, b, a in zip(scans, before, after, strict=True):
            labels = s.labels.account if kind == "accounts" else s.labels.campaign
            fb = b.flagged if kind == "accounts" else b.campaign_flagged
            fa = a.flagged if kind == "accounts" else a.campaign_flagged
            for i, lab in labels.items():
                if lab.decided:
                    n += 1
                    nb += int(bool(fb[i]) == bool(lab.value))
                    na += int(bool(fa[i]) == bool(lab.value))
        out.append(Agreeing(kind, n, nb, na))
    return out


def _sides(scans: Sequence[LabelledScan], parts: Split) -> dict[str, dict[str, Side]]:
    out: dict[str, dict[str, Side]] = {}
    for kind in ("accounts", "campaigns"):
        counts = {"train": [0, 0], "held-out": [0, 0]}
        for s, ha, hc in zip(scans, parts.account_heldout, parts.campaign_heldout, strict=True):
            labels = s.labels.account if kind == "accounts" else s.labels.campaign
            held = ha if kind == "accounts" else hc
            for i, lab in labels.items():
                side = counts["held-out" if held[i] else "train"]
                side[0 if lab.decided else 1] += 1
        out[kind] = {k: Side(v[0], v[1]) for k, v in counts.items()}
    return out


def _changes(
    scans: Sequence[LabelledScan], before: Sequence[Recomputed], after: Sequence[Recomputed]
) -> list[VerdictChange]:
    out = []
    for s, b, a in zip(scans, before, after, strict=True):
        for i, lab in sorted(s.labels.account.items()):
            if lab.decided and bool(b.flagged[i]) != bool(a.flagged[i]):
                out.append(
                    VerdictChange(
                        s.data.scan_id,
                        "account",
                        s.data.account_ids[i],
                        lab.value,
                        bool(b.flagged[i]),
                        bool(a.flagged[i]),
                    )
                )
        for k, lab in sorted(s.labels.campaign.items()):
            if lab.decided and bool(b.campaign_flagged[k]) != bool(a.campaign_flagged[k]):
                out.append(
                    VerdictChange(
                        s.data.scan_id,
                        "campaign",
                        s.data.campaign_ids[k],
                        lab.value,
                        bool(b.campaign_flagged[k]),
                        bool(a.campaign_flagged[k]),
                    )
                )
    return out

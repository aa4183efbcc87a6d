"""A calibration for people (Rich tables) and for programs (a JSON-ready dict).

>>> from distillwatch.calibrate.metrics import Confusion
>>> change(Confusion(2, 0, 2, 5).recall, Confusion(4, 0, 0, 5).recall)
'+0.5000'
>>> change(None, 0.5)
'n/a'
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from distillwatch.calibrate.calibration import Calibration
from distillwatch.calibrate.metrics import MIN_PER_CLASS, Confusion, HeldOut
from distillwatch.verdicts.model import RiskModel

#: verdict changes on decided subjects listed by name (the rest are counted)
MAX_CHANGES_SHOWN = 12


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def change(before: float | None, after: float | None) -> str:
    return "n/a" if before is None or after is None else f"{after - before:+.4f}"


def _confusion_dict(c: Confusion) -> dict[str, Any]:
    return {"tp": c.tp, "fp": c.fp, "fn": c.fn, "tn": c.tn, **c.rates()}


def _model_dict(m: RiskModel) -> dict[str, Any]:
    return {"bias": m.bias, "threshold": m.threshold, "weights": dict(m.weights)}


def heldout_line(h: HeldOut) -> str:
    """One line naming the held-out subjects of a kind (and whether rates are shown)."""
    counts = f"{h.n_pos} extraction, {h.n_neg} benign"
    if h.enough:
        return f"held-out {h.kind} ({counts})"
    return (
        f"held-out {h.kind}: not enough labelled subjects to measure ({counts}; need at least "
        f"{MIN_PER_CLASS} of each), no metrics shown"
    )


def to_dict(cal: Calibration) -> dict[str, Any]:
    """Everything :func:`print_report` shows, as JSON-ready values."""
    return {
        "models": {
            "before": {
                "account": _model_dict(cal.before.account),
                "campaign": _model_dict(cal.before.campaign),
            },
            "after": {
                "account": _model_dict(cal.after.account),
                "campaign": _model_dict(cal.after.campaign),
            },
            "campaign_refit": cal.campaign_refit,
        },
        "heldout": [
            {
                "kind": h.kind,
                "n_extraction": h.n_pos,
                "n_benign": h.n_neg,
                "enough": h.enough,
                "before": _confusion_dict(h.before),
                "after": _confusion_dict(h.after),
            }
            for h in cal.heldout
        ],
        "decided_agreeing": [
            {"kind": a.kind, "n": a.n, "before": a.before, "after": a.after} for a in cal.agreeing
        ],
        "labelled": {
            kind: {side: {"decided": s.decided, "truth": s.truth} for side, s in sides.items()}
            for kind, sides in cal.sides.items()
        },
        "changes": [
            {
                "scan_id": c.scan_id,
                "kind": c.kind,
                "id": c.subject_id,
                "label": c.label,
                "flagged_before": c.before,
                "flagged_after": c.after,
            }
            for c in cal.changes
        ],
        "recomputation": [
            {
                "scan_id": sid,
                "accounts": a.n_accounts,
                "same_flag": a.same_flag,
                "same_own_risk": a.same_own_risk,
            }
            for sid, a in cal.fidelity
        ],
        "notes": list(cal.notes),
    }


def _model_table(cal: Calibration) -> Table:
    t = Table(title="models: account and campaign, before and after")
    for col in ("", "account", "after", "campaign", "after"):
        t.add_column(col, justify="right" if col else "left")
    b, a = cal.before, cal.after
    t.add_row(
        "bias", f"{b.account.bias:.4f}", f"{a.account.bias:.4f}",
        f"{b.campaign.bias:.4f}", f"{a.campaign.bias:.4f}",
    )  # fmt: skip
    t.add_row(
        "threshold", f"{b.account.threshold:.6f}", f"{a.account.threshold:.6f}",
        f"{b.campaign.threshold:.6f}", f"{a.campaign.threshold:.6f}",
    )  # fmt: skip
    names = list(dict.fromkeys([*a.account.weights, *a.campaign.weights]))
    for s in names:
        cells = []
        for m_b, m_a in ((b.account, a.account), (b.campaign, a.campaign)):
            if s in m_a.weights:
                cells += [f"{m_b.weights.get(s, 0.0):.4f}", f"{m_a.weights[s]:.4f}"]
            else:
                cells += ["", ""]
        t.add_row(s, *cells)
    return t


def print_report(cal: Calibration, console: Console) -> None:
    """The calibration as tables: labelled subjects, held-out metrics, decided subjects,
    the models, verdict changes, and how faithful the recomputation is."""
    counts = Table(title="labelled subjects (decided + truth)")
    for col in ("kind", "train", "held-out"):
        counts.add_column(col, justify="left" if col == "kind" else "right")
    for kind, sides in cal.sides.items():
        counts.add_row(
            kind,
            *(f"{s.total} ({s.decided} + {s.truth})" for s in (sides["train"], sides["held-out"])),
        )
    console.print(counts)
    for h in cal.heldout:
        if not h.enough:
            console.print(heldout_line(h), highlight=False)
            continue
        t = Table(title=heldout_line(h))
        for col in ("metric", "before", "after", "change"):
            t.add_column(col, justify="left" if col == "metric" else "right")
        rb, ra = h.before.rates(), h.after.rates()
        for name, label in (("precision", "precision"), ("recall", "recall"), ("fpr", "FPR")):
            t.add_row(label, fmt(rb[name]), fmt(ra[name]), change(rb[name], ra[name]))
        t.add_row("F1", fmt(rb["f1"]), fmt(ra["f1"]), change(rb["f1"], ra["f1"]))
        t.add_row(
            "flagged (tp + fp)",
            f"{h.before.tp} + {h.before.fp}",
            f"{h.after.tp} + {h.after.fp}",
            "",
        )
        console.print(t)
    for a in cal.agreeing:
        if a.n:
            console.print(
                f"decided {a.kind} now agreeing: before {a.before}/{a.n}, after {a.after}/{a.n}",
                highlight=False,
            )
        else:
            console.print(f"decided {a.kind}: none", highlight=False)
    console.print(_model_table(cal))
    if cal.changes:
        console.print(f"verdicts changed on {len(cal.changes)} decided subject(s):")
        for c in cal.changes[:MAX_CHANGES_SHOWN]:
            said = "extraction" if c.label else "not extraction"
            was, now = ("flagged" if x else "not flagged" for x in (c.before, c.after))
            console.print(
                f"  {c.kind} {c.subject_id} (scan {c.scan_id}, decided {said}): {was} -> {now}",
                highlight=False,
            )
        if len(cal.changes) > MAX_CHANGES_SHOWN:
            console.print(f"  ... and {len(cal.changes) - MAX_CHANGES_SHOWN} more")
    else:
        console.print("verdicts changed on decided subjects: none")
    for sid, ag in cal.fidelity:
        console.print(
            f"scan {sid}: recomputing with the current model reproduces {ag.same_flag}/"
            f"{ag.n_accounts} stored flags and {ag.same_own_risk}/{ag.n_accounts} own risks",
            highlight=False,
        )
    for note in cal.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)

"""Fit the risk model's weights and operating points on simulator TRAINING seeds.

    .venv/bin/python tools/fit_model.py --seeds 1 2 --write

Simulates each training seed (with the default mix and with perturbed mixes so the fit
does not depend on one mix), scans it, and fits two non-negative logistic models: one over
account signal scores, one over cluster signal scores. The account threshold is set so
that at most ``--fpr`` of benign accounts of the training data are flagged (with margin);
the held-out seed used for reporting (7 by default, see docs/detection.md) is never used
here. Prints the fitted values; ``--write`` stores them in config/model.toml.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np

from distillwatch.config import load_scan_config
from distillwatch.ingest import load_events
from distillwatch.pipeline import Scored, run_scan
from distillwatch.signals.registry import SIGNALS
from distillwatch.sim import SimConfig, parse_mix, simulate
from distillwatch.sim.personas import PERSONAS
from distillwatch.verdicts.model import RiskModel, fit_logistic

ROOT = Path(__file__).resolve().parents[1]
MIXES = ["", "hydra=0,batch_classifier=2", "aggregator=2,eval_researcher=2,cot_harvest=0.5"]


def collect(
    seed: int, mix: str, tmp: Path
) -> tuple[Scored, Scored | None, dict[str, str], dict[str, str]]:
    out = tmp / f"s{seed}-{abs(hash(mix)) % 1000}"
    simulate(SimConfig(out=out, seed=seed, days=7, scale=1.0, mix=parse_mix(mix or None, PERSONAS)))
    truth = {r["account_id"]: r["label"] for r in csv.DictReader((out / "truth.csv").open())}
    events, summary = load_events([out / "events.jsonl.gz"], out / "q.jsonl", progress=False)
    got: dict[str, object] = {}

    def keep(acc: Scored, camp: Scored | None, members) -> None:  # type: ignore[no-untyped-def]
        got["acc"], got["camp"] = acc, camp
        got["members"] = dict(
            zip(
                members.column("subject").to_pylist(),
                members.column("account_id").to_pylist(),
                strict=True,
            )
        )

    run_scan(events, summary, load_scan_config(), inspect=keep)
    membership: dict[str, list[str]] = {}
    for a, s in zip(got["members"].values(), got["members"].keys(), strict=True):  # type: ignore[union-attr]
        membership.setdefault(s, []).append(a)
    camp_label = {}
    for s, accs in membership.items():
        camp_label[s] = (
            "attack" if sum(truth.get(a) == "attack" for a in accs) * 2 > len(accs) else "benign"
        )
    return got["acc"], got["camp"], truth, camp_label  # type: ignore[return-value]


def matrix(sc: Scored, ids: list[str]) -> np.ndarray:
    return np.column_stack([sc.scores[i] for i in ids])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--fpr", type=float, default=0.001)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    xa, ya, xc, yc = [], [], [], []
    acc_ids = camp_ids = None
    with tempfile.TemporaryDirectory() as tmpdir:
        for seed in args.seeds:
            for mix in MIXES:
                acc, camp, truth, camp_label = collect(seed, mix, Path(tmpdir))
                acc_ids = list(acc.scores)
                xa.append(matrix(acc, acc_ids))
                ya.append(np.array([truth.get(a) == "attack" for a in acc.ids], dtype=int))
                if camp is not None:
                    camp_ids = list(camp.scores)
                    xc.append(matrix(camp, camp_ids))
                    yc.append(np.array([camp_label[s] == "attack" for s in camp.ids], dtype=int))
                print(f"seed {seed} mix {mix or 'default'}: {len(acc.ids)} accounts")
    assert acc_ids is not None and camp_ids is not None
    x, y = np.vstack(xa), np.concatenate(ya)
    signs = np.array([-1.0 if SIGNALS[k].lowers_risk else 1.0 for k in acc_ids])
    bias, w = fit_logistic(x, y, signs=signs)
    model = RiskModel(bias, dict(zip(acc_ids, w, strict=True)), 0.5)
    risk, _ = model.risk({k: x[:, i] for i, k in enumerate(acc_ids)})
    benign = np.sort(risk[y == 0])[::-1]
    k = int(np.floor(args.fpr * len(benign)))
    thr = float(min(0.99, max(0.5, benign[k] + 1e-3)))
    print(
        f"accounts: bias {bias:.3f} threshold {thr:.4f} "
        f"train recall {(risk[y == 1] >= thr).mean():.4f} fpr {(risk[y == 0] >= thr).mean():.5f}"
    )
    xcm, ycm = np.vstack(xc), np.concatenate(yc)
    csigns = np.array([-1.0 if SIGNALS[k].lowers_risk else 1.0 for k in camp_ids])
    cbias, cw = fit_logistic(xcm, ycm, signs=csigns)
    cmodel = RiskModel(cbias, dict(zip(camp_ids, cw, strict=True)), 0.5)
    crisk, _ = cmodel.risk({k: xcm[:, i] for i, k in enumerate(camp_ids)})
    cben = np.sort(crisk[ycm == 0])[::-1]
    cthr = float(min(0.99, max(0.5, (cben[0] + 1e-3) if len(cben) else 0.5)))
    print(f"campaigns: bias {cbias:.3f} threshold {cthr:.4f} n={len(ycm)} attack={ycm.sum()}")
    lines = [
        "# Risk model: risk = sigmoid(bias + sum(weight[signal] * score[signal])), one model for",
        "# accounts and one for campaigns (clusters of linked accounts).",
        f"# Fitted by tools/fit_model.py on simulator training seeds {args.seeds} (default mix",
        "# and perturbed mixes); never on the held-out seed used for reporting (docs/detection.md).",
        "[model]",
        f"bias = {bias:.4f}",
        f"threshold = {thr:.4f}",
        f"campaign_bias = {cbias:.4f}",
        f"campaign_threshold = {cthr:.4f}",
        "",
        "[model.weights]",
        *[f"{k} = {v:.4f}" for k, v in zip(acc_ids, w, strict=True)],
        "",
        "[model.campaign_weights]",
        *[f"{k} = {v:.4f}" for k, v in zip(camp_ids, cw, strict=True)],
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    assert set(acc_ids) <= set(SIGNALS)
    if args.write:
        (ROOT / "src/distillwatch/config/model.toml").write_text(text)
        print("written to src/distillwatch/config/model.toml")


if __name__ == "__main__":
    main()

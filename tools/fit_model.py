"""Fit the risk model's weights and operating points on simulator TRAINING seeds.

    .venv/bin/python tools/fit_model.py --seeds 1 2 3 4 5 6 --fpr 0.001 --write

Simulates each training seed (with the default mix and with perturbed mixes so the fit
does not depend on one mix), scans it, and fits two sign-constrained logistic models: one
over account signal scores, one over cluster signal scores. One threshold on the final
risk (an account's own or its cluster's, whichever is higher) is set so that at most
``--fpr`` of the training benign accounts are flagged. The seeds used for reporting
(docs/detection.md) are never used here. Prints the fitted values; ``--write`` stores
them in config/model.toml. ``--work DIR`` keeps the simulated traffic (with its text
features) for the next run.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from distillwatch.config import load_scan_config
from distillwatch.ingest import load_events
from distillwatch.pipeline import Scored, add_text_features, run_scan
from distillwatch.results import IngestSummary
from distillwatch.signals.registry import SIGNALS
from distillwatch.sim import SimConfig, parse_mix, simulate
from distillwatch.sim.personas import PERSONAS
from distillwatch.verdicts.model import RiskModel, fit_logistic

ROOT = Path(__file__).resolve().parents[1]
MIXES = ["", "hydra=0,batch_classifier=2", "aggregator=2,eval_researcher=2,cot_harvest=0.5"]


def collect(
    seed: int, mix: str, tmp: Path
) -> tuple[Scored, Scored, dict[str, str], dict[str, str], dict[str, str]]:
    out = tmp / f"s{seed}-{mix.replace(',', '_').replace('=', '') or 'default'}"
    cached = out / "events-with-text.parquet"
    if cached.exists():
        truth = {r["account_id"]: r["label"] for r in csv.DictReader((out / "truth.csv").open())}
        events = pq.read_table(cached)
        summary = IngestSummary(n_read=events.num_rows, n_ok=events.num_rows)
        return _score(events, summary, truth)
    simulate(SimConfig(out=out, seed=seed, days=7, scale=1.0, mix=parse_mix(mix or None, PERSONAS)))
    truth = {r["account_id"]: r["label"] for r in csv.DictReader((out / "truth.csv").open())}
    events, summary = load_events([out / "events.jsonl.gz"], out / "q.jsonl", progress=False)
    events = add_text_features(events)
    pq.write_table(events, cached)
    return _score(events, summary, truth)


def _score(
    events: pa.Table, summary: IngestSummary, truth: dict[str, str]
) -> tuple[Scored, Scored, dict[str, str], dict[str, str], dict[str, str]]:
    got: dict[str, object] = {}

    def keep(acc: Scored, camp: Scored | None, members: pa.Table) -> None:
        got["acc"], got["camp"] = acc, camp
        got["members"] = dict(
            zip(
                members.column("account_id").to_pylist(),
                members.column("subject").to_pylist(),
                strict=True,
            )
        )

    run_scan(events, summary, load_scan_config(), inspect=keep)
    member_of: dict[str, str] = got["members"]  # type: ignore[assignment]
    membership: dict[str, list[str]] = {}
    for a, s in member_of.items():
        membership.setdefault(s, []).append(a)
    camp_label = {}
    for s, accs in membership.items():
        camp_label[s] = (
            "attack" if sum(truth.get(a) == "attack" for a in accs) * 2 > len(accs) else "benign"
        )
    return got["acc"], got["camp"], truth, camp_label, member_of  # type: ignore[return-value]


def matrix(sc: Scored, ids: list[str]) -> np.ndarray:
    return np.column_stack([sc.scores[i] for i in ids])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    ap.add_argument("--fpr", type=float, default=0.001)
    ap.add_argument("--write", action="store_true")
    ap.add_argument(
        "--work",
        type=Path,
        default=None,
        help="keep simulated traffic here and reuse it on the next run",
    )
    args = ap.parse_args()
    runs = []
    acc_ids = camp_ids = None
    with tempfile.TemporaryDirectory() as tmpdir:
        work = args.work or Path(tmpdir)
        for seed in args.seeds:
            for mix in MIXES:
                acc, camp, truth, camp_label, members = collect(seed, mix, work)
                acc_ids = [k for k in acc.scores if SIGNALS[k].fitted]
                assert camp is not None
                camp_ids = [k for k in camp.scores if SIGNALS[k].fitted]
                runs.append((acc, camp, truth, camp_label, members))
                print(f"seed {seed} mix {mix or 'default'}: {len(acc.ids)} accounts")
    assert acc_ids is not None and camp_ids is not None
    x = np.vstack([matrix(r[0], acc_ids) for r in runs])
    y = np.concatenate([[r[2].get(a) == "attack" for a in r[0].ids] for r in runs]).astype(int)
    signs = np.array([-1.0 if SIGNALS[k].lowers_risk else 1.0 for k in acc_ids])
    bias, w = fit_logistic(x, y, signs=signs)
    xcm = np.vstack([matrix(r[1], camp_ids) for r in runs])
    ycm = np.concatenate([[r[3][s] == "attack" for s in r[1].ids] for r in runs]).astype(int)
    csigns = np.array([-1.0 if SIGNALS[k].lowers_risk else 1.0 for k in camp_ids])
    cbias, cw = fit_logistic(xcm, ycm, signs=csigns)
    model = RiskModel(bias, dict(zip(acc_ids, w, strict=True)), 0.5)
    cmodel = RiskModel(cbias, dict(zip(camp_ids, cw, strict=True)), 0.5)
    # One operating point on what is flagged: an account's risk is its own or its
    # cluster's, whichever is higher (pipeline._flags).
    finals, labels = [], []
    for acc, camp, truth, _, members in runs:
        own, _ = model.risk(acc.scores)
        crisk, _ = cmodel.risk(camp.scores)
        cidx = {s: i for i, s in enumerate(camp.ids)}
        final = own.copy()
        for i, a in enumerate(acc.ids):
            if a in members:
                final[i] = max(final[i], crisk[cidx[members[a]]])
        finals.append(final)
        labels.append(np.array([truth.get(a) == "attack" for a in acc.ids]))
    final, lab = np.concatenate(finals), np.concatenate(labels)
    benign = np.sort(final[~lab])[::-1]
    k = int(np.floor(args.fpr * len(benign)))
    thr = float(min(0.99999, max(0.5, benign[k] + 1e-5)))
    cthr = thr
    print(
        f"threshold {thr:.4f}: train recall {(final[lab] >= thr).mean():.4f} "
        f"fpr {(final[~lab] >= thr).mean():.5f} over {len(final)} accounts"
    )
    lines = [
        "# Risk model: risk = sigmoid(bias + sum(weight[signal] * score[signal])), one model for",
        "# accounts and one for campaigns (clusters of linked accounts).",
        f"# Fitted by tools/fit_model.py on simulator training seeds {args.seeds} (default mix",
        "# and perturbed mixes); never on the held-out seed used for reporting",
        "# (docs/detection.md).",
        "[model]",
        f"bias = {bias:.6f}",
        f"threshold = {thr:.6f}",
        f"campaign_bias = {cbias:.6f}",
        f"campaign_threshold = {cthr:.6f}",
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

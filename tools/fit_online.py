"""Fit the ONLINE risk models on snapshots of training replays.

    .venv/bin/python tools/fit_online.py --work /tmp/dw/fitwork --seeds 1 2 3 4 --write

The batch models (tools/fit_model.py) learn what a whole week of an account looks like;
the online scorer must decide on the first hours. This tool replays each training
simulation (seeds x the mixes of fit_model.py, cached traffic with text features in
``--work``) through the online scorer and, every ``--every`` hours of event time, records
every account's and every linked group's signal scores with the simulator's label. Two
sign-constrained logistic models are fitted on those snapshots (accounts; groups, labelled
by their majority), and one operating point is chosen so that at most ``--fpr`` of the
training benign accounts are EVER flagged at a snapshot (risk = the higher of own and
group). Held-out seeds are never used here (benchmarks/replay_quality.py reports them).
``--write`` stores the result in config/online.toml.
"""

from __future__ import annotations

import argparse
import csv
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
MIXES = ["default", "hydra0_batch_classifier2", "aggregator2_eval_researcher2_cot_harvest0.5"]


def collect(args: tuple[Path, float]) -> dict[str, object]:
    """Replay one cached training simulation and keep its snapshots' signal scores."""
    from distillwatch.config import load_scan_config
    from distillwatch.online.replay import replay_events
    from distillwatch.online.scorer import OnlineScorer

    work, every_h = args
    with (work / "truth.csv").open() as fh:
        truth = {r["account_id"]: r["label"] == "attack" for r in csv.DictReader(fh)}
    cfg = load_scan_config()
    cfg.extra.pop("online", None)  # snapshots of signal scores do not depend on the model
    acc_rows: list[np.ndarray] = []
    acc_keys: list[tuple[int, str]] = []
    grp_rows: list[np.ndarray] = []
    grp_labels: list[bool] = []
    grp_of: list[dict[str, int]] = []
    ids: dict[str, list[str]] = {}

    def snap(sc: OnlineScorer, t: float) -> None:
        k = len(grp_of)
        accounts = sorted(sc.accounts)
        scores = sc.signal_scores(sc.account_rows(accounts), camp=False)
        ids["acc"] = list(scores)
        acc_rows.append(np.column_stack([scores[s] for s in ids["acc"]]))
        acc_keys.extend((k, a) for a in accounts)
        roots = sorted(r for r, m in sc.linkage.groups.items() if len(m) > 1)
        mapping: dict[str, int] = {}
        if roots:
            g = sc.signal_scores([sc.group_row(r) for r in roots], camp=True)
            ids["camp"] = list(g)
            base = len(grp_labels)
            grp_rows.append(np.column_stack([g[s] for s in ids["camp"]]))
            for i, r in enumerate(roots):
                members = sc.linkage.members(r)
                grp_labels.append(sum(truth.get(a, False) for a in members) * 2 > len(members))
                for a in members:
                    mapping[a] = base + i
        grp_of.append(mapping)

    events = pq.read_table(work / "events-with-text.parquet")
    replay_events(events, cfg, snapshot_s=every_h * 3600.0, on_snapshot=snap)
    print(f"{work.name}: {len(grp_of)} snapshots", file=sys.stderr, flush=True)
    return {
        "acc_ids": ids["acc"],
        "camp_ids": ids.get("camp", []),
        "acc_x": np.vstack(acc_rows),
        "acc_keys": acc_keys,
        "acc_y": np.array([truth.get(a, False) for _, a in acc_keys]),
        "grp_x": np.vstack(grp_rows) if grp_rows else np.zeros((0, 0)),
        "grp_y": np.array(grp_labels),
        "grp_of": grp_of,
    }


def main() -> None:
    from distillwatch.signals.registry import SIGNALS
    from distillwatch.verdicts.model import RiskModel, fit_logistic

    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, required=True, help="fit_model.py's --work cache")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--every", type=float, default=1.0, help="hours between snapshots")
    ap.add_argument("--fpr", type=float, default=0.001)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--long-horizon", type=float, default=12.0, help="hours (0: off)")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    dirs = [args.work / f"s{s}-{m}" for s in args.seeds for m in MIXES]
    missing = [d for d in dirs if not (d / "events-with-text.parquet").exists()]
    if missing:
        sys.exit(f"no cached traffic in {missing[0]}; run tools/fit_model.py --work first")
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        runs = list(pool.map(collect, [(d, args.every) for d in dirs]))
    acc_ids = [k for k in runs[0]["acc_ids"] if SIGNALS[k].fitted]  # type: ignore[union-attr]
    camp_ids = [k for k in runs[0]["camp_ids"] if SIGNALS[k].fitted]  # type: ignore[union-attr]
    ai = [list(runs[0]["acc_ids"]).index(k) for k in acc_ids]  # type: ignore[call-overload]
    ci = [list(runs[0]["camp_ids"]).index(k) for k in camp_ids]  # type: ignore[call-overload]
    x = np.vstack([r["acc_x"][:, ai] for r in runs])  # type: ignore[index]
    y = np.concatenate([r["acc_y"] for r in runs]).astype(int)  # type: ignore[misc]
    signs = np.array([-1.0 if SIGNALS[k].lowers_risk else 1.0 for k in acc_ids])
    bias, w = fit_logistic(x, y, signs=signs)
    gx = np.vstack([r["grp_x"][:, ci] for r in runs if len(r["grp_y"])])  # type: ignore[index, arg-type]
    gy = np.concatenate([r["grp_y"] for r in runs]).astype(int)  # type: ignore[misc]
    csigns = np.array([-1.0 if SIGNALS[k].lowers_risk else 1.0 for k in camp_ids])
    cbias, cw = fit_logistic(gx, gy, signs=csigns)
    model = RiskModel(bias, dict(zip(acc_ids, w, strict=True)), 0.5)
    cmodel = RiskModel(cbias, dict(zip(camp_ids, cw, strict=True)), 0.5)
    # highest risk each account ever reached at a snapshot (own, or its group's)
    ever: list[float] = []
    labels: list[bool] = []
    for run_i, r in enumerate(runs):
        own, _ = model.risk({k: r["acc_x"][:, j] for k, j in zip(acc_ids, ai, strict=True)})  # type: ignore[index]
        if len(r["grp_y"]):  # type: ignore[arg-type]
            grisk, _ = cmodel.risk({k: r["grp_x"][:, j] for k, j in zip(camp_ids, ci, strict=True)})  # type: ignore[index]
        best: dict[str, float] = {}
        for (k, a), risk in zip(r["acc_keys"], own, strict=True):  # type: ignore[call-overload]
            g = r["grp_of"][k].get(a)  # type: ignore[index]
            final = max(float(risk), float(grisk[g])) if g is not None else float(risk)
            best[a] = max(best.get(a, 0.0), final)
        truth = dict(zip([a for _, a in r["acc_keys"]], r["acc_y"], strict=True))  # type: ignore[call-overload]
        for a, v in best.items():
            ever.append(v)
            labels.append(bool(truth[a]))
        print(f"run {run_i}: {len(best)} accounts", file=sys.stderr)
    ev, lab = np.array(ever), np.array(labels)
    benign = np.sort(ev[~lab])[::-1]
    k = int(np.floor(args.fpr * len(benign)))
    thr = float(min(0.99999, max(0.5, benign[k] + 1e-5)))
    print(
        f"threshold {thr:.4f}: training accounts ever flagged: recall {(ev[lab] >= thr).mean():.4f}"
        f" fpr {(ev[~lab] >= thr).mean():.5f} over {len(ev)} accounts"
    )
    lines = [
        "# Online risk models (online/model.py): fitted by tools/fit_online.py on snapshots",
        f"# every {args.every:g} h of replays of simulator TRAINING seeds {args.seeds} (3 mixes);",
        f"# the operating point keeps training benign accounts EVER flagged under {args.fpr:.2%}.",
        "# Held-out seeds are reported by benchmarks/replay_quality.py, never fitted on.",
        "[online]",
        f"bias = {bias:.6f}",
        f"threshold = {thr:.6f}",
        f"campaign_bias = {cbias:.6f}",
        f"campaign_threshold = {thr:.6f}",
        "# after this many hours of observed traffic a subject is also judged by the scan's",
        "# models (config/model.toml), moved to this threshold's scale; the higher risk counts",
        f"long_horizon_h = {args.long_horizon:g}",
        "# re-scorings in a row at or over the threshold before a subject is flagged",
        "confirm = 2",
        "",
        "[online.weights]",
        *[f"{k} = {v:.4f}" for k, v in zip(acc_ids, w, strict=True)],
        "",
        "[online.campaign_weights]",
        *[f"{k} = {v:.4f}" for k, v in zip(camp_ids, cw, strict=True)],
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        (ROOT / "src/distillwatch/config/online.toml").write_text(text)
        print("written to src/distillwatch/config/online.toml")


if __name__ == "__main__":
    main()

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
import pickle
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
    acc_h: list[float] = []  # hours of traffic observed, per snapshot row
    grp_h: list[float] = []

    def snap(sc: OnlineScorer, t: float) -> None:
        k = len(grp_of)
        accounts = sorted(sc.accounts)
        rows = sc.account_rows(accounts)
        scores = sc.signal_scores(rows, camp=False)
        ids["acc"] = list(scores)
        acc_rows.append(np.column_stack([scores[s] for s in ids["acc"]]))
        acc_keys.extend((k, a) for a in accounts)
        acc_h.extend(r["observed_h"] for r in rows)
        roots = sorted(r for r, m in sc.linkage.groups.items() if len(m) > 1)
        mapping: dict[str, int] = {}
        if roots:
            grows = [sc.group_row(r) for r in roots]
            g = sc.signal_scores(grows, camp=True)
            grp_h.extend(r["observed_h"] for r in grows)
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
        "acc_h": np.array(acc_h),
        "grp_h": np.array(grp_h),
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
    ap.add_argument(
        "--long-hold", type=float, default=24.0, help="hours the scan's model must hold"
    )
    ap.add_argument(
        "--group-min-infra",
        type=float,
        default=0.5,
        help="share of a group's accounts linked by more than templates to judge it",
    )
    ap.add_argument("--early-h", type=float, default=3.0, help="early-hours models (0: none)")
    ap.add_argument("--early-fpr", type=float, default=0.0001, help="their share of --fpr")
    ap.add_argument("--sample", type=float, default=1.0, help="share of snapshot rows fitted")
    ap.add_argument("--write", action="store_true")
    ap.add_argument(
        "--cache", type=Path, default=None, help="keep the replays' snapshots in this file"
    )
    args = ap.parse_args()
    dirs = [args.work / f"s{s}-{m}" for s in args.seeds for m in MIXES]
    missing = [d for d in dirs if not (d / "events-with-text.parquet").exists()]
    if missing:
        sys.exit(f"no cached traffic in {missing[0]}; run tools/fit_model.py --work first")
    if args.cache is not None and args.cache.exists():
        with args.cache.open("rb") as fh:
            runs = pickle.load(fh)  # our own file, written below
        print(f"snapshots from {args.cache}", file=sys.stderr)
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            runs = list(pool.map(collect, [(d, args.every) for d in dirs]))
        if args.cache is not None:
            with args.cache.open("wb") as fh:
                pickle.dump(runs, fh)
    acc_ids = [k for k in runs[0]["acc_ids"] if SIGNALS[k].fitted]  # type: ignore[union-attr]
    camp_ids = [k for k in runs[0]["camp_ids"] if SIGNALS[k].fitted]  # type: ignore[union-attr]
    ai = [list(runs[0]["acc_ids"]).index(k) for k in acc_ids]  # type: ignore[call-overload]
    ci = [list(runs[0]["camp_ids"]).index(k) for k in camp_ids]  # type: ignore[call-overload]
    x = np.vstack([r["acc_x"][:, ai] for r in runs])  # type: ignore[index]
    y = np.concatenate([r["acc_y"] for r in runs]).astype(int)  # type: ignore[misc]
    h = np.concatenate([r["acc_h"] for r in runs])  # type: ignore[misc]
    gx = np.vstack([r["grp_x"][:, ci] for r in runs if len(r["grp_y"])])  # type: ignore[index, arg-type]
    gy = np.concatenate([r["grp_y"] for r in runs]).astype(int)  # type: ignore[misc]
    gh = np.concatenate([r["grp_h"] for r in runs])  # type: ignore[misc]
    signs = np.array([-1.0 if SIGNALS[k].lowers_risk else 1.0 for k in acc_ids])
    csigns = np.array([-1.0 if SIGNALS[k].lowers_risk else 1.0 for k in camp_ids])
    rng = np.random.default_rng(0)
    rows, grows = rng.random(len(y)) < args.sample, rng.random(len(gy)) < args.sample

    def fit(until_h: float) -> tuple[RiskModel, RiskModel]:
        """Account and group models on the sampled snapshot rows observed < until_h."""
        m, gm = rows & (h < until_h), grows & (gh < until_h)
        bias, w = fit_logistic(x[m], y[m], signs=signs)
        cbias, cw = fit_logistic(gx[gm], gy[gm], signs=csigns)
        return (
            RiskModel(bias, dict(zip(acc_ids, w, strict=True)), 0.5),
            RiskModel(cbias, dict(zip(camp_ids, cw, strict=True)), 0.5),
        )

    def ever(models: tuple[RiskModel, RiskModel], until_h: float) -> np.ndarray:
        """Highest log-odds each account reached at a snapshot observed < until_h hours
        (own, or its group's); -inf where it had none."""
        out: list[float] = []
        for r in runs:
            acc = {k: r["acc_x"][:, j] for k, j in zip(acc_ids, ai, strict=True)}  # type: ignore[index]
            own = np.where(r["acc_h"] < until_h, models[0].log_odds(acc)[0], -np.inf)  # type: ignore[operator]
            g = np.zeros(0)
            if len(r["grp_y"]):  # type: ignore[arg-type]
                grp = {k: r["grp_x"][:, j] for k, j in zip(camp_ids, ci, strict=True)}  # type: ignore[index]
                g = np.where(r["grp_h"] < until_h, models[1].log_odds(grp)[0], -np.inf)  # type: ignore[operator]
            best: dict[str, float] = {}
            for (k, a), v in zip(r["acc_keys"], own, strict=True):  # type: ignore[call-overload]
                gi = r["grp_of"][k].get(a)  # type: ignore[index]
                best[a] = max(best.get(a, -np.inf), v, g[gi] if gi is not None else -np.inf)
            out.extend(best.values())
        return np.array(out)

    labels_of: list[bool] = []  # per account, in the order ever() returns them
    for r in runs:
        seen = dict(zip([a for _, a in r["acc_keys"]], r["acc_y"], strict=True))  # type: ignore[call-overload]
        labels_of.extend(bool(v) for v in seen.values())
    labels = np.array(labels_of)
    main_models = fit(np.inf)
    main_ever = ever(main_models, np.inf)
    early_models = fit(args.early_h) if args.early_h > 0 else None
    early_ever = np.full_like(main_ever, -np.inf)
    if early_models is not None:
        early_ever = ever(early_models, args.early_h)
    benign_main, benign_early = main_ever[~labels], early_ever[~labels]
    # the early models get their share of the budget first; the main threshold is then the
    # lowest at which the benign accounts ever flagged by either stay within --fpr
    n_early = int(np.floor(args.early_fpr * len(benign_early))) if early_models else 0
    early_cut = float(np.sort(benign_early)[::-1][n_early]) + 1e-6 if early_models else np.inf
    main_cut = float(benign_main.max()) + 1e-6
    for cut in np.sort(benign_main)[::-1]:
        if np.mean((benign_early >= early_cut) | (benign_main >= cut + 1e-6)) > args.fpr:
            break
        main_cut = float(cut) + 1e-6
    thr = float(min(0.99999, max(0.5, 1.0 / (1.0 + np.exp(-main_cut)))))
    main_cut = float(np.log(thr / (1.0 - thr)))
    flagged = (main_ever >= main_cut) | (early_ever >= early_cut)
    print(
        f"threshold {thr:.6f}: training accounts ever flagged: recall {flagged[labels].mean():.4f}"
        f" fpr {flagged[~labels].mean():.5f} over {len(flagged)} accounts"
        f" (early models alone: {np.mean(early_ever[~labels] >= early_cut):.5f})"
    )
    model, cmodel = main_models
    lines = [
        "# Online risk models (online/model.py): fitted by tools/fit_online.py on snapshots",
        f"# every {args.every:g} h of replays of simulator TRAINING seeds {args.seeds} (3 mixes);",
        f"# the operating point keeps training benign accounts EVER flagged under {args.fpr:.2%}",
        f"# (fitted on {args.sample:.0%} of the snapshot rows, seed 0).",
        "# Held-out seeds are reported by benchmarks/replay_quality.py, never fitted on.",
        "[online]",
        f"bias = {model.bias:.6f}",
        f"threshold = {thr:.6f}",
        f"campaign_bias = {cmodel.bias:.6f}",
        f"campaign_threshold = {thr:.6f}",
        "# after this many hours of observed traffic a subject is also judged by the scan's",
        "# models (config/model.toml), moved to this threshold's scale; the higher risk counts",
        f"long_horizon_h = {args.long_horizon:.1f}",
        "# a subject the scan's model alone puts over the threshold is flagged once it has",
        "# stayed over for this many hours of its traffic",
        f"long_hold_h = {args.long_hold:.1f}",
        "# a group is judged as a campaign only when this share of its accounts are linked",
        "# by more than prompt templates",
        f"group_min_infra = {args.group_min_infra:.2f}",
        "# re-scorings in a row at or over the threshold before a subject is flagged",
        "confirm = 2",
        "",
        "[online.weights]",
        *[f"{k} = {v:.4f}" for k, v in model.weights.items()],
        "",
        "[online.campaign_weights]",
        *[f"{k} = {v:.4f}" for k, v in cmodel.weights.items()],
    ]
    if early_models is not None:
        # biases moved so that the main threshold applies: early risk >= threshold exactly
        # where the early model's own log-odds reach early_cut
        shift = main_cut - early_cut
        ea, ec = early_models
        lines += [
            "",
            "# subjects observed for less than until_h hours are also judged by models fitted",
            f"# on those hours only, given {args.early_fpr:.2%} of the false-positive budget",
            "[online.early]",
            f"until_h = {args.early_h:g}",
            f"bias = {ea.bias + shift:.6f}",
            f"campaign_bias = {ec.bias + shift:.6f}",
            "",
            "[online.early.weights]",
            *[f"{k} = {v:.4f}" for k, v in ea.weights.items()],
            "",
            "[online.early.campaign_weights]",
            *[f"{k} = {v:.4f}" for k, v in ec.weights.items()],
        ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        (ROOT / "src/distillwatch/config/online.toml").write_text(text)
        print("written to src/distillwatch/config/online.toml")


if __name__ == "__main__":
    main()

"""The scan: canonical events in, verdicts out.

Stages, in order (each in its own package)::

    ingest.load_events          files -> canonical Arrow table (+ quarantine.jsonl)
    features.text               Arrow batches -> per-request text features
    features.templates          distinct prompt heads/tails -> template clusters
    features.subject/timing/... ibis expressions on DuckDB -> per-account features
    signals                     features -> scores in [0, 1] + evidence
    campaigns                   shared attributes -> weighted graph -> clusters
    features + signals again    per-campaign features over the whole cluster
    verdicts                    scores -> risk, flags, contributions
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.campaigns.artifacts import campaign_artifacts
from distillwatch.campaigns.attributes import account_attributes, ip_prefix_table
from distillwatch.campaigns.attribution import (
    attribute,
    campaign_id,
    group_strength,
    members_table,
)
from distillwatch.campaigns.behaviour import (
    CONFIG_COLUMNS,
    BehaviourLink,
    SameOperator,
    similar_pairs,
    template_profiles,
)
from distillwatch.campaigns.blocks import split_at_bridges
from distillwatch.campaigns.graph import cluster_accounts, link_pairs
from distillwatch.config import ScanConfig
from distillwatch.engines import Engine
from distillwatch.engines.duckdb import DEFAULT_MEMORY_LIMIT, DuckDBEngine
from distillwatch.errors import ConfigError
from distillwatch.features.clock import whole_seconds
from distillwatch.features.pivot import pivot_features
from distillwatch.features.provenance import provenance_features
from distillwatch.features.subject import subject_features
from distillwatch.features.templates import template_clusters
from distillwatch.features.text import text_features
from distillwatch.features.timing import timing_features
from distillwatch.ingest.spool import SEQ, Spool
from distillwatch.results import (
    AccountVerdict,
    BehaviourEvidence,
    CampaignVerdict,
    IngestSummary,
    LinkEvidence,
    ScanResult,
    SignalHit,
    Timeline,
)
from distillwatch.signals.base import Features, Signal
from distillwatch.signals.registry import build_signals
from distillwatch.verdicts.model import RiskModel

Progress = Callable[[str], None]
TEXT_BATCH_ROWS = 65_536
#: below this many events the text step runs in-process (a pool costs ~1 s to start)
PARALLEL_MIN_ROWS = 100_000
#: DuckDB spills to the scan's work directory beyond this
DUCKDB_MEMORY_LIMIT = DEFAULT_MEMORY_LIMIT
#: accounts below this risk get no evidence records (only their top signal ids)
EVIDENCE_MIN_RISK = 0.05
#: the report's timeline shows this many busiest accounts of a campaign (and "others") ...
TIMELINE_ACCOUNTS = 12
#: ... over at most this many cells (one per hour; several hours per cell beyond 14 days)
TIMELINE_MAX_CELLS = 336
#: only the highest-risk campaigns get a timeline (bounds the query and the report's size)
TIMELINE_CAMPAIGNS = 25


def _noop(_: str) -> None:
    return None


@dataclass
class Scored:
    """Signal scores of a set of subjects."""

    ids: list[str]
    features: dict[str, np.ndarray]
    scores: dict[str, np.ndarray]
    risk: np.ndarray
    contrib: dict[str, np.ndarray]


# ---------------------------------------------------------------- preparation


def add_text_features(
    events: pa.Table, progress: Progress = _noop, *, workers: int | None = None
) -> pa.Table:
    """Append the per-request text feature columns, batch by batch as Spark would.

    Large inputs are spread over a process pool (``workers``, default: the cores).
    """
    cols = events.select(["request_id", "prompt", "system_prompt"])
    batches = cols.to_batches(max_chunksize=TEXT_BATCH_ROWS)
    if not batches:
        return events
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    out: list[pa.RecordBatch] = []
    if n_workers > 1 and events.num_rows >= PARALLEL_MIN_ROWS:
        # spawn: workers start small instead of sharing (and counting) the parent's
        # memory; callers run from a script need the usual `if __name__ == "__main__"`.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
            for batch in pool.map(text_features, batches):
                out.append(batch)
                progress("text")
    else:
        for batch in batches:
            out.append(text_features(batch))
            progress("text")
    tf = pa.Table.from_batches(out)
    for name in tf.column_names:
        if name != "request_id":
            events = events.append_column(name, tf.column(name))
    return events


def _cluster_column(
    values: pa.Array | pa.ChunkedArray, seed: int
) -> tuple[pa.Array, dict[int, str]]:
    uniques = pc.unique(values.fill_null(""))
    ids = np.asarray(template_clusters(uniques, seed=seed), dtype=np.int64)
    idx = pc.index_in(values.fill_null(""), value_set=uniques).to_numpy(zero_copy_only=False)
    # A cluster id is the index of its first member among the distinct texts.
    texts = uniques.to_pylist()
    names = {int(c): str(texts[int(c)]) for c in np.unique(ids)}
    return pa.array(ids[idx], pa.int64()), names


TemplateNames = dict[str, dict[int, str]]


def add_template_ids(events: pa.Table, seed: int = 0) -> tuple[pa.Table, TemplateNames]:
    """Map each prompt head and tail to its near-duplicate cluster id."""
    head_ids, head_names = _cluster_column(events.column("head"), seed)
    tail_ids, tail_names = _cluster_column(events.column("tail"), seed)
    events = events.append_column("head_tid", head_ids).append_column("tail_tid", tail_ids)
    return events, {"h": head_names, "t": tail_names}


def spooled_events(
    con: Any, spool: Spool, seed: int = 0, *, engine: Engine | None = None
) -> tuple[ir.Table, TemplateNames, int]:
    """The spooled events as a table of *con* (the engine reads the Parquet files, which
    must be where it can see them; duplicates dropped, first in input order kept), with
    the template ids :func:`add_template_ids` gives the same events in memory, the
    template names and the number of duplicates.

    Template clusters are computed on the distinct heads and tails, in order of first
    appearance, exactly as the in-memory path does; only those distinct values come into
    Python.
    """
    raw = con.read_parquet(spool.pattern)
    # the first seq of each request id, kept as a small table (two columns): the wide rows
    # are never sorted, and only the join below reads them
    engine = engine if engine is not None else DuckDBEngine()
    firsts_seq = engine.materialize(
        con, "spool_first", raw.group_by("request_id").aggregate(_keep=raw[SEQ].min())
    )
    n_kept = int(firsts_seq.count().to_pyarrow().as_py())
    events = raw.semi_join(firsts_seq, raw[SEQ] == firsts_seq._keep)
    names: TemplateNames = {}
    for part, short in (("head", "h"), ("tail", "t")):
        key = events[part].fill_null("")
        firsts = (
            events.mutate(_k=key)
            .group_by("_k")
            .aggregate(_at=events[SEQ].min())
            .order_by("_at")
            .to_pyarrow()
            .column("_k")
            .combine_chunks()  # one chunk: Spark takes the mapping through Arrow then
        )
        ids, names[short] = _cluster_column(firsts, seed)
        mapping = ibis.memtable(pa.table({f"_{part}_key": firsts, f"{part}_tid": ids}))
        events = events.left_join(mapping, key == mapping[f"_{part}_key"]).drop(f"_{part}_key")
    # not materialised here: prepare() stores the events once
    return events.drop(SEQ), names, spool.n_rows - n_kept


def model_limits(ev: ir.Table, overrides: dict[str, float]) -> ir.Table:
    """Reference output limit per model: configured, else the 99th percentile requested."""
    seen = (
        ev.filter(ev.max_tokens.notnull())
        .group_by("model")
        .aggregate(ref=ev.max_tokens.quantile(0.99).cast("float64"))
    )
    if not overrides:
        return seen
    conf = ibis.memtable(
        pa.table({"model": list(overrides), "conf": [float(v) for v in overrides.values()]})
    )
    joined = seen.join(conf, "model", how="left")
    return joined.select("model", ref=joined.conf.fill_null(joined.ref))


def prepare(
    con: Any, events: pa.Table | ir.Table, cfg: ScanConfig, *, engine: Engine | None = None
) -> ir.Table:
    """Copy the enriched events into the engine once, with the derived columns features read.

    The prompt texts are not copied: features read what the text step derived from them,
    and the few sample prompts a report shows are looked up by request id
    (:func:`prompt_texts`). At 10M events the prompts are three quarters of the bytes.

    On DuckDB (the default) the Arrow table is read in place (no intermediate copy), so the
    caller can free it as soon as this returns.
    """
    engine = engine if engine is not None else DuckDBEngine()
    if isinstance(events, pa.Table):
        raw = engine.events_table(con, events.drop_columns(["extra", "prompt"]))
    else:  # already a table of the engine (spooled events)
        raw = events.drop("extra", "prompt")
    limits = model_limits(raw, dict(cfg.extra.get("model_limits", {})))
    joined = raw.left_join(limits, raw.model == limits.model)
    ev = joined.select(
        *[raw[c] for c in raw.columns],
        subject=raw.account_id,
        max_ratio=(raw.max_tokens.cast("float64") / ibis.greatest(limits.ref, 1.0)).fill_null(0.0),
    )
    return engine.materialize(con, "events", ev)


# ---------------------------------------------------------------- features


def _to_numpy(table: pa.Table) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in table.column_names:
        col = table.column(name)
        t = col.type
        if pa.types.is_string(t) or pa.types.is_timestamp(t) or pa.types.is_list(t):
            out[name] = np.asarray(col.to_pylist(), dtype=object)
        else:
            out[name] = col.to_numpy(zero_copy_only=False).astype(np.float64)
    return out


def _left_join(left: ir.Table, right: ir.Table, key: str = "subject") -> ir.Table:
    """Left join on ``key`` keeping one copy of the key column."""
    r = right.rename(_key=key)
    return left.left_join(r, left[key] == r._key).drop("_key")


def account_features(ev: ir.Table) -> dict[str, np.ndarray]:
    subj = subject_features(ev)
    timing = timing_features(ev).rename(subject="account_id")
    prov = provenance_features(ev).rename(subject="account_id")
    t = _left_join(_left_join(_left_join(subj, timing), prov), pivot_features(ev))
    f = _to_numpy(t.order_by("subject").to_pyarrow())
    f["n_gaps"] = np.nan_to_num(f["n_gaps"])
    f["gap_cv"] = np.where(np.isnan(f["gap_cv"]), 2.0, f["gap_cv"])
    f["young_share"] = (np.nan_to_num(f["age_days"], nan=999.0) < 3.0).astype(np.float64)
    f["n_accounts"] = np.ones(len(f["subject"]))
    f["link_strength"] = np.zeros(len(f["subject"]))
    return f


def campaign_features(
    ev: ir.Table, members: pa.Table, acc: dict[str, np.ndarray], strength: dict[str, float]
) -> dict[str, np.ndarray]:
    """Features of each cluster computed over all its accounts' events together."""
    mem = ibis.memtable(members)
    cev = ev.drop("subject").join(mem, "account_id")
    t = _left_join(subject_features(cev), pivot_features(cev))
    f = _to_numpy(t.order_by("subject").to_pyarrow())
    # Per-account quantities summarised over members: rhythm and provenance.
    acc_index = {a: i for i, a in enumerate(acc["subject"])}
    by_subject: dict[str, list[int]] = {}
    for a, s in zip(
        members.column("account_id").to_pylist(), members.column("subject").to_pylist(), strict=True
    ):
        by_subject.setdefault(s, []).append(acc_index[a])
    for name, how in (
        ("gap_cv", np.median),
        ("n_gaps", np.sum),
        ("age_days", np.median),
        ("burst_size", np.max),
        ("young_share", np.mean),
    ):
        f[name] = np.array([float(how(acc[name][by_subject[s]])) for s in f["subject"]])
    f["link_strength"] = np.array([strength.get(s, 0.0) for s in f["subject"]], dtype=np.float64)
    if "pi_template_n" in acc:
        f.update(_campaign_peer_features(acc, [by_subject[s] for s in f["subject"]]))
    return f


def _campaign_peer_features(
    acc: dict[str, np.ndarray], rows: list[list[int]]
) -> dict[str, np.ndarray]:
    """Peers' intel matches summed over each campaign's accounts (share over its requests)."""
    out: dict[str, np.ndarray] = {}
    n_req = np.array([float(acc["n_requests"][r].sum()) for r in rows])
    out["pi_template_n"] = np.array([float(acc["pi_template_n"][r].sum()) for r in rows])
    out["pi_template_share"] = out["pi_template_n"] / np.maximum(n_req, 1.0)
    for name in ("pi_payment", "pi_ip_address", "pi_ip_prefix", "pi_hosting"):
        out[name] = np.array([float(acc[name][r].sum()) for r in rows])
    out["pi_confidence"] = np.array([float(acc["pi_confidence"][r].max()) for r in rows])
    for name in ("pi_indicator_ids", "pi_publishers", "pi_campaigns"):
        col = np.empty(len(rows), dtype=object)
        col[:] = [tuple(dict.fromkeys(v for i in r for v in acc[name][i])) for r in rows]
        out[name] = col
    return out


def score(signals: Sequence[Signal], f: dict[str, np.ndarray], model: RiskModel) -> Scored:
    scores = {s.id: np.clip(s.score(f), 0.0, 1.0) for s in signals}
    risk, contrib = model.risk(scores)
    return Scored(
        ids=[str(x) for x in f["subject"]], features=f, scores=scores, risk=risk, contrib=contrib
    )


def hits_for(signals: Sequence[Signal], sc: Scored, i: int, *, evidence: bool) -> list[SignalHit]:
    hits = []
    feats: Features = sc.features
    for s in signals:
        c = float(sc.contrib[s.id][i])
        sv = float(sc.scores[s.id][i])
        if sv <= 0.0:
            continue
        if evidence:
            ev = s.evidence(feats, i)
            hits.append(SignalHit(s.id, round(sv, 4), round(c, 4), ev.as_dict(), s.summary(ev)))
        else:
            hits.append(SignalHit(s.id, round(sv, 4), round(c, 4), {}))
    hits.sort(key=lambda h: -h.contribution)
    return hits


# ---------------------------------------------------------------- the scan


def _display_value(kind: str, value: str, heads: TemplateNames) -> str:
    if kind == "payment":
        return "payment " + hashlib.sha256(value.encode()).hexdigest()[:10]
    if kind == "template" and value[1:].lstrip("-").isdigit():
        text = heads.get(value[0], {}).get(int(value[1:]), "")
        return f"template {'head' if value[0] == 'h' else 'tail'}: {text[:80]}"
    return value


def run_scan(
    events: pa.Table | Spool,
    ingest: IngestSummary,
    cfg: ScanConfig,
    *,
    progress: Progress = _noop,
    work_dir: Path | None = None,
    inspect: Callable[[Scored, Scored | None, pa.Table], None] | None = None,
    peer: PeerInput | None = None,
    engine: Engine | None = None,
) -> ScanResult:
    """Detect extraction in ``events`` (canonical schema, in memory; or a
    :class:`~distillwatch.ingest.spool.Spool` of Parquet files, with their text features,
    for inputs larger than memory: DuckDB reads them and spills) and return the verdicts.

    ``inspect``, if given, receives the account scores, the cluster scores and the cluster
    membership table before verdicts are assembled (used to fit the risk model). ``peer``
    (peers' intel and the group keys) adds the ``peer_intel`` signal. ``engine`` runs the
    relational queries and the text step (default: DuckDB in this process, see
    ``distillwatch.engines``).
    """
    engine = engine if engine is not None else DuckDBEngine()
    holder = [events]  # the only reference goes on, so the table can be freed once loaded
    del events
    tmp = tempfile.TemporaryDirectory(dir=work_dir) if work_dir else tempfile.TemporaryDirectory()
    with tmp as tmpdir:
        con = engine.connect(Path(tmpdir))
        try:
            return _scan(con, engine, holder, ingest, cfg, progress, inspect, peer)
        finally:
            engine.close(con)


def _scan(
    con: Any,
    engine: Engine,
    holder: list[pa.Table | Spool],
    ingest: IngestSummary,
    cfg: ScanConfig,
    progress: Progress,
    inspect: Callable[[Scored, Scored | None, pa.Table], None] | None,
    peer: PeerInput | None,
) -> ScanResult:
    model = RiskModel(cfg.bias, cfg.weights, cfg.threshold)
    camp_model = RiskModel(cfg.campaign_bias, cfg.campaign_weights, cfg.campaign_threshold)
    events = holder.pop()
    matches = None
    if isinstance(events, Spool):  # larger than memory: the engine reads the Parquet files
        progress("templates")
        spooled, heads, ingest.n_duplicates = spooled_events(con, events, engine=engine)
        ingest.n_ok = events.n_rows - ingest.n_duplicates
        if peer is not None:
            from distillwatch.intel.match import REQUIRED, match_events

            progress("intel")
            needed = [*REQUIRED, "head", "tail"]
            matches = match_events(spooled.select(needed).to_pyarrow(), peer.intel, peer.keyring)
        ev = prepare(con, spooled, cfg, engine=engine)
        # read back from the spool for the few samples (no copy of the texts)
        prompts = con.read_parquet(events.pattern).select("request_id", "prompt", SEQ)
    else:
        if "head" not in events.column_names:  # text features may have been computed upstream
            events = engine.add_text_features(con, events, progress)
        if peer is not None:
            from distillwatch.intel.match import match_events

            progress("intel")
            matches = match_events(events, peer.intel, peer.keyring)
        progress("templates")
        events, heads = add_template_ids(events)
        ev = prepare(con, events, cfg, engine=engine)
        prompts = engine.materialize(
            con, "prompts", engine.events_table(con, events.select(["request_id", "prompt"]))
        )
    del events
    progress("accounts")
    acc_f = account_features(ev)
    if matches is not None:
        acc_f.update(matches.features(list(acc_f["subject"])))
    acc_signals = build_signals(cfg.signal_params, campaign=False)
    acc = score(acc_signals, acc_f, model)
    if peer is not None:
        _apply_peer_rule(acc, model, cfg)

    progress("graph")
    ips = ev.select("ip").distinct().to_pyarrow().column("ip").combine_chunks()
    prefixes = ibis.memtable(ip_prefix_table(ips))
    attrs = account_attributes(ev, prefixes, cfg.hosting_asns)
    edges_expr, weighted = link_pairs(
        attrs,
        cfg.link_weights,
        max_sharing=int(cfg.graph.get("max_sharing", 200)),
        rarity_k0=cfg.graph.get("rarity_k0", 12.0),
    )
    edges = edges_expr.to_pyarrow()
    clusters = cluster_accounts(
        edges,
        min_edge_weight=cfg.graph.get("min_edge_weight", 0.45),
        leiden_min_size=int(cfg.graph.get("leiden_min_size", 40)),
        leiden_resolution=cfg.graph.get("leiden_resolution", 0.05),
    )
    member_rows = [
        (a, f"K{int(lbl)}")
        for a, lbl in zip(clusters.accounts, clusters.labels, strict=True)
        if lbl >= 0
    ]
    members = pa.table(
        {"account_id": [a for a, _ in member_rows], "subject": [s for _, s in member_rows]},
        schema=pa.schema([("account_id", pa.string()), ("subject", pa.string())]),
    )
    camp_signals = build_signals(cfg.signal_params, campaign=True)
    camp: Scored | None = None
    if members.num_rows:
        progress("campaigns")
        strength = {f"K{k}": v for k, v in clusters.strength.items()}
        camp_f = campaign_features(ev, members, acc_f, strength)
        camp = score(camp_signals, camp_f, camp_model)
        if peer is not None:
            _apply_peer_rule(camp, camp_model, cfg)
    if inspect is not None:
        inspect(acc, camp, members)
    if camp is not None:
        # accounts chained to a risky cluster by a single coincidental edge
        apart = _unrelated_blocks(ev, acc_f, members, edges, camp, camp_signals, cfg)
        if apart:
            keep = pc.invert(pc.is_in(members["account_id"], pa.array(sorted(apart))))
            members = members.filter(keep)

    flagged, final = _flags(acc, camp, members, model)
    progress("campaigns")
    groups, merges = _campaign_groups(ev, acc, camp, members, edges, flagged, cfg)
    by_member = _flag_members(acc.ids, groups, flagged, final, cfg)
    flagged = flagged | by_member
    camp2 = None
    members2 = members_table(groups)
    if members2.num_rows:
        strength2 = group_strength(edges, groups)
        camp2 = score(camp_signals, campaign_features(ev, members2, acc_f, strength2), camp_model)
        if peer is not None:
            _apply_peer_rule(camp2, camp_model, cfg)
    result = _assemble(
        ev,
        acc,
        acc_signals,
        camp2,
        camp_signals,
        groups,
        merges,
        weighted,
        model,
        cfg,
        ingest,
        heads,
        flagged,
        final,
        by_member,
    )
    _add_samples(ev, prompts, result.campaigns)
    return result


def _flags(
    acc: Scored, camp: Scored | None, members: pa.Table, model: RiskModel
) -> tuple[np.ndarray, np.ndarray]:
    """Final risk per account (own, or its cluster's if higher) and the flags."""
    final = acc.risk.copy()
    if camp is not None:
        acc_index = {a: i for i, a in enumerate(acc.ids)}
        camp_index = {s: i for i, s in enumerate(camp.ids)}
        for a, s in zip(
            members.column("account_id").to_pylist(),
            members.column("subject").to_pylist(),
            strict=True,
        ):
            i = acc_index[a]
            final[i] = max(final[i], float(camp.risk[camp_index[s]]))
    return final >= model.threshold, final


@dataclass(frozen=True)
class PeerInput:
    """Peers' intel for a scan: the loaded indicators and the trust group's keys."""

    intel: Any  # distillwatch.intel.store.PeerIntel
    keyring: Any  # distillwatch.intel.keys.Keyring


def _apply_peer_rule(acc: Scored, model: RiskModel, cfg: ScanConfig) -> None:
    """Add peers' intel to account risk under the "never flags alone" rule."""
    from distillwatch.signals.peer_intel import bounded_peer_risk, peer_settings

    weight, floor, cap = peer_settings(cfg.extra)
    own = np.full(len(acc.ids), model.bias, dtype=np.float64)
    for sid, c in acc.contrib.items():
        if sid != "peer_intel":
            own = own + c
    try:
        risk, applied = bounded_peer_risk(
            own,
            weight * acc.scores["peer_intel"],
            threshold=model.threshold,
            floor=floor,
            cap=cap,
        )
    except ValueError as exc:
        raise ConfigError(f"[peer] in the scan config: {exc}") from exc
    acc.risk = risk
    acc.contrib["peer_intel"] = applied


def _unrelated_blocks(
    ev: ir.Table,
    acc_f: dict[str, np.ndarray],
    members: pa.Table,
    edges: pa.Table,
    camp: Scored,
    camp_signals: Sequence[Signal],
    cfg: ScanConfig,
) -> set[str]:
    """Accounts of risky clusters that do not inherit the cluster's risk.

    A risky cluster is split at its bridges (campaigns/blocks.py); a block keeps the
    cluster's risk if, scored on its own, it reaches the campaign threshold, or if it runs
    the same tooling as the rest of its cluster (the weak-link bars, as it is linked).
    """
    camp_model = RiskModel(cfg.campaign_bias, cfg.campaign_weights, cfg.campaign_threshold)
    risky = [s for s, r in zip(camp.ids, camp.risk, strict=True) if r >= cfg.campaign_threshold]
    sub = members.filter(pc.is_in(members["subject"], pa.array(risky, pa.string())))
    blocks = split_at_bridges(
        edges,
        sub,
        min_edge_weight=cfg.graph.get("min_edge_weight", 0.45),
        min_side=int(cfg.graph.get("block_min_side", 3)),
    )
    if not blocks:
        return set()
    f = campaign_features(ev, members_table(blocks), acc_f, group_strength(edges, blocks))
    scored = score(camp_signals, f, camp_model)
    block_risk = {s: float(r) for s, r in zip(scored.ids, scored.risk, strict=True)}
    cluster_of = dict(zip(sub["account_id"].to_pylist(), sub["subject"].to_pylist(), strict=True))
    groups: dict[str, list[str]] = {}
    for name, accs in blocks.items():
        inside = set(accs)
        groups[name] = accs
        groups["~" + name] = [
            a for a, c in cluster_of.items() if c == cluster_of[accs[0]] and a not in inside
        ]
    rule = _same_operator(cfg)
    sims = {
        (x.left, x.right): x.similarity
        for x in similar_pairs(
            template_profiles(ev, groups), rule.floor, only=[(n, "~" + n) for n in blocks]
        )
    }
    apart: set[str] = set()
    for name, accs in blocks.items():
        if block_risk[name] >= cfg.campaign_threshold:
            continue
        pair = sims.get((name, "~" + name)) or sims.get(("~" + name, name)) or {}
        if not rule(pair, linked=True):
            apart.update(accs)
    return apart


def _flag_members(
    ids: Sequence[str],
    groups: dict[str, list[str]],
    flagged: np.ndarray,
    final: np.ndarray,
    cfg: ScanConfig,
) -> np.ndarray:
    """Accounts flagged as members of a detected campaign though under the threshold alone.

    A campaign whose accounts are mostly flagged is one operation; its other accounts are
    flagged too when their own risk is at least ``graph.member_min_risk`` (more likely
    than not extractors on their own traffic), so a cluster's decision does not flip
    between accounts of one operation at the threshold's edge.
    """
    floor = float(cfg.graph.get("member_min_risk", 0.5))
    index = {a: i for i, a in enumerate(ids)}
    out = np.zeros(len(ids), dtype=bool)
    for accs in groups.values():
        if len(accs) > 1:
            rows = np.array([index[a] for a in accs])
            out[rows] = ~flagged[rows] & (final[rows] >= floor)
    return out


def _same_operator(cfg: ScanConfig) -> SameOperator:
    g = cfg.graph
    return SameOperator(
        template=g.get("behaviour_template", 0.4),
        config=g.get("behaviour_config", 0.8),
        agent=g.get("behaviour_agent", 0.6),
        linked_factor=g.get("behaviour_linked_factor", 0.5),
    )


def _campaign_groups(
    ev: ir.Table,
    acc: Scored,
    camp: Scored | None,
    members: pa.Table,
    edges: pa.Table,
    flagged: np.ndarray,
    cfg: ScanConfig,
) -> tuple[dict[str, list[str]], dict[str, list[tuple[BehaviourLink, int, int]]]]:
    """Detected campaigns and the behaviour merges inside each (campaigns/attribution.py)."""
    g = cfg.graph
    return attribute(
        ev,
        acc.ids,
        [bool(x) for x in flagged],
        {s: float(r) for s, r in zip(camp.ids, camp.risk, strict=True)} if camp else {},
        members,
        edges,
        campaign_threshold=cfg.campaign_threshold,
        weak_edge_weight=g.get("attribution_edge_weight", 0.3),
        min_share=g.get("attribution_min_share", 0.2),
        rule=_same_operator(cfg),
    )


def _behaviour_text(family: str, key: str, heads: TemplateNames) -> str:
    if family == "template":
        return _display_value("template", key, heads)
    if family == "config":
        names = [*CONFIG_COLUMNS, "system_prompt"]
        values = key.split("|")
        return "client config: " + ", ".join(
            f"{n}={v}" for n, v in zip(names, values, strict=False) if v != "-"
        )
    return f"{family}: {key}"


def _assemble(
    ev: ir.Table,
    acc: Scored,
    acc_signals: Sequence[Signal],
    camp: Scored | None,
    camp_signals: Sequence[Signal],
    groups: dict[str, list[str]],
    merges: dict[str, list[tuple[BehaviourLink, int, int]]],
    weighted: ir.Table,
    model: RiskModel,
    cfg: ScanConfig,
    ingest: IngestSummary,
    heads: TemplateNames,
    flagged: np.ndarray,
    final: np.ndarray,
    by_member: np.ndarray,
) -> ScanResult:
    acc_index = {a: i for i, a in enumerate(acc.ids)}
    own = acc.risk
    camp_index = {s: i for i, s in enumerate(camp.ids)} if camp else {}
    detected = {s: accs for s, accs in groups.items() if len(accs) > 1}
    singles = [accs[0] for accs in groups.values() if len(accs) == 1]

    first = acc.features["first_ts"]
    last = acc.features["last_ts"]
    nreq = acc.features["n_requests"]
    account_campaign: dict[str, str] = {}
    campaigns: list[CampaignVerdict] = []
    link_rows = _links(weighted, members_table(detected), detected) if detected else {}
    for s, accs in detected.items():
        cid = s
        ci = camp_index[s]
        for a in accs:
            account_campaign[a] = cid
        assert camp is not None
        hits = hits_for(camp_signals, camp, ci, evidence=True)
        campaigns.append(
            CampaignVerdict(
                campaign_id=cid,
                account_ids=sorted(accs),
                n_requests=int(camp.features["n_requests"][ci]),
                risk=float(max(camp.risk[ci], max(final[acc_index[a]] for a in accs))),
                flagged=bool(
                    camp.risk[ci] >= cfg.campaign_threshold
                    or any(flagged[acc_index[a]] for a in accs)
                ),
                first_seen=camp.features["first_ts"][ci],
                last_seen=camp.features["last_ts"][ci],
                hits=hits,
                links=[
                    LinkEvidence(k, _display_value(k, v, heads), n, tot, w, accts)
                    for k, v, n, tot, w, accts in link_rows.get(s, [])
                ],
                behaviour=[
                    BehaviourEvidence(
                        dict(link.similarity),
                        link.linked,
                        n_left,
                        n_right,
                        [_behaviour_text(f, k, heads) for f, k in link.keys],
                    )
                    for link, n_left, n_right in merges.get(s, [])
                ],
                techniques=_techniques(camp_signals, hits),
            )
        )
    for a in singles:
        i = acc_index[a]
        cid = campaign_id([a])
        account_campaign[a] = cid
        hits = hits_for(acc_signals, acc, i, evidence=True)
        campaigns.append(
            CampaignVerdict(
                campaign_id=cid,
                account_ids=[a],
                n_requests=int(nreq[i]),
                risk=float(final[i]),
                flagged=True,
                first_seen=first[i],
                last_seen=last[i],
                hits=hits,
                techniques=_techniques(acc_signals, hits),
            )
        )
    campaigns.sort(key=lambda c: (-c.risk, c.campaign_id))
    _add_artifacts(ev, campaigns, cfg)
    requests = {a: int(nreq[i]) for a, i in acc_index.items()}
    _add_timelines(ev, campaigns[:TIMELINE_CAMPAIGNS], requests)

    accounts = []
    for i, a in enumerate(acc.ids):
        need_evidence = bool(final[i] >= EVIDENCE_MIN_RISK or a in account_campaign)
        hits = hits_for(acc_signals, acc, i, evidence=need_evidence)
        if by_member[i]:
            hits.insert(
                0,
                SignalHit(
                    "campaign",
                    1.0,
                    0.0,
                    {"own_risk": round(float(final[i]), 6)},
                    f"flagged as a member of campaign {account_campaign.get(a)}",
                ),
            )
        elif a in account_campaign and final[i] > own[i] + 1e-12:
            hits.insert(
                0,
                SignalHit(
                    "campaign",
                    1.0,
                    float(final[i] - own[i]),
                    {},
                    f"member of campaign {account_campaign[a]}",
                ),
            )
        accounts.append(
            AccountVerdict(
                account_id=a,
                risk=float(final[i]),
                flagged=bool(flagged[i]),
                n_requests=int(nreq[i]),
                first_seen=first[i],
                last_seen=last[i],
                campaign_id=account_campaign.get(a),
                own_risk=float(own[i]),
                hits=hits,
            )
        )
    starts = [x for x in first if x is not None]
    ends = [x for x in last if x is not None]
    return ScanResult(
        accounts=accounts,
        campaigns=campaigns,
        ingest=ingest,
        window_start=min(starts) if starts else None,
        window_end=max(ends) if ends else None,
        threshold=model.threshold,
        n_events=int(nreq.sum()),
    )


def _techniques(signals: Sequence[Signal], hits: list[SignalHit]) -> list[str]:
    by_id = {s.id: s for s in signals}
    out = {"AML.T0040", "AML.T0024.002"}
    for h in hits:
        if h.contribution >= 0.5 and h.signal_id in by_id:
            out.update(by_id[h.signal_id].techniques)
    return sorted(out)


def _links(
    weighted: ir.Table, members: pa.Table, detected: dict[str, list[str]]
) -> dict[str, list[tuple[str, str, int, int, float, tuple[str, ...]]]]:
    keep = members.filter(
        pc.is_in(members.column("subject"), value_set=pa.array(list(detected), pa.string()))
    )
    mem = ibis.memtable(keep)
    j = weighted.join(mem, "account_id")
    agg = j.group_by(["subject", "kind", "value"]).aggregate(
        n=j.account_id.nunique(), k=j.k.max(), w=j.w.max(), accts=j.account_id.collect()
    )
    agg = agg.filter(agg.n >= 2).order_by(
        [agg.subject, ibis.desc(agg.n * agg.w), agg.kind, agg.value]
    )
    out: dict[str, list[tuple[str, str, int, int, float, tuple[str, ...]]]] = {}
    for r in agg.to_pyarrow().to_pylist():
        rows = out.setdefault(r["subject"], [])
        if len(rows) < 12:
            accts = tuple(sorted(set(r["accts"])))
            rows.append((r["kind"], r["value"], int(r["n"]), int(r["k"]), float(r["w"]), accts))
    return out


def _add_artifacts(ev: ir.Table, campaigns: list[CampaignVerdict], cfg: ScanConfig) -> None:
    flagged = [c for c in campaigns if c.flagged]
    if not flagged:
        return
    rows = [(a, c.campaign_id) for c in flagged for a in c.account_ids]
    members = pa.table({"account_id": [a for a, _ in rows], "cid": [c for _, c in rows]})
    found = campaign_artifacts(ev, members, hosting_asns=cfg.hosting_asns)
    for c in flagged:
        art = found[c.campaign_id]
        c.templates = art.templates
        c.infrastructure = art.infrastructure
        c.payment_fingerprints = art.payment_fingerprints


def _add_samples(
    ev: ir.Table, prompts: ir.Table, campaigns: list[CampaignVerdict], per: int = 5
) -> None:
    """Up to *per* prompts of each campaign, those showing extraction intent first, then
    the earliest (ties by request id, so every engine picks the same)."""
    if not campaigns:
        return
    rows = [(a, c.campaign_id) for c in campaigns for a in c.account_ids]
    mem = ibis.memtable(pa.table({"account_id": [a for a, _ in rows], "cid": [c for _, c in rows]}))
    j = ev.select(
        "account_id",
        "request_id",
        "ts",
        "intent_cot",
        "intent_reveal",
        "intent_rubric",
        "intent_synth",
    ).join(mem, "account_id")
    intent = (j.intent_cot | j.intent_reveal | j.intent_rubric | j.intent_synth).cast("int8")
    w = ibis.window(group_by=j.cid, order_by=[ibis.desc(intent), j.ts, j.request_id])
    ranked = j.mutate(_r=ibis.row_number().over(w))
    picked = ranked.filter(ranked._r < per).order_by(["cid", "_r"]).select("cid", "request_id")
    picked_rows = picked.to_pyarrow().to_pylist()
    texts = prompt_texts(prompts, [r["request_id"] for r in picked_rows])
    by_cid: dict[str, list[str]] = {}
    for r in picked_rows:
        by_cid.setdefault(r["cid"], []).append((texts.get(r["request_id"]) or "")[:500])
    for c in campaigns:
        c.sample_prompts = by_cid.get(c.campaign_id, [])


def prompt_texts(prompts: ir.Table, request_ids: Sequence[str]) -> dict[str, str | None]:
    """The prompt of each of *request_ids* from *prompts* (``request_id, prompt`` and, for a
    spool that still holds duplicates, ``seq``: the first in input order wins)."""
    if not request_ids:
        return {}
    ids = pa.array(sorted(set(request_ids)), pa.string())
    wanted = ibis.memtable(pa.table({"request_id": ids}))
    found = prompts.semi_join(wanted, "request_id")
    if SEQ in found.columns:
        found = found.order_by(SEQ)
    out: dict[str, str | None] = {}
    for r in found.select("request_id", "prompt").to_pyarrow().to_pylist():
        out.setdefault(r["request_id"], r["prompt"])
    return out


def _hour_floor(ts: datetime) -> datetime:
    utc = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return utc.replace(minute=0, second=0, microsecond=0)


def _add_timelines(
    ev: ir.Table,
    campaigns: list[CampaignVerdict],
    requests: dict[str, int],
    *,
    top: int = TIMELINE_ACCOUNTS,
    max_cells: int = TIMELINE_MAX_CELLS,
) -> None:
    """Requests per hour of each campaign's *top* busiest accounts (the rest summed), in one
    grouped query over the members' events; long windows get several hours per cell."""
    if not campaigns:
        return
    member_rows: list[tuple[str, str, str | None, int, int]] = []
    shape: dict[str, tuple[datetime, int, int, list[str]]] = {}
    for c in campaigns:
        start = _hour_floor(c.first_seen)
        hours = int((_hour_floor(c.last_seen) - start).total_seconds()) // 3600 + 1
        per_cell = -(-hours // max_cells)
        busiest = sorted(c.account_ids, key=lambda a: (-requests.get(a, 0), a))
        shape[c.campaign_id] = (start, per_cell, -(-hours // per_cell), busiest[:top])
        shown = set(busiest[:top])
        t0 = int(start.timestamp())
        member_rows += [
            (a, c.campaign_id, a if a in shown else None, t0, per_cell * 3600) for a in busiest
        ]
    cols = list(zip(*member_rows, strict=True))
    mem = ibis.memtable(
        pa.table(
            {
                "account_id": pa.array(cols[0], pa.string()),
                "cid": pa.array(cols[1], pa.string()),
                "label": pa.array(cols[2], pa.string()),
                "t0": pa.array(cols[3], pa.int64()),
                "width": pa.array(cols[4], pa.int64()),
            }
        )
    )
    j = ev.select("account_id", "ts").join(mem, "account_id")
    cell = ((whole_seconds(j.ts) - j.t0) // j.width).name("cell")
    counts = j.group_by([j.cid, j.label, cell]).aggregate(n=j.count()).to_pyarrow()
    grid: dict[str, dict[str | None, list[int]]] = {}
    for r in counts.to_pylist():
        n_cells = shape[r["cid"]][2]
        row = grid.setdefault(r["cid"], {}).setdefault(r["label"], [0] * n_cells)
        row[min(max(int(r["cell"]), 0), n_cells - 1)] += int(r["n"])
    for c in campaigns:
        start, per_cell, n_cells, top_accounts = shape[c.campaign_id]
        rows = grid.get(c.campaign_id, {})
        c.timeline = Timeline(
            start=start,
            hours_per_cell=per_cell,
            rows={a: rows.get(a, [0] * n_cells) for a in top_accounts},
            others=rows.get(None, [0] * n_cells) if len(c.account_ids) > top else [],
            n_others=max(len(c.account_ids) - top, 0),
        )

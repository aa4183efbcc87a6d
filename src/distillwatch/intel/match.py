"""Match peers' indicators against local traffic: which accounts did what a peer saw?

For every request the same keyed fingerprints a peer published are recomputed with the
group key the indicator names (``keyring.get(key_id)``; indicators under a key this
provider does not hold are counted in :attr:`Matches.unknown_keys` and skipped):

- template parts: the request's ``head`` and ``tail`` (``features.templates``), as an
  exact keyed digest, and as a keyed MinHash sketch whose estimated similarity to the
  indicator's sketch is at least ``near_threshold`` (a paraphrase keeping most wording).
  Only the *distinct* non-empty parts are digested and sketched; sketches are compared
  through LSH banding (:data:`BANDS` bands) and candidates verified on all positions, so
  the cost is linear in the distinct parts, not in parts x indicators;
- the payment fingerprint, the client IP address (its canonical text) and its /24 or /64
  prefix, as keyed digests (each distinct value once);
- hosting ranges: the client IP inside the published CIDR (vectorised integer masks).

The result has, per account, the indicators it matched and how much of its traffic
matched a template, and per indicator, how many requests matched it and when (what a
sighting reports). A pure function of its inputs: no I/O.

>>> from datetime import datetime, UTC
>>> import pyarrow as pa
>>> from distillwatch.intel.keys import GroupKey, Keyring
>>> from distillwatch.intel.store import PeerIntel
>>> key = GroupKey("k1", bytes(32), datetime(2026, 1, 1, tzinfo=UTC),
...                datetime(2027, 1, 1, tzinfo=UTC))
>>> events = pa.table({"request_id": ["r1"], "account_id": ["a1"],
...     "ts": pa.array([datetime(2026, 11, 2, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
...     "ip": ["203.0.113.9"], "payment_fingerprint": [None],
...     "head": ["hello"], "tail": ["hello"]})
>>> m = match_events(events, PeerIntel(), Keyring("g", [key]))
>>> m.n_events, m.accounts
(1, {})
"""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.errors import DetectionError, UsageError
from distillwatch.intel.fingerprints import part_digests, sketches, value_digest
from distillwatch.intel.keys import GroupKey, Keyring
from distillwatch.intel.store import (
    DigestIndicator,
    IndicatorInfo,
    PeerIntel,
    RangeIndicator,
    TemplateIndicator,
)
from distillwatch.intel.vocab import MINHASH_PERM
from distillwatch.signals.peer_intel import PeerIntel as PeerIntelSignal

IntArray = npt.NDArray[np.int64]

#: estimated Jaccard similarity at or above which a part matches a template sketch
NEAR_THRESHOLD = 0.8
#: LSH bands over the sketch (rows per band = MINHASH_PERM // BANDS): with 16 x 4 a pair
#: at similarity 0.8 becomes a candidate with probability 0.9998
BANDS = 16
#: columns ``match_events`` reads (besides ``head``/``tail``, computed when missing)
REQUIRED = ("account_id", "ts", "ip", "payment_fingerprint")
#: per-account feature columns of :meth:`Matches.features` (signals/peer_intel.py)
FEATURE_COLUMNS = PeerIntelSignal.inputs
#: per-account evidence columns (tuples of strings) of :meth:`Matches.features`
EVIDENCE_COLUMNS = PeerIntelSignal.evidence_inputs
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ALL_MAX = np.uint32(0xFFFFFFFF)


@dataclass(frozen=True)
class AccountMatch:
    """What one local account matched."""

    account_id: str
    n_requests: int
    #: requests whose head or tail matched a template indicator, and their share
    n_requests_matched: int
    template_share: float
    #: every matched indicator id, sorted
    indicator_ids: tuple[str, ...]
    #: kinds of the infrastructure / payment indicators matched, sorted
    infra_kinds: tuple[str, ...]
    #: distinct indicators matched per infrastructure / payment kind
    n_payment: int
    n_ip_address: int
    n_ip_prefix: int
    n_hosting: int
    max_confidence: int
    #: publishers (identity names) and campaigns (names, else ids) of those indicators
    publishers: tuple[str, ...]
    campaigns: tuple[str, ...]


@dataclass(frozen=True)
class IndicatorHit:
    """How often and when one peer indicator matched local traffic (a sighting's data)."""

    indicator_id: str
    kind: str
    n_requests: int
    n_accounts: int
    first_seen: datetime
    last_seen: datetime


@dataclass
class Matches:
    """Matches of peers' indicators in a set of events."""

    accounts: dict[str, AccountMatch] = field(default_factory=dict)
    indicators: dict[str, IndicatorHit] = field(default_factory=dict)
    #: key id -> indicators skipped because this keyring does not hold the key
    unknown_keys: Counter[str] = field(default_factory=Counter)
    n_events: int = 0

    @property
    def n_requests_matched(self) -> int:
        """Requests matching a template indicator, over all accounts."""
        return sum(a.n_requests_matched for a in self.accounts.values())

    def features(self, subjects: Sequence[Any]) -> dict[str, npt.NDArray[Any]]:
        """Per-account feature columns for the ``peer_intel`` signal, aligned on
        ``subjects`` (account ids; unmatched accounts get zeros and empty tuples).

        >>> Matches().features(["a"])["pi_template_share"].tolist()
        [0.0]
        """
        n = len(subjects)
        out: dict[str, npt.NDArray[Any]] = {c: np.zeros(n) for c in FEATURE_COLUMNS}
        for c in EVIDENCE_COLUMNS:
            out[c] = np.empty(n, dtype=object)
            out[c][:] = [()] * n
        for i, subject in enumerate(subjects):
            m = self.accounts.get(str(subject))
            if m is None:
                continue
            out["pi_template_share"][i] = m.template_share
            out["pi_template_n"][i] = m.n_requests_matched
            out["pi_payment"][i] = m.n_payment
            out["pi_ip_address"][i] = m.n_ip_address
            out["pi_ip_prefix"][i] = m.n_ip_prefix
            out["pi_hosting"][i] = m.n_hosting
            out["pi_confidence"][i] = m.max_confidence
            out["pi_indicator_ids"][i] = m.indicator_ids
            out["pi_publishers"][i] = m.publishers
            out["pi_campaigns"][i] = m.campaigns
        return out


# ---------------------------------------------------------------------------- helpers


def _encode(column: pa.ChunkedArray | pa.Array) -> tuple[IntArray, pa.Array]:
    """(code per row, -1 for null; the distinct values) of a string column."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_large_string(arr.type) or pa.types.is_null(arr.type):
        arr = arr.cast(pa.string())
    enc = pc.dictionary_encode(arr)
    codes = np.asarray(pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False), np.int64)
    return codes, enc.dictionary


def _expand(codes: IntArray, pair_code: IntArray, pair_ind: IntArray) -> tuple[IntArray, IntArray]:
    """Rows x indicators: every row whose value code is in a (code, indicator) pair."""
    if pair_code.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    n_codes = int(max(codes.max(initial=-1), pair_code.max())) + 1
    width = int(pair_ind.max()) + 1
    uniq = np.unique(pair_code * width + pair_ind)
    p_code, p_ind = uniq // width, uniq % width
    per_code = np.bincount(p_code, minlength=n_codes)
    start = np.cumsum(per_code) - per_code
    rows = np.flatnonzero(codes >= 0)
    rows = rows[per_code[codes[rows]] > 0]
    k = per_code[codes[rows]]
    offs = np.arange(int(k.sum()), dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
    inds = p_ind[np.repeat(start[codes[rows]], k) + offs]
    return np.repeat(rows, k), inds.astype(np.int64)


def _band_keys(block: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint64]:
    """One 64-bit hash per row of a band (collisions only add candidates to verify)."""
    h = np.zeros(len(block), dtype=np.uint64)
    for j in range(block.shape[1]):
        h = (h ^ block[:, j].astype(np.uint64)) * np.uint64(0x9E3779B97F4A7C15)
    return h


def near_pairs(
    local: npt.NDArray[np.uint32], peer: npt.NDArray[np.uint32], threshold: float
) -> tuple[IntArray, IntArray]:
    """(local row, peer row) of the sketch pairs with estimated similarity >= threshold.

    >>> a = np.arange(128, dtype=np.uint32).reshape(2, 64)
    >>> b = a[[1]].copy(); b[0, :10] = 0
    >>> [x.tolist() for x in near_pairs(a, b, 0.8)]
    [[1], [0]]
    """
    rows = local.shape[1] // BANDS
    found_l: list[IntArray] = []
    found_p: list[IntArray] = []
    for b in range(BANDS):
        cols = slice(b * rows, (b + 1) * rows)
        kl, kp = _band_keys(local[:, cols]), _band_keys(peer[:, cols])
        order = np.argsort(kp, kind="stable")
        sorted_kp = kp[order]
        lo = np.searchsorted(sorted_kp, kl, "left")
        cnt = np.searchsorted(sorted_kp, kl, "right") - lo
        has = np.flatnonzero(cnt > 0)
        if has.size == 0:
            continue
        c = cnt[has]
        offs = np.arange(int(c.sum()), dtype=np.int64) - np.repeat(np.cumsum(c) - c, c)
        found_l.append(np.repeat(has, c).astype(np.int64))
        found_p.append(order[np.repeat(lo[has], c) + offs].astype(np.int64))
    if not found_l:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pair = np.unique(np.concatenate(found_l) * len(peer) + np.concatenate(found_p))
    cand_l, cand_p = pair // len(peer), pair % len(peer)
    sim = (local[cand_l] == peer[cand_p]).mean(axis=1)
    ok = sim >= threshold
    return cand_l[ok], cand_p[ok]


def _template_pairs(
    key: GroupKey,
    part: str,
    texts: pa.Array,
    group: list[tuple[int, TemplateIndicator]],
    threshold: float,
) -> tuple[IntArray, IntArray]:
    """(distinct text code, indicator index) pairs: exact digest or near sketch matches."""
    lengths = np.asarray(pc.fill_null(pc.binary_length(texts), 0).to_numpy(), np.int64)
    usable = np.flatnonzero(lengths > 0)
    if usable.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    sub = texts.take(pa.array(usable))
    by_digest: dict[str, list[int]] = defaultdict(list)
    for g, t in group:
        by_digest[t.digest].append(g)
    codes: list[int] = []
    inds: list[int] = []
    for j, d in enumerate(part_digests(key, part, sub)):
        for g in by_digest.get(d, ()):
            codes.append(int(usable[j]))
            inds.append(g)
    out_c = [np.array(codes, np.int64)]
    out_i = [np.array(inds, np.int64)]
    with_sketch = [
        (g, t.minhash)
        for g, t in group
        if t.minhash is not None and any(v != int(_ALL_MAX) for v in t.minhash)
    ]
    if with_sketch:
        peer = np.array([s for _, s in with_sketch], dtype=np.uint32).reshape(-1, MINHASH_PERM)
        local_rows, peer_rows = near_pairs(sketches(key, sub), peer, threshold)
        g_of = np.array([g for g, _ in with_sketch], np.int64)
        out_c.append(usable[local_rows].astype(np.int64))
        out_i.append(g_of[peer_rows])
    return np.concatenate(out_c), np.concatenate(out_i)


def _digest_pairs(
    key: GroupKey,
    kind: str,
    variants: list[tuple[str, ...]],
    group: list[tuple[int, DigestIndicator]],
) -> tuple[IntArray, IntArray]:
    """(distinct value code, indicator index) where one text form of the value matches."""
    by_digest: dict[str, list[int]] = defaultdict(list)
    for g, d in group:
        by_digest[d.digest].append(g)
    codes: list[int] = []
    inds: list[int] = []
    for j, forms in enumerate(variants):
        hit: set[int] = set()
        for text in forms:
            hit.update(by_digest.get(value_digest(key, kind, text), ()))
        codes.extend([j] * len(hit))
        inds.extend(sorted(hit))
    return np.array(codes, np.int64), np.array(inds, np.int64)


@dataclass(frozen=True)
class _Address:
    text: str  # canonical (compressed) form
    version: int
    value: int


def _parse_ips(values: list[str | None]) -> list[_Address | None]:
    """Each distinct IP text parsed once (None when it is not an address)."""
    out: list[_Address | None] = []
    for v in values:
        try:
            addr = ipaddress.ip_address(v.strip()) if v else None
        except ValueError:
            addr = None
        out.append(_Address(str(addr), addr.version, int(addr)) if addr else None)
    return out


def _prefix(addr: _Address) -> str:
    """The /24 (IPv4) or /64 (IPv6) of an address as CIDR text (as ``ip_prefix`` writes)."""
    if addr.version == 4:
        return f"{ipaddress.IPv4Address(addr.value & 0xFFFFFF00)}/24"
    return f"{ipaddress.IPv6Address(addr.value & ~((1 << 64) - 1))}/64"


def _ip_forms(
    values: list[str | None], parsed: list[_Address | None]
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Per distinct IP text: its address forms (as logged, canonical) and its prefix."""
    addrs: list[tuple[str, ...]] = []
    prefixes: list[tuple[str, ...]] = []
    for v, addr in zip(values, parsed, strict=True):
        if addr is None:
            addrs.append((v,) if v else ())
            prefixes.append(())
        else:
            addrs.append(tuple(dict.fromkeys((v or addr.text, addr.text))))
            prefixes.append((_prefix(addr),))
    return addrs, prefixes


def _range_pairs(
    parsed: list[_Address | None], group: list[tuple[int, RangeIndicator]]
) -> tuple[IntArray, IntArray]:
    """(distinct IP code, indicator index) for addresses inside a hosting range."""
    codes: list[IntArray] = []
    inds: list[IntArray] = []
    for version in (4, 6):
        nets = [(g, r.network) for g, r in group if r.network.version == version]
        found = [(j, a.value) for j, a in enumerate(parsed) if a and a.version == version]
        if not nets or not found:
            continue
        idx = [j for j, _ in found]
        hi, lo = _split128([v for _, v in found], version)
        n_hi, n_lo = _split128([int(n.network_address) for _, n in nets], version)
        m_hi, m_lo = _split128([int(n.netmask) for _, n in nets], version)
        inside = ((hi[:, None] & m_hi[None, :]) == n_hi[None, :]) & (
            (lo[:, None] & m_lo[None, :]) == n_lo[None, :]
        )
        where_ip, where_net = np.nonzero(inside)
        codes.append(np.array(idx, np.int64)[where_ip])
        inds.append(np.array([g for g, _ in nets], np.int64)[where_net])
    if not codes:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(codes), np.concatenate(inds)


def _split128(values: list[int], version: int) -> tuple[npt.NDArray[np.uint64], ...]:
    """(high, low) 64-bit halves of addresses (IPv4: high is zero)."""
    if version == 4:
        return np.zeros(len(values), np.uint64), np.array(values, np.uint64)
    mask = (1 << 64) - 1
    return (
        np.array([v >> 64 for v in values], np.uint64),
        np.array([v & mask for v in values], np.uint64),
    )


# ---------------------------------------------------------------------------- matching


def _with_text_features(events: pa.Table) -> pa.Table:
    if "head" in events.column_names and "tail" in events.column_names:
        return events
    from distillwatch.pipeline import add_text_features  # lazy: ibis, duckdb

    return add_text_features(events)


def _keys(intel: PeerIntel, keyring: Keyring) -> tuple[dict[str, GroupKey], Counter[str]]:
    known: dict[str, GroupKey] = {}
    unknown: Counter[str] = Counter()
    keyed: list[TemplateIndicator | DigestIndicator] = [*intel.templates, *intel.digests]
    for item in keyed:
        key = keyring.get(item.key_id)
        if key is None:
            unknown[item.key_id] += 1
        else:
            known[item.key_id] = key
    return known, unknown


def match_events(
    events: pa.Table,
    intel: PeerIntel,
    keyring: Keyring,
    *,
    near_threshold: float = NEAR_THRESHOLD,
) -> Matches:
    """Match ``intel`` against ``events`` (canonical columns, plus ``head``/``tail``,
    computed with ``pipeline.add_text_features`` when missing)."""
    if not 0.0 < near_threshold <= 1.0:
        raise UsageError(f"near_threshold must be in (0, 1], got {near_threshold}")
    missing = [c for c in REQUIRED if c not in events.column_names]
    if missing:
        raise DetectionError(
            f"match_events needs the canonical columns {', '.join(missing)}; load events "
            "with distillwatch.ingest.load_events"
        )
    events = _with_text_features(events)
    keys, unknown = _keys(intel, keyring)
    # global indicator index: templates, then digests, then ranges
    infos = [
        *(t.info for t in intel.templates),
        *(d.info for d in intel.digests),
        *(r.info for r in intel.ranges),
    ]
    n_t, n_d = len(intel.templates), len(intel.digests)
    rows: list[IntArray] = []
    inds: list[IntArray] = []

    for part in ("head", "tail"):
        by_key: dict[str, list[tuple[int, TemplateIndicator]]] = defaultdict(list)
        for g, t in enumerate(intel.templates):
            if t.part == part and t.key_id in keys:
                by_key[t.key_id].append((g, t))
        if not by_key:
            continue
        codes, texts = _encode(events.column(part))
        for key_id, group in sorted(by_key.items()):
            pc_, pi_ = _template_pairs(keys[key_id], part, texts, group, near_threshold)
            r, i = _expand(codes, pc_, pi_)
            rows.append(r)
            inds.append(i)

    digests: dict[str, list[tuple[int, DigestIndicator]]] = defaultdict(list)
    for g, d in enumerate(intel.digests, start=n_t):
        if d.key_id in keys:
            digests[d.kind].append((g, d))
    if digests.get("payment-fingerprint"):
        codes, values = _encode(events.column("payment_fingerprint"))
        forms: list[tuple[str, ...]] = [(v,) if v else () for v in values.to_pylist()]
        r, i = _expand(codes, *_by_key(keys, "payment-fingerprint", forms, digests))
        rows.append(r)
        inds.append(i)
    ranges = [(g, r) for g, r in enumerate(intel.ranges, start=n_t + n_d)]
    if digests.get("ip-address") or digests.get("ip-prefix") or ranges:
        codes, ip_values = _encode(events.column("ip"))
        ips: list[str | None] = ip_values.to_pylist()
        parsed = _parse_ips(ips)
        addr_forms, prefix_forms = _ip_forms(ips, parsed)
        for kind, ip_forms in (("ip-address", addr_forms), ("ip-prefix", prefix_forms)):
            if digests.get(kind):
                r, i = _expand(codes, *_by_key(keys, kind, ip_forms, digests))
                rows.append(r)
                inds.append(i)
        if ranges:
            r, i = _expand(codes, *_range_pairs(parsed, ranges))
            rows.append(r)
            inds.append(i)

    matches = _aggregate(events, infos, rows, inds)
    matches.unknown_keys = unknown
    return matches


def _by_key(
    keys: dict[str, GroupKey],
    kind: str,
    forms: list[tuple[str, ...]],
    digests: dict[str, list[tuple[int, DigestIndicator]]],
) -> tuple[IntArray, IntArray]:
    by_key: dict[str, list[tuple[int, DigestIndicator]]] = defaultdict(list)
    for g, d in digests[kind]:
        by_key[d.key_id].append((g, d))
    codes: list[IntArray] = []
    inds: list[IntArray] = []
    for key_id, group in sorted(by_key.items()):
        c, i = _digest_pairs(keys[key_id], kind, forms, group)
        codes.append(c)
        inds.append(i)
    return np.concatenate(codes), np.concatenate(inds)


def _time(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _aggregate(
    events: pa.Table, infos: list[IndicatorInfo], rows: list[IntArray], inds: list[IntArray]
) -> Matches:
    matches = Matches(n_events=events.num_rows)
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    ind = np.concatenate(inds) if inds else np.zeros(0, np.int64)
    if row.size == 0:
        return matches
    n_ind = len(infos)
    acc_codes, acc_names = _encode(events.column("account_id"))
    ts = pc.cast(events.column("ts"), pa.int64()).combine_chunks()
    ts_us = np.asarray(ts.to_numpy(zero_copy_only=False), np.int64)
    first = np.full(n_ind, np.iinfo(np.int64).max, np.int64)
    last = np.full(n_ind, np.iinfo(np.int64).min, np.int64)
    np.minimum.at(first, ind, ts_us[row])
    np.maximum.at(last, ind, ts_us[row])
    n_req = np.bincount(ind, minlength=n_ind)
    acc_ind = np.unique(acc_codes[row] * n_ind + ind)
    ai_acc, ai_ind = acc_ind // n_ind, acc_ind % n_ind
    n_acc = np.bincount(ai_ind, minlength=n_ind)
    for g in np.flatnonzero(n_req):
        info = infos[g]
        matches.indicators[info.indicator_id] = IndicatorHit(
            info.indicator_id,
            info.kind,
            int(n_req[g]),
            int(n_acc[g]),
            _time(int(first[g])),
            _time(int(last[g])),
        )

    is_template = np.array([i.kind == "template" for i in infos], dtype=bool)
    t_rows = np.unique(row[is_template[ind]])
    n_names = len(acc_names)
    t_per_acc = np.bincount(acc_codes[t_rows], minlength=n_names)
    req_per_acc = np.bincount(acc_codes, minlength=n_names)
    names = acc_names.to_pylist()
    bounds = np.flatnonzero(np.diff(ai_acc)) + 1
    for a_group, i_group in zip(np.split(ai_acc, bounds), np.split(ai_ind, bounds), strict=True):
        a = int(a_group[0])
        found = [infos[int(g)] for g in i_group]
        kinds = Counter(f.kind for f in found)
        n_t = int(t_per_acc[a])
        matches.accounts[names[a]] = AccountMatch(
            account_id=names[a],
            n_requests=int(req_per_acc[a]),
            n_requests_matched=n_t,
            template_share=n_t / max(int(req_per_acc[a]), 1),
            indicator_ids=tuple(sorted(f.indicator_id for f in found)),
            infra_kinds=tuple(sorted(k for k in kinds if k != "template")),
            n_payment=kinds["payment-fingerprint"],
            n_ip_address=kinds["ip-address"],
            n_ip_prefix=kinds["ip-prefix"],
            n_hosting=kinds["hosting-range"],
            max_confidence=max(f.confidence for f in found),
            publishers=tuple(sorted({f.publisher for f in found})),
            campaigns=tuple(
                sorted({f.campaign_name or f.campaign_ref or "" for f in found} - {""})
            ),
        )
    return matches

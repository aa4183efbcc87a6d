"""Attribution by behaviour: flagged groups that run the same tooling are one campaign.

An operator who spreads a campaign over several card groups on separate infrastructure
leaves no shared attribute between the groups, but its scripts still build prompts and
call the API the same way. Each detected group gets a *behaviour profile* in three
families of keys (:func:`behaviour_keys`): prompt ``template`` clusters (head and tail),
the client ``config`` (model and sampling parameters together) and the user ``agent``.
Within a family a key weighs ``count * log(N / df)`` (``df`` of the input's ``N`` accounts
use it, so a corpus task or default setting everyone sends weighs nothing), normalised to
unit length. Two groups are compared family by family (cosine similarity), and
:class:`SameOperator` decides: alike templates, or alike config *and* agent; a weak
infrastructure link between them lowers both bars.

The profiles are an ibis expression, so they are computed on the same engine as the
features; the pairwise similarities are sparse matrix products in this process
(:class:`Profiles`), as the graph step works on the engine's edge list.

>>> import ibis, pyarrow as pa
>>> ev = ibis.memtable(pa.table({
...     "account_id": ["a", "a", "b", "b", "c", "c", "d", "e"],
...     "head_tid": [1, 1, 1, 1, 2, 2, 3, 3],
...     "tail_tid": [7, 7, 7, 7, 8, 8, 9, 9]}))
>>> groups = {"G1": ["a"], "G2": ["b"], "G3": ["c"]}
>>> merged, why = merge_by_behaviour(ev, groups, SameOperator())
>>> sorted(sorted(accs) for accs in merged)
[['a', 'b'], ['c']]
>>> why[0].similarity["template"]
1.0
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from distillwatch.unionfind import DisjointSets

FAMILIES = ("template", "config", "agent")


@dataclass(frozen=True)
class SameOperator:
    """When two groups' family similarities say one operator runs both.

    ``template`` alone, or ``config`` and ``agent`` together, must reach their bar; for
    groups that already share a weak infrastructure link the bars are multiplied by
    ``linked_factor``. Bars above 1 can never be met (switches that rule off).
    """

    template: float = 0.4
    config: float = 0.8
    agent: float = 0.6
    linked_factor: float = 0.5

    def __call__(self, sims: Mapping[str, float], linked: bool = False) -> bool:
        f = self.linked_factor if linked else 1.0
        if sims.get("template", 0.0) >= self.template * f:
            return True
        return (
            sims.get("config", 0.0) >= self.config * f and sims.get("agent", 0.0) >= self.agent * f
        )

    @property
    def floor(self) -> float:
        """No family similarity below this can matter."""
        return min(self.template, self.config, self.agent) * min(1.0, self.linked_factor)


@dataclass(frozen=True)
class BehaviourLink:
    """Two groups compared: their similarity per family and what carried it."""

    left: str
    right: str
    similarity: dict[str, float]
    # (family, key) pairs contributing most; template keys are "h<id>" or "t<id>"
    keys: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    linked: bool = False  # the groups also share a weak infrastructure link


#: Columns whose combination is a client configuration (a script's settings).
CONFIG_COLUMNS = (
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "n",
    "logprobs",
    "top_logprobs",
    "stream",
    "tools",
)


def _config_key(ev: ir.Table) -> ir.StringValue | None:
    """``model|max_tokens|...|s`` (``s``: a system prompt was sent); None without columns."""
    parts = [ev[c].cast("string").fill_null("-") for c in CONFIG_COLUMNS if c in ev.columns]
    if not parts:
        return None
    if "system_prompt" in ev.columns:
        parts.append(ev.system_prompt.isnull().ifelse("-", "s"))
    key = parts[0]
    for part in parts[1:]:
        key = key + "|" + part
    return key


def behaviour_keys(ev: ir.Table) -> ir.Table:
    """Rows ``account_id, family, key``: what each request says about its tooling.

    Families: ``template`` (the head and the tail template cluster, keys ``h<id>`` and
    ``t<id>``), ``config`` (model and sampling parameters together) and ``agent`` (the
    user agent). Each family is weighted equally in a profile.
    """
    lit = ibis.literal
    parts = [
        ev.select("account_id", family=lit("template"), key=lit("h") + ev.head_tid.cast("string")),
        ev.select("account_id", family=lit("template"), key=lit("t") + ev.tail_tid.cast("string")),
    ]
    config = _config_key(ev)
    if config is not None:
        parts.append(ev.select("account_id", family=lit("config"), key=config))
    if "user_agent" in ev.columns:
        ua = ev.filter(ev.user_agent.notnull())
        parts.append(ua.select("account_id", family=lit("agent"), key=ua.user_agent))
    out = parts[0]
    for part in parts[1:]:
        out = out.union(part, distinct=False)
    return out


def template_profiles(ev: ir.Table, groups: Mapping[str, Sequence[str]]) -> ir.Table:
    """Rows ``subject, family, key, w``: each group's profile, unit length per family."""
    n_accounts = ev.account_id.nunique()
    uses = behaviour_keys(ev)
    per_acc = uses.group_by(["account_id", "family", "key"]).aggregate(n=uses.count())
    df = per_acc.group_by(["family", "key"]).aggregate(df=per_acc.account_id.nunique())
    rows = [(a, s) for s, accs in groups.items() for a in accs]
    mem = ibis.memtable(
        pa.table(
            {"account_id": [a for a, _ in rows], "subject": [s for _, s in rows]},
            schema=pa.schema([("account_id", pa.string()), ("subject", pa.string())]),
        )
    )
    mine = per_acc.join(mem, "account_id")
    tf = mine.group_by(["subject", "family", "key"]).aggregate(n=mine.n.sum())
    tf = tf.join(df, ["family", "key"]).mutate(total=ibis.literal(1.0) * n_accounts.as_scalar())
    tf = tf.mutate(w=tf.n.cast("float64") * (tf.total / tf.df.cast("float64")).ln())
    norm = tf.group_by(["subject", "family"]).aggregate(norm=(tf.w * tf.w).sum().sqrt())
    out = tf.join(norm, ["subject", "family"])
    out = out.filter(out.norm > 0)
    return out.select("subject", "family", "key", w=out.w / out.norm)


class Profiles:
    """Groups' profiles (rows of :func:`template_profiles`) as one sparse matrix per family,
    a row per group: similarities are sparse products, computed in this process.

    The profiles are small (a row per group and key: 1.5M rows for the 899 groups of a
    10M-event scan) but the pairs of groups sharing a key are not (200M there, as many rows
    of a join that spilled 22 GB): the product sums them without writing them out.
    """

    def __init__(self, profiles: ir.Table | pa.Table) -> None:
        t = profiles if isinstance(profiles, pa.Table) else profiles.to_pyarrow()
        t = t.filter(pc.greater(t["w"], 0.0))  # a key everyone uses adds nothing
        # a fixed row order, so sums add up in the same order whatever the engine returned
        t = t.sort_by([("subject", "ascending"), ("family", "ascending"), ("key", "ascending")])
        self.subjects: list[str] = sorted(pc.unique(t["subject"]).to_pylist())
        self.index = {s: i for i, s in enumerate(self.subjects)}
        rows = pc.index_in(t["subject"], value_set=pa.array(self.subjects, pa.string()))
        rows_all = rows.to_numpy(zero_copy_only=False).astype(np.int64)
        w_all = t["w"].to_numpy(zero_copy_only=False).astype(np.float64)
        self.matrices: dict[str, sparse.csr_matrix] = {}
        self.keys: dict[str, list[str]] = {}
        for family in sorted(pc.unique(t["family"]).to_pylist()):
            sel = pc.equal(t["family"], family).to_numpy(zero_copy_only=False)
            names = sorted(pc.unique(t["key"].filter(sel)).to_pylist())
            cols = pc.index_in(t["key"].filter(sel), value_set=pa.array(names, pa.string()))
            self.keys[family] = names
            self.matrices[family] = sparse.csr_matrix(
                (w_all[sel], (rows_all[sel], cols.to_numpy(zero_copy_only=False))),
                shape=(len(self.subjects), len(names)),
            )

    def similarities(
        self, floor: float, only: Collection[tuple[str, str]] | None = None
    ) -> dict[tuple[str, str], dict[str, float]]:
        """``{(a, b): {family: similarity}}`` (``a < b``) for pairs whose best family
        reaches ``floor``; families the pair shares no weighted key in are left out."""
        n = len(self.subjects)
        if only is None:
            parts = []
            for family, m in self.matrices.items():
                prod = sparse.triu(m @ m.T, k=1).tocoo()
                parts.append(
                    (family, prod.row.astype(np.int64), prod.col.astype(np.int64), prod.data)
                )
        else:
            wanted = sorted(
                {
                    (min(a, b), max(a, b))
                    for a, b in only
                    if a != b and a in self.index and b in self.index
                }
            )
            a_idx = np.array([self.index[a] for a, _ in wanted], dtype=np.int64)
            b_idx = np.array([self.index[b] for _, b in wanted], dtype=np.int64)
            parts = []
            for family, m in self.matrices.items():
                dots = np.asarray(m[a_idx].multiply(m[b_idx]).sum(axis=1)).ravel()
                hit = dots > 0
                parts.append((family, a_idx[hit], b_idx[hit], dots[hit]))
        codes = (
            np.concatenate([r * n + c for _, r, c, _ in parts]) if parts else np.zeros(0, np.int64)
        )
        values = np.concatenate([v for *_, v in parts]) if parts else np.zeros(0)
        if not len(codes):
            return {}
        order = np.argsort(codes, kind="stable")
        uniq, start = np.unique(codes[order], return_index=True)
        best = np.maximum.reduceat(values[order], start)
        keep = set(uniq[best >= floor].tolist())
        out: dict[tuple[str, str], dict[str, float]] = {}
        for family, r, c, v in parts:
            for code, value in zip((r * n + c).tolist(), v.tolist(), strict=True):
                if code in keep:
                    pair = (self.subjects[code // n], self.subjects[code % n])
                    out.setdefault(pair, {})[family] = round(min(1.0, value), 6)
        return out

    def top_keys(self, a: str, b: str, n_keys: int = 3) -> tuple[tuple[str, str], ...]:
        """The ``(family, key)`` pairs adding most to the similarity of groups ``a`` and ``b``."""
        found: list[tuple[float, str, str]] = []
        ia, ib = self.index[a], self.index[b]
        for family, m in self.matrices.items():
            ra, rb = m.getrow(ia), m.getrow(ib)
            shared, pa_, pb_ = np.intersect1d(ra.indices, rb.indices, return_indices=True)
            for col, c in zip(shared.tolist(), (ra.data[pa_] * rb.data[pb_]).tolist(), strict=True):
                found.append((-c, family, self.keys[family][col]))
        return tuple((f, k) for _, f, k in sorted(found)[:n_keys])


def similar_pairs(
    profiles: ir.Table | pa.Table,
    floor: float,
    n_keys: int = 3,
    *,
    only: Collection[tuple[str, str]] | None = None,
) -> list[BehaviourLink]:
    """Pairs of groups with at least one family similarity of ``floor`` or more, each with
    the ``n_keys`` keys adding most to it.

    ``only`` restricts the comparison to those pairs (each reported with the smaller name
    first); without it every pair is compared.
    """
    prof = Profiles(profiles)
    return [
        BehaviourLink(a, b, sims, prof.top_keys(a, b, n_keys))
        for (a, b), sims in sorted(prof.similarities(floor, only).items())
    ]


def merge_by_behaviour(
    ev: ir.Table,
    groups: Mapping[str, Sequence[str]],
    rule: SameOperator,
    linked: Collection[tuple[str, str]] = (),
) -> tuple[list[list[str]], list[BehaviourLink]]:
    """Groups joined (single linkage) where ``rule`` says one operator runs both.

    ``linked`` holds pairs of group names that share a weak infrastructure link. Returns
    the merged account lists and the links that caused a merge, strongest first.
    """
    if len(groups) < 2 or rule.floor > 1.0:
        return [list(accs) for accs in groups.values()], []
    pairs = {(min(a, b), max(a, b)) for a, b in linked}
    prof = Profiles(template_profiles(ev, groups))
    # keys are looked up only for the links that cause a merge (below)
    links = [
        BehaviourLink(a, b, sims, linked=(a, b) in pairs)
        for (a, b), sims in sorted(prof.similarities(rule.floor).items())
    ]
    links = [x for x in links if rule(x.similarity, x.linked)]
    sets = DisjointSets(groups)
    used = []
    for link in sorted(links, key=lambda x: (-max(x.similarity.values()), x.left, x.right)):
        if sets.union(link.left, link.right):
            used.append(replace(link, keys=prof.top_keys(link.left, link.right)))
    merged: dict[str, list[str]] = {}
    for s, accs in groups.items():
        merged.setdefault(sets.find(s), []).extend(accs)
    return list(merged.values()), used

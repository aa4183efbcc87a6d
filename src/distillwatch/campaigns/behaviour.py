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

The relational part (profiles and pairwise similarities) is an ibis expression, so it
runs on the same engine as the features.

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
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import pyarrow as pa

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


def similar_pairs(
    profiles: ir.Table,
    floor: float,
    top: int = 3,
    *,
    only: Collection[tuple[str, str]] | None = None,
) -> list[BehaviourLink]:
    """Pairs of groups with at least one family similarity of ``floor`` or more.

    ``only`` restricts the comparison to those pairs (each reported with the smaller name
    first). Without it every pair sharing a key is compared, which grows with the square
    of the number of groups using a common key: callers that need a few pairs say which
    (at 10M events, all pairs of the blocks of risky clusters spilled 22 GB to disk).
    """
    left = profiles.select(s1="subject", family="family", key="key", w1="w")
    right = profiles.select(s2="subject", family2="family", key2="key", w2="w")
    if only is None:
        j = left.join(
            right,
            (left.family == right.family2) & (left.key == right.key2) & (left.s1 < right.s2),
        )
    else:
        wanted = sorted({(min(a, b), max(a, b)) for a, b in only if a != b})
        if not wanted:
            return []
        pairs = ibis.memtable(
            pa.table(
                {"_a": [a for a, _ in wanted], "_b": [b for _, b in wanted]},
                schema=pa.schema([("_a", pa.string()), ("_b", pa.string())]),
            )
        )
        mine = left.join(pairs, left.s1 == pairs._a)
        j = mine.join(
            right,
            (mine._b == right.s2) & (mine.family == right.family2) & (mine.key == right.key2),
        ).drop("_a", "_b")
    j = j.mutate(c=j.w1 * j.w2)
    per_family = j.group_by(["s1", "s2", "family"]).aggregate(sim=j.c.sum())
    best = per_family.group_by(["s1", "s2"]).aggregate(best=per_family.sim.max())
    best = best.filter(best.best >= floor)
    sims = per_family.join(best, ["s1", "s2"]).select("s1", "s2", "family", "sim")
    keep = j.join(best, ["s1", "s2"])
    rank = ibis.row_number().over(group_by=[keep.s1, keep.s2], order_by=ibis.desc(keep.c))
    keep = keep.mutate(r=rank)
    keep = keep.filter(keep.r < top)
    by_pair: dict[tuple[str, str], dict[str, float]] = {}
    for r in sims.to_pyarrow().to_pylist():
        by_pair.setdefault((r["s1"], r["s2"]), {})[r["family"]] = round(min(1.0, r["sim"]), 6)
    found: dict[tuple[str, str], list[tuple[float, str, str]]] = {}
    for r in keep.select("s1", "s2", "family", "key", "c").to_pyarrow().to_pylist():
        found.setdefault((r["s1"], r["s2"]), []).append((-float(r["c"]), r["family"], r["key"]))
    return [
        BehaviourLink(a, b, sims, tuple((f, k) for _, f, k in sorted(found.get((a, b), []))))
        for (a, b), sims in sorted(by_pair.items())
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
    links = [
        BehaviourLink(x.left, x.right, x.similarity, x.keys, (x.left, x.right) in pairs)
        for x in similar_pairs(template_profiles(ev, groups), rule.floor)
    ]
    links = [x for x in links if rule(x.similarity, x.linked)]
    parent = {s: s for s in groups}

    def find(s: str) -> str:
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    used = []
    for link in sorted(links, key=lambda x: (-max(x.similarity.values()), x.left, x.right)):
        ra, rb = find(link.left), find(link.right)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
            used.append(link)
    merged: dict[str, list[str]] = {}
    for s, accs in groups.items():
        merged.setdefault(find(s), []).extend(accs)
    return list(merged.values()), used

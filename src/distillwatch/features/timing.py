"""Per-account timing: how regular the gaps between consecutive requests are.

Scripts send requests at steady rates; people pause, read and type. Gaps are measured
inside an account only (interleaving accounts would hide the rhythm) and only when shorter
than ``max_gap_s`` (a night's sleep is not part of the rhythm).

>>> import ibis, pyarrow as pa, datetime as dt
>>> t0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
>>> ts = [t0 + dt.timedelta(seconds=30 * i) for i in range(20)]
>>> tbl = pa.table({"account_id": ["a"] * 20, "ts": pa.array(ts, pa.timestamp("us", "UTC"))})
>>> row = timing_features(ibis.memtable(tbl)).to_pyarrow().to_pylist()[0]
>>> row["n_gaps"], round(row["gap_cv"], 3)
(19, 0.0)
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from distillwatch.features.clock import epoch_seconds, micros_in_second


def timing_features(ev: ir.Table, *, max_gap_s: float = 3600.0) -> ir.Table:
    """``account_id, n_gaps, gap_mean_s, gap_cv`` (coefficient of variation of gaps)."""
    # The fraction of the second enters twice (epoch_seconds already carries it), as it
    # always has on DuckDB; kept so that results do not change with the engine.
    secs = epoch_seconds(ev.ts) + micros_in_second(ev.ts).cast("float64") / 1e6
    with_gap = ev.select("account_id", "ts", _t=secs)
    w = ibis.window(group_by=with_gap.account_id, order_by=with_gap.ts)
    with_gap = with_gap.mutate(gap=with_gap._t - with_gap._t.lag().over(w))
    gaps = with_gap.filter(with_gap.gap.notnull() & (with_gap.gap < max_gap_s))
    agg = gaps.group_by("account_id").aggregate(
        n_gaps=gaps.count(),
        gap_mean_s=gaps.gap.mean(),
        gap_std_s=gaps.gap.std(how="pop"),
    )
    return agg.mutate(
        gap_cv=(agg.gap_std_s / ibis.greatest(agg.gap_mean_s, 1e-3)).fill_null(0.0)
    ).drop("gap_std_s")

"""Per-account provenance: how old the account was when it started, how it signed up, and
whether it was created in a burst together with other accounts.

>>> import ibis, pyarrow as pa, datetime as dt
>>> t0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
>>> ts = pa.array([t0] * 3, pa.timestamp("us", "UTC"))
>>> tbl = pa.table({"account_id": ["a", "b", "c"], "ts": ts, "account_created_at": ts,
...                 "signup_channel": ["self_serve"] * 3})
>>> rows = provenance_features(ibis.memtable(tbl)).order_by("account_id").to_pyarrow()
>>> rows["burst_size"].to_pylist(), rows["age_days"].to_pylist()
([3, 3, 3], [0.0, 0.0, 0.0])
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from distillwatch.features.clock import epoch_seconds


def provenance_features(ev: ir.Table, *, burst_minutes: int = 30) -> ir.Table:
    """``account_id, created_at, signup_channel, age_days, burst_size``.

    ``burst_size`` counts accounts (this one included) created in the same
    ``burst_minutes`` bucket through the same sign-up channel.
    """
    acc = ev.group_by("account_id").aggregate(
        first_ts=ev.ts.min(),
        created_at=ev.account_created_at.min(),
        signup_channel=ev.signup_channel.min(),  # deterministic on every engine
    )
    secs = epoch_seconds(acc.created_at)
    acc = acc.mutate(
        _bucket=(secs / (burst_minutes * 60)).floor(),
        age_days=(epoch_seconds(acc.first_ts) - secs) / 86400.0,
    )
    w = ibis.window(group_by=[acc._bucket, acc.signup_channel])
    acc = acc.mutate(
        burst_size=ibis.ifelse(acc.created_at.isnull(), 1, acc.account_id.count().over(w))
    )
    return acc.select(
        "account_id",
        "created_at",
        "signup_channel",
        age_days=ibis.greatest(acc.age_days, 0.0),
        burst_size=acc.burst_size.cast("int64"),
    )

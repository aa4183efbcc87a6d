"""Release pivot: a subject moving its traffic to a model within hours of the model's
first appearance in the logs.

A model is *new* when its first request comes more than ``settle_days`` after the start of
the window (so models in use from the start are not mistaken for releases).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from distillwatch.features.clock import epoch_seconds


def pivot_features(ev: ir.Table, *, settle_days: float = 1.0) -> ir.Table:
    """``subject, prior_n, after_n, new_after_n, pivot_share, pivot_lag_h`` per subject.

    ``pivot_lag_h`` is null for subjects that never used a new model.
    """
    start = epoch_seconds(ev.ts.min())
    models = ev.group_by("model").aggregate(model_first=epoch_seconds(ev.ts.min()))
    models = models.mutate(is_new=models.model_first > start.as_scalar() + settle_days * 86400)
    release = models.filter(models.is_new).model_first.min().as_scalar()
    t = ev.select("subject", "model", _s=epoch_seconds(ev.ts)).join(models, "model")
    agg = t.group_by("subject").aggregate(
        prior_n=(t._s < release).sum(),
        after_n=(t._s >= release).sum(),
        new_after_n=(t.is_new & (t._s >= release)).sum(),
        first_new=t._s.min(where=t.is_new),
    )
    return agg.select(
        "subject",
        prior_n=agg.prior_n.fill_null(0).cast("int64"),
        after_n=agg.after_n.fill_null(0).cast("int64"),
        new_after_n=agg.new_after_n.fill_null(0).cast("int64"),
        pivot_share=(
            agg.new_after_n.cast("float64") / ibis.greatest(agg.after_n.cast("float64"), 1.0)
        ).fill_null(0.0),
        pivot_lag_h=(agg.first_new - release).cast("float64") / 3600.0,
    )

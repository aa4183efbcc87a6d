"""Timestamp arithmetic that gives the same numbers on every ibis backend.

``Timestamp.epoch_seconds()`` is not portable: DuckDB returns fractional seconds, Spark's
``unix_timestamp`` drops the fraction, and Spark cannot extract microseconds at all. These
helpers build everything from operations both engines define the same way (truncation to
the second, epoch of a whole second, and a difference in microseconds), so a feature reads
the same bits on DuckDB and on Spark.

>>> import ibis, pyarrow as pa, datetime as dt
>>> t = dt.datetime(2026, 11, 2, 0, 0, 1, 250000, tzinfo=dt.UTC)
>>> tbl = ibis.memtable(pa.table({"ts": pa.array([t], pa.timestamp("us", "UTC"))}))
>>> row = tbl.select(
...     us=epoch_us(tbl.ts), s=epoch_seconds(tbl.ts), w=whole_seconds(tbl.ts),
...     f=micros_in_second(tbl.ts),
... ).to_pyarrow().to_pylist()[0]
>>> row["us"], row["s"], row["w"], row["f"]
(1793577601250000, 1793577601.25, 1793577601, 250000)
"""

from __future__ import annotations

import ibis.expr.types as ir


def micros_in_second(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Microseconds past the whole second (0..999999)."""
    return ts.delta(ts.truncate("s"), unit="microsecond").cast("int64")


def whole_seconds(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Seconds since the Unix epoch, rounded down to the whole second (int64)."""
    return ts.truncate("s").epoch_seconds().cast("int64")


def epoch_us(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Microseconds since the Unix epoch (int64, exact)."""
    return whole_seconds(ts) * 1_000_000 + micros_in_second(ts)


def epoch_seconds(ts: ir.TimestampValue) -> ir.FloatingValue:
    """Seconds since the Unix epoch with the fraction (float64).

    Equal bit for bit to DuckDB's ``epoch(ts)``: the exact microsecond count divided by
    1e6 in double precision.
    """
    return epoch_us(ts).cast("float64") / 1e6

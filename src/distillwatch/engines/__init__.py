"""Engines: where the relational part of a scan runs.

The feature, graph-edge and evidence queries are ibis expressions written once. An
engine supplies the connection they run on and the tables they read, and runs the
per-batch text step (an Arrow batch in, an Arrow batch out) where its data lives:

- ``duckdb`` (default): embedded, in this process, spilling to the scan's work directory;
  the text step runs in-process (a process pool on large inputs).
- ``spark``: PySpark (the ``spark`` extra, Java 17); the text step runs on the executors
  through ``DataFrame.mapInArrow``. ``--spark-master`` picks the cluster.

Engines are named in :data:`ENGINES`, so options and config files can name them.
Constructors store their options; nothing connects until :meth:`Engine.connect`.

>>> engine = make_engine("duckdb")
>>> engine.name, sorted(ENGINES)
('duckdb', ['duckdb', 'spark'])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import ibis.expr.types as ir
import pyarrow as pa

from distillwatch.errors import UsageError

Progress = Callable[[str], None]


class Engine(Protocol):
    """What the scan needs from an engine."""

    name: str

    def connect(self, work_dir: Path) -> Any:
        """Open an ibis backend; scratch files go under *work_dir*."""
        ...

    def add_text_features(self, con: Any, events: pa.Table, progress: Progress) -> pa.Table:
        """``events`` with the per-request text feature columns appended (same row order)."""
        ...

    def events_table(self, con: Any, events: pa.Table) -> ir.Table:
        """The Arrow events as a table of *con* (not yet materialised)."""
        ...

    def materialize(self, con: Any, name: str, expr: ir.Table) -> ir.Table:
        """Compute *expr* once and keep it as table *name* for the queries that follow."""
        ...

    def close(self, con: Any) -> None:
        """Release what :meth:`connect` and :meth:`materialize` took."""
        ...


def _duckdb(options: Mapping[str, Any]) -> Engine:
    from distillwatch.engines.duckdb import DuckDBEngine

    return DuckDBEngine(**options)


def _spark(options: Mapping[str, Any]) -> Engine:
    from distillwatch.engines.spark import SparkEngine

    return SparkEngine(**options)


#: engine name -> factory taking the engine's options
ENGINES: dict[str, Callable[[Mapping[str, Any]], Engine]] = {
    "duckdb": _duckdb,
    "spark": _spark,
}


def make_engine(name: str, **options: Any) -> Engine:
    """The engine called *name*, built with *options* (nothing is started yet).

    >>> make_engine("oracle")
    Traceback (most recent call last):
    ...
    distillwatch.errors.UsageError: unknown engine 'oracle'; choose one of: duckdb, spark
    """
    try:
        factory = ENGINES[name]
    except KeyError:
        raise UsageError(
            f"unknown engine {name!r}; choose one of: {', '.join(sorted(ENGINES))}"
        ) from None
    try:
        return factory(options)
    except TypeError as exc:
        raise UsageError(f"engine {name!r} does not take these options: {exc}") from exc

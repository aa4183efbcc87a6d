"""The embedded default engine: DuckDB in this process.

>>> import tempfile, pathlib, pyarrow as pa
>>> engine = DuckDBEngine()
>>> con = engine.connect(pathlib.Path(tempfile.mkdtemp()))
>>> t = engine.materialize(con, "t", engine.events_table(con, pa.table({"x": [1, 2]})))
>>> t.x.sum().to_pyarrow().as_py()
3
>>> engine.close(con)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from distillwatch.engines import Progress

#: DuckDB spills to the scan's work directory beyond this
DEFAULT_MEMORY_LIMIT = "2GB"


class DuckDBEngine:
    """DuckDB with a memory limit, spilling to the work directory.

    ``workers`` is the size of the process pool for the text step on large inputs
    (default: the machine's cores).
    """

    name = "duckdb"

    def __init__(
        self, memory_limit: str = DEFAULT_MEMORY_LIMIT, workers: int | None = None
    ) -> None:
        self.memory_limit = memory_limit
        self.workers = workers

    def connect(self, work_dir: Path) -> Any:
        # A database file in the scan's work directory, not an in-memory one: tables beyond
        # the memory limit then live compressed on disk (the 10M-event spooled scan spilled
        # over 37 GB of uncompressed blocks from an in-memory database).
        work_dir.mkdir(parents=True, exist_ok=True)
        return ibis.duckdb.connect(
            database=str(work_dir / "scan.duckdb"),
            temp_directory=str(work_dir),
            memory_limit=self.memory_limit,
        )

    def add_text_features(self, con: Any, events: pa.Table, progress: Progress) -> pa.Table:
        from distillwatch.pipeline import add_text_features

        return add_text_features(events, progress, workers=self.workers)

    def events_table(self, con: Any, events: pa.Table) -> ir.Table:
        # read in place by DuckDB when materialised: no intermediate copy
        return ibis.memtable(events)

    def materialize(self, con: Any, name: str, expr: ir.Table) -> ir.Table:
        table: ir.Table = con.create_table(name, expr, overwrite=True)
        return table

    def close(self, con: Any) -> None:
        con.disconnect()

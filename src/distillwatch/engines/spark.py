"""PySpark engine: the same ibis expressions on a Spark cluster (or ``local[N]``).

Needs the ``spark`` extra (``pip install 'distillwatch[spark]'``) and Java 17; both are
imported or started only by :meth:`SparkEngine.connect`. Under ``spark-submit`` the master
and the cluster's settings come from spark-submit; otherwise from ``master`` (default:
``$DISTILLWATCH_SPARK_MASTER``, else ``local[*]``) and ``conf``.

The per-request text step runs on the executors through ``DataFrame.mapInArrow`` with the
same :func:`~distillwatch.features.text.text_features` the DuckDB engine calls, so the
executors need the ``distillwatch`` package installed (in local mode: this interpreter).

>>> engine = SparkEngine(master="local[2]", conf={"spark.driver.memory": "1g"})
>>> engine.settings()["spark.master"], engine.settings()["spark.driver.memory"]
('local[2]', '1g')
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.engines import Progress
from distillwatch.errors import DetectionError, UsageError

MASTER_ENV = "DISTILLWATCH_SPARK_MASTER"
#: always set: the features read timestamps in UTC; Arrow moves the data to and from Python
REQUIRED_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
#: local mode only, unless given (the driver's memory comes from :func:`local_driver_memory`):
#: 16 shuffle partitions, which adaptive execution coalesces on small inputs, no web UI
LOCAL_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "16",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
LOCAL_DRIVER_GB = (2, 8)  # a quarter of the machine's memory, within these bounds


def local_driver_memory(total_bytes: int | None = None) -> str:
    """``spark.driver.memory`` for local mode: a quarter of the machine's memory, 2g to 8g.

    Local mode runs every task in the driver's JVM, so its heap bounds what a sort or a
    join can hold before spilling; a fixed 2g ran out of execution memory at 10M events.

    >>> local_driver_memory(24 * 2**30), local_driver_memory(4 * 2**30)
    ('6g', '2g')
    """
    if total_bytes is None:
        try:
            total_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            total_bytes = 0
    low, high = LOCAL_DRIVER_GB
    return f"{min(high, max(low, round(total_bytes / 4 / 2**30)))}g"


JAVA_HOMES = ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/java-17-openjdk-arm64")


def java_available() -> bool:
    """Whether a Java runtime can be found (``JAVA_HOME`` or ``java`` on the PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None or any(Path(h).exists() for h in JAVA_HOMES)


def _submitted() -> bool:
    """Whether this process is a driver started by spark-submit (which set the master)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def _text_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: text features of each batch (Spark may hand large strings)."""
    from distillwatch.features.text import text_features

    for batch in batches:
        cols = [
            c.cast(pa.string()) if pa.types.is_large_string(c.type) else c for c in batch.columns
        ]
        yield text_features(pa.RecordBatch.from_arrays(cols, names=batch.schema.names))


def _zoned(table: ir.Table, zones: Mapping[str, str]) -> ir.Table:
    """*table* with its timestamp columns typed as in *zones* (column -> time zone).

    Spark's TIMESTAMP is an instant, but ibis reads it back without a zone; saying which
    zone it is makes results carry the same zone-aware times as on DuckDB. (A no-op cast
    in Spark's SQL.)
    """
    if not zones:
        return table
    return table.mutate(
        **{c: table[c].cast(dt.Timestamp(timezone=tz, scale=6)) for c, tz in zones.items()}
    )


class SparkEngine:
    """Spark through ibis' pyspark backend.

    ``master``: a Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``, ...);
    ``conf``: extra Spark settings; ``stop_on_close``: stop the session after the scan
    (leave it running when several scans share one process, as tests do).
    """

    name = "spark"

    def __init__(
        self,
        master: str | None = None,
        conf: Mapping[str, str] | None = None,
        *,
        app_name: str = "distillwatch-scan",
        stop_on_close: bool = False,
    ) -> None:
        self.master = master
        self.conf = dict(conf or {})
        self.app_name = app_name
        self.stop_on_close = stop_on_close
        self._n_raw = 0  # each Arrow table gets its own view (events, prompts)

    def settings(self) -> dict[str, str]:
        """The Spark settings :meth:`connect` applies (``spark.master`` only if known)."""
        master = self.master or os.environ.get(MASTER_ENV)
        out: dict[str, str] = {}
        if master:
            out["spark.master"] = master
        if master.startswith("local") if master else not _submitted():
            out["spark.driver.memory"] = local_driver_memory()
            out.update(LOCAL_CONF)
        out.update(self.conf)
        out.update(REQUIRED_CONF)
        return out

    def _session(self) -> Any:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise UsageError(
                "--engine spark needs PySpark: pip install 'distillwatch[spark]' "
                "(and a Java 17 runtime)"
            ) from exc
        if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
            home = next((h for h in JAVA_HOMES if Path(h).exists()), None)
            if home is None:
                raise UsageError(
                    "--engine spark needs Java 17: install it (Debian: openjdk-17-jre-headless)"
                    " or set JAVA_HOME"
                )
            os.environ["JAVA_HOME"] = home
        settings = self.settings()
        if settings.get("spark.master", "local").startswith("local") and not _submitted():
            # local Python workers must run this interpreter (it has distillwatch); on a
            # cluster, spark.pyspark.python or PYSPARK_PYTHON names the executors' one
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder.appName(self.app_name)
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            return builder.getOrCreate()
        except Exception as exc:  # py4j/JVM start-up errors have no common base class
            raise UsageError(
                f"Spark did not start ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                "check Java 17, the master URL and the Spark settings"
            ) from exc

    def connect(self, work_dir: Path) -> Any:
        import ibis

        session = self._session()
        for key, value in REQUIRED_CONF.items():  # an existing session keeps its own conf
            session.conf.set(key, value)
        return ibis.pyspark.connect(session)

    def add_text_features(self, con: Any, events: pa.Table, progress: Progress) -> pa.Table:
        from pyspark.sql.pandas.types import from_arrow_schema

        from distillwatch.features.text import TEXT_FEATURE_SCHEMA

        progress("text")
        cols = events.select(["request_id", "prompt", "system_prompt"])
        df = con._session.createDataFrame(cols)
        out = df.mapInArrow(_text_batches, from_arrow_schema(TEXT_FEATURE_SCHEMA))
        try:
            tf = out.toArrow()
        except Exception as exc:  # a Python error on an executor arrives wrapped by py4j
            raise DetectionError(
                f"the text step failed on Spark: {str(exc).splitlines()[0]}"
            ) from exc
        # back to the events' row order (request ids are unique after ingest)
        order = pc.index_in(events.column("request_id"), value_set=tf.column("request_id"))
        if order.null_count:
            raise DetectionError("the text step on Spark lost rows; rerun with --debug")
        tf = tf.take(order).cast(TEXT_FEATURE_SCHEMA)
        for name in tf.column_names:
            if name != "request_id":
                events = events.append_column(name, tf.column(name))
        return events

    def events_table(self, con: Any, events: pa.Table) -> ir.Table:
        self._n_raw += 1
        name = f"distillwatch_raw_{self._n_raw}"
        con._session.createDataFrame(events).createOrReplaceTempView(name)
        zones = {
            f.name: f.type.tz
            for f in events.schema
            if pa.types.is_timestamp(f.type) and f.type.tz is not None
        }
        return _zoned(con.table(name), zones)

    def materialize(self, con: Any, name: str, expr: ir.Table) -> ir.Table:
        from pyspark import StorageLevel

        view = f"distillwatch_{name}"
        con.create_view(view, expr, overwrite=True)
        con._session.catalog.cacheTable(view, StorageLevel.MEMORY_AND_DISK)
        zones = {
            name: dtype.timezone
            for name, dtype in expr.schema().items()
            if dtype.is_timestamp() and dtype.timezone is not None
        }
        return _zoned(con.table(view), zones)

    def close(self, con: Any) -> None:
        session = con._session
        for t in session.catalog.listTables():
            if t.isTemporary and t.name.startswith("distillwatch_"):
                session.catalog.uncacheTable(t.name)
                session.catalog.dropTempView(t.name)
        if self.stop_on_close:
            session.stop()

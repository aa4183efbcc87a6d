"""Spark tests: PySpark in ``local[2]`` on the machine's Java runtime.

Skipped with the reason when PySpark (the ``spark`` extra) or Java is missing; failed
instead when ``DISTILLWATCH_REQUIRE_SPARK=1`` (as in CI). One Spark session serves the
in-process tests; the parity test runs the real command in its own process.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import run_cli

REQUIRE_ENV = "DISTILLWATCH_REQUIRE_SPARK"
MASTER = "local[2]"
#: settings for tiny inputs: no adaptive re-planning or code generation, a quick-start JIT
#: (a 6k-event scan: ~65 s instead of ~140 s on 2 cores; results are the same)
SMALL_INPUT_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
}


def spark_missing() -> str | None:
    """Why Spark cannot run here, or None."""
    from distillwatch.engines.spark import java_available

    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed (pip install -e '.[spark]')"
    if not java_available():
        return "no Java runtime (install openjdk-17-jre-headless or set JAVA_HOME)"
    return None


def need_spark() -> None:
    """Skip (or fail, under DISTILLWATCH_REQUIRE_SPARK=1) when Spark cannot run."""
    why = spark_missing()
    if why is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{why}, and {REQUIRE_ENV}=1 requires the Spark tests")
    pytest.skip(why)


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[object]:
    """A SparkEngine on local[2]; its session lives for the test session."""
    need_spark()
    from distillwatch.engines.spark import SparkEngine

    engine = SparkEngine(master=MASTER, conf=SMALL_INPUT_CONF)
    yield engine
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


@pytest.fixture(scope="session")
def tiny_traffic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulated days at scale 0.03 (seed 3): ~6k events, 80 accounts, some campaigns."""
    out = tmp_path_factory.mktemp("spark-sim") / "D"
    run_cli("simulate", "--out", str(out), "--seed", "3", "--days", "2", "--scale", "0.03")
    return out / "events.jsonl.gz"

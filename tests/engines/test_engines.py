"""Engine registry and options; none of these start Spark."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests.conftest import BIN

from distillwatch.engines import ENGINES, make_engine
from distillwatch.engines.spark import (
    LOCAL_CONF,
    MASTER_ENV,
    REQUIRED_CONF,
    SparkEngine,
    local_driver_memory,
)
from distillwatch.errors import UsageError


def test_registry_names_every_engine():
    assert sorted(ENGINES) == ["duckdb", "spark"]
    assert make_engine("duckdb").name == "duckdb"
    assert make_engine("spark", master="local[1]").name == "spark"


def test_unknown_engine_and_options_are_usage_errors():
    with pytest.raises(UsageError, match="choose one of: duckdb, spark"):
        make_engine("postgres")
    with pytest.raises(UsageError, match="does not take"):
        make_engine("duckdb", master="local[2]")


def test_local_master_gets_small_defaults_and_user_settings_win(monkeypatch):
    monkeypatch.delenv(MASTER_ENV, raising=False)
    s = SparkEngine(master="local[2]", conf={"spark.driver.memory": "3g"}).settings()
    assert s["spark.master"] == "local[2]"
    assert s["spark.driver.memory"] == "3g"
    assert s["spark.ui.enabled"] == LOCAL_CONF["spark.ui.enabled"]
    for key, value in REQUIRED_CONF.items():
        assert s[key] == value


def test_cluster_master_from_env_gets_no_local_defaults(monkeypatch):
    monkeypatch.setenv(MASTER_ENV, "spark://head:7077")
    s = SparkEngine().settings()
    assert s["spark.master"] == "spark://head:7077"
    assert "spark.driver.memory" not in s
    # the time zone cannot be overridden: features read timestamps in UTC
    s = SparkEngine(conf={"spark.sql.session.timeZone": "Europe/Paris"}).settings()
    assert s["spark.sql.session.timeZone"] == "UTC"


def test_no_master_anywhere_leaves_it_to_spark_submit(monkeypatch):
    monkeypatch.delenv(MASTER_ENV, raising=False)
    s = SparkEngine().settings()
    assert "spark.master" not in s
    assert s["spark.driver.memory"] == local_driver_memory()


def test_local_driver_memory_is_a_quarter_of_the_machine_within_bounds():
    gib = 2**30
    assert local_driver_memory(24 * gib) == "6g"
    assert local_driver_memory(2 * gib) == "2g"  # never below 2g
    assert local_driver_memory(256 * gib) == "8g"  # nor above 8g
    assert local_driver_memory(0) == "2g"  # memory unknown


def test_missing_pyspark_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(UsageError, match=r"pip install 'distillwatch\[spark\]'"):
        SparkEngine(master="local[1]").connect(tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--spark-master", "local[2]"], "need --engine spark"),
        (["--engine", "spark", "--spark-conf", "novalue"], "KEY=VALUE"),
        (["--engine", "flink"], "unknown engine 'flink'"),
    ],
)
def test_scan_rejects_engine_options_with_exit_2(tmp_path, args, message):
    events = tmp_path / "e.jsonl"
    events.write_text(
        '{"request_id": "r", "ts": 1767571200, "account_id": "a", "model": "m", "prompt": "x"}\n'
    )
    done = subprocess.run(
        [str(BIN), "scan", str(events), "--out", str(tmp_path / "out"), "-q", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr


def test_under_spark_submit_the_cluster_settings_are_left_alone(monkeypatch):
    monkeypatch.delenv(MASTER_ENV, raising=False)
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "40000")
    s = SparkEngine().settings()
    assert "spark.master" not in s
    assert "spark.sql.shuffle.partitions" not in s and "spark.driver.memory" not in s
    assert s["spark.sql.session.timeZone"] == "UTC"

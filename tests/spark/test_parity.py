"""The acceptance bar of the Spark engine: the same scan gives the same verdicts.

``distillwatch scan --engine spark --spark-master local[2]`` and the default DuckDB scan
of the same input must write the same accounts.csv and campaigns.csv: the same rows,
flags, campaigns and evidence columns, risks equal to 1e-9.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

from tests.conftest import run_cli
from tests.spark.conftest import MASTER, SMALL_INPUT_CONF, need_spark

RISKS = {"risk", "own_risk"}


def _rows(path: Path, key: str) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return {r[key]: r for r in csv.DictReader(f)}


def _compare(duck: Path, spark: Path, key: str) -> None:
    a, b = _rows(duck, key), _rows(spark, key)
    assert a, f"{duck} is empty"
    assert sorted(a) == sorted(b)
    for k, row in a.items():
        other = b[k]
        assert row.keys() == other.keys()
        for col, value in row.items():
            if col in RISKS:
                assert abs(float(value) - float(other[col])) <= 1e-9, (k, col, value, other[col])
            else:
                assert value == other[col], (k, col, value, other[col])


def _spark_scan(events: Path, out: Path, *extra: str) -> None:
    """``scan`` on Spark in local mode with the small-input settings."""
    conf = [a for k, v in SMALL_INPUT_CONF.items() for a in ("--spark-conf", f"{k}={v}")]
    run_cli(
        "scan",
        str(events),
        "--out",
        str(out),
        "-q",
        *extra,
        "--engine",
        "spark",
        "--spark-master",
        MASTER,
        *conf,
    )


def test_spark_scan_equals_duckdb_scan(tiny_traffic: Path, tmp_path: Path) -> None:
    need_spark()
    duck, spark = tmp_path / "duckdb", tmp_path / "spark"
    run_cli("scan", str(tiny_traffic), "--out", str(duck), "-q")
    _spark_scan(tiny_traffic, spark)
    _compare(duck / "accounts.csv", spark / "accounts.csv", "account_id")
    _compare(duck / "campaigns.csv", spark / "campaigns.csv", "campaign_id")
    # the CSVs round risks to 6 digits: compare the full-precision results too
    full = [_risks(d / "result.json.gz") for d in (duck, spark)]
    assert full[0].keys() == full[1].keys()
    worst = max(abs(full[0][k] - full[1][k]) for k in full[0])
    assert worst <= 1e-9, worst
    rows = _rows(duck / "accounts.csv", "account_id").values()
    assert any(r["flagged"] == "true" for r in rows), "the input must hold extraction"
    assert any(r["campaign_id"] for r in rows)


def _risks(path: Path) -> dict[str, float]:
    """Full-precision risk of every account and campaign in a scan's result.json.gz."""
    result = json.loads(gzip.decompress(path.read_bytes()))["result"]
    out = {"a:" + a["account_id"]: float(a["risk"]) for a in result["accounts"]}
    out.update({"c:" + c["campaign_id"]: float(c["risk"]) for c in result["campaigns"]})
    return out


def test_spark_reads_the_spool_with_the_same_verdicts(tiny_traffic: Path, tmp_path: Path) -> None:
    """``--spool`` on Spark: the Parquet files the ingest streamed are read by Spark."""
    need_spark()
    duck, spark = tmp_path / "duckdb", tmp_path / "spark"
    run_cli("scan", str(tiny_traffic), "--out", str(duck), "-q", "--in-memory")
    _spark_scan(tiny_traffic, spark, "--spool")
    _compare(duck / "accounts.csv", spark / "accounts.csv", "account_id")
    _compare(duck / "campaigns.csv", spark / "campaigns.csv", "campaign_id")

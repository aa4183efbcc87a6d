"""One small simulated data set shared by the sim tests (generated once per session)."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from distillwatch.sim import SimConfig, simulate


class Dataset:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.summary = simulate(SimConfig(out=out, seed=11, days=7, scale=0.1))
        with gzip.open(out / "events.jsonl.gz", "rb") as fh:
            self.lines = fh.read().splitlines()
        self.events: list[dict[str, Any]] = [orjson.loads(line) for line in self.lines]
        with open(out / "truth.csv", newline="") as fh:
            self.truth = {row["account_id"]: row for row in csv.DictReader(fh)}

    def label(self, event: dict[str, Any]) -> str:
        return str(self.truth[event["account_id"]]["label"])


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return Dataset(tmp_path_factory.mktemp("sim"))

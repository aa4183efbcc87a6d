"""A small simulated week shared by the online tests (simulated once per session)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from distillwatch.ingest import load_events
from distillwatch.pipeline import add_text_features
from distillwatch.sim.engine import SimConfig, simulate


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("online-sim")
    simulate(SimConfig(out=out, seed=11, days=3, scale=0.06))
    return out


@pytest.fixture(scope="session")
def sim_events(sim_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    q = tmp_path_factory.mktemp("q") / "q.jsonl"
    events, _ = load_events([sim_dir / "events.jsonl.gz"], q, progress=False)
    return add_text_features(events, workers=1)

"""sim: labelled synthetic API traffic built from real prompt corpora.

``simulate(SimConfig(out=...))`` writes ``events.jsonl.gz`` (canonical events, sorted
by time) and ``truth.csv`` (the label, persona, campaign and actor of every account).
Personas and their parameters are data (``sim/data/*.toml``, docs/simulator.md).

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> summary = simulate(SimConfig(out=out, seed=1, days=1, scale=0.01))
>>> summary.n_events > 0 and (out / "truth.csv").read_text().startswith("account_id,label")
True
"""

from __future__ import annotations

from distillwatch.sim.engine import SimConfig, SimSummary, parse_mix, simulate
from distillwatch.sim.models import ModelSpec, load_models

__all__ = ["ModelSpec", "SimConfig", "SimSummary", "load_models", "parse_mix", "simulate"]

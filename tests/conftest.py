"""Fixtures shared across test packages.

``small_scan``: one small simulated week scanned by the real commands a user runs
(``simulate`` then ``scan``), built once per test session: the report's browser tests and
the console's tests read it (and never write into it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "distillwatch"


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the installed ``distillwatch`` command; fail the test with its stderr if it fails."""
    done = subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"distillwatch {' '.join(args)} failed:\n{done.stderr}"
    return done


@pytest.fixture(scope="session")
def small_scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output directory of a scan of 2 simulated days (seed 5, scale 0.1)."""
    base = tmp_path_factory.mktemp("small-scan")
    sim, scan = base / "D", base / "S"
    run_cli("simulate", "--out", str(sim), "--seed", "5", "--scale", "0.1", "--days", "2")
    run_cli("scan", str(sim / "events.jsonl.gz"), "--out", str(scan), "-q")
    assert (scan / "report.html").is_file(), sorted(p.name for p in scan.iterdir())
    return scan

"""The three-provider sharing demo, small: real simulator, real scans, real hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillwatch.demo.sharing import ORGS, run_sharing_demo


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("demo-sharing")
    return run_sharing_demo(
        out, seed=101, scale=0.2, days=3, stagger_days=1, cadence_hours=3, horizon_hours=12,
        say=lambda _m: None,
    )  # fmt: skip


def test_every_provider_is_measured_alone_and_shared(report) -> None:  # type: ignore[no-untyped-def]
    seen = {(r.name, r.mode) for r in report.runs}
    assert seen == {(o, m) for o in ORGS for m in ("alone", "shared")}
    for r in report.runs:
        assert 0 <= r.served_before_flag <= r.n_requests
        assert r.n_accounts > 0 and r.scans >= 1
        assert all(t > r.arrival for t in r.flagged_at.values())


def test_no_provider_prompt_reaches_the_hub(report) -> None:  # type: ignore[no-untyped-def]
    assert report.n_published >= 1  # something was shared, so the check means something
    assert report.n_prompts_checked > 1000
    assert report.prompt_leaks == 0
    assert Path(report.hub_db).stat().st_size > 0

from __future__ import annotations

import json

import pytest
import stix2

from distillwatch.errors import OutputError
from distillwatch.outputs import OUTPUT_FILES, write_outputs
from distillwatch.outputs.tables import accounts_csv
from distillwatch.results_io import read_result


def test_writes_the_six_files_into_a_new_directory(scan_result, tmp_path):
    out = tmp_path / "deep" / "scan"
    paths = write_outputs(scan_result, out, org_name="acme-ai")
    assert (
        set(paths)
        == set(OUTPUT_FILES)
        == {
            "accounts.csv",
            "campaigns.csv",
            "campaigns.json",
            "report.html",
            "intel.json",
            "result.json.gz",
        }
    )
    assert {p.parent for p in paths.values()} == {out}
    assert paths["accounts.csv"].read_text(encoding="utf-8") == accounts_csv(scan_result)
    assert paths["report.html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    bundle = json.loads(paths["intel.json"].read_text(encoding="utf-8"))
    assert any(o["type"] == "campaign" for o in bundle["objects"])
    stix2.parse(bundle, allow_custom=False)
    doc = json.loads(paths["campaigns.json"].read_text(encoding="utf-8"))
    flagged = [c.campaign_id for c in scan_result.campaigns if c.flagged]
    assert [c["campaign_id"] for c in doc["campaigns"]] == flagged
    assert read_result(out) == (read_result(paths["result.json.gz"])[0], scan_result)
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)  # no temp files left


def test_rerun_overwrites_with_identical_files(scan_result, tmp_path):
    first = {k: p.read_bytes() for k, p in write_outputs(scan_result, tmp_path).items()}
    second = {k: p.read_bytes() for k, p in write_outputs(scan_result, tmp_path).items()}
    assert first == second


def test_directory_that_cannot_be_created(scan_result, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    with pytest.raises(OutputError, match="cannot create output directory") as info:
        write_outputs(scan_result, blocker / "scan")
    assert str(blocker / "scan") in str(info.value)
    assert "--out" in str(info.value)


def test_file_that_cannot_be_written(scan_result, tmp_path):
    # a directory squatting on the report's name cannot be replaced (even by root)
    (tmp_path / "report.html").mkdir()
    with pytest.raises(OutputError, match=r"report\.html") as info:
        write_outputs(scan_result, tmp_path)
    assert "choose another --out directory" in str(info.value)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_read_only_directory(scan_result, tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="cannot write"):
            write_outputs(scan_result, out)
    finally:
        out.chmod(0o700)


def test_result_file_that_cannot_be_written_leaves_no_temp_file(scan_result, tmp_path):
    (tmp_path / "result.json.gz").mkdir()
    with pytest.raises(OutputError, match=r"result\.json\.gz") as info:
        write_outputs(scan_result, tmp_path)
    assert "choose another --out directory" in str(info.value)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

"""The ``distillwatch intel`` commands as a user runs them (keys, build, push, pull)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta

import pytest
import typer
from tests.intel.conftest_publish import pub_medallion, write_scan
from typer.testing import CliRunner

from distillwatch.cli.intel_cmd import intel_app, register
from distillwatch.intel.client import TOKEN_ENV
from distillwatch.intel.keys import Keyring, load_keyring, new_key, save_keyring

__all__ = ["pub_medallion"]  # the fixture, imported for pytest to find


@pytest.fixture
def cli():
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:  # a group, so that `intel` stays a sub-command
        pass

    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str | None] | None = None):
        return runner.invoke(app, list(args), env=env or {TOKEN_ENV: None})

    return invoke


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_register_adds_the_intel_group():
    app = typer.Typer()
    register(app)
    assert [g.typer_instance for g in app.registered_groups] == [intel_app]


def test_keygen_writes_a_private_file_and_never_overwrites(cli, tmp_path):
    key_file = tmp_path / "keys" / "isac.json"
    result = cli("intel", "keygen", "--out", str(key_file), "--group", "frontier-isac")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    ring = load_keyring(key_file)
    assert ring.group == "frontier-isac" and len(ring.keys) == 1
    assert ring.keys[0].key_id in result.stdout
    secret_text = json.loads(key_file.read_text())["keys"][0]["secret"]
    assert secret_text not in result.output  # the secret is never printed
    before = key_file.read_bytes()
    again = cli("intel", "keygen", "--out", str(key_file), "--group", "frontier-isac")
    assert again.exit_code == 2
    assert "exists" in one_error_line(again)
    assert key_file.read_bytes() == before


def test_keygen_refuses_a_group_name_unfit_for_key_ids(cli, tmp_path):
    result = cli("intel", "keygen", "--out", str(tmp_path / "k"), "--group", "o'brien labs")
    assert result.exit_code == 2 and "--group" in one_error_line(result)
    assert not (tmp_path / "k").exists()


def test_rotate_appends_and_the_new_key_is_current(cli, tmp_path):
    key_file = tmp_path / "isac.json"
    old = new_key("isac", 90, start=datetime.now(UTC) - timedelta(days=30))
    save_keyring(Keyring("isac", [old]), key_file)
    result = cli("intel", "key", "rotate", str(key_file), "--valid-days", "45")
    assert result.exit_code == 0, result.output
    ring = load_keyring(key_file)
    assert len(ring.keys) == 2 and ring.keys[0].key_id == old.key_id
    assert ring.current().key_id == ring.keys[1].key_id != old.key_id
    assert ring.keys[1].valid_until - ring.keys[1].valid_from == timedelta(days=45)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("content", ["{not json", '{"format": "other"}', ""])
def test_corrupt_key_file_is_one_line_and_exit_2(cli, tmp_path, content):
    key_file = tmp_path / "bad.json"
    key_file.write_text(content)
    rotate = cli("intel", "key", "rotate", str(key_file))
    assert rotate.exit_code == 2 and str(key_file) in one_error_line(rotate)
    scan = write_scan(tmp_path / "scan")
    build = cli("intel", "build", str(scan), "--org", "acme", "--key-file", str(key_file))
    assert build.exit_code == 2 and str(key_file) in one_error_line(build)


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "isac.json"
    start = datetime.now(UTC) - timedelta(days=1)
    save_keyring(Keyring("isac", [new_key("isac", 90, start=start)]), path)
    return path


def test_build_writes_intel_json_into_the_scan_dir(cli, tmp_path, key_file):
    scan = write_scan(tmp_path / "scan")
    result = cli("intel", "build", str(scan), "--org", "Acme AI", "--key-file", str(key_file))
    assert result.exit_code == 0, result.output
    bundle = json.loads((scan / "intel.json").read_text())
    assert sum(o["type"] == "campaign" for o in bundle["objects"]) == 3
    assert "3 campaigns, 6 indicators" in result.stdout


def test_build_options(cli, tmp_path, key_file):
    scan = write_scan(tmp_path / "scan")
    out = tmp_path / "elsewhere.json"
    result = cli(
        "intel", "build", str(scan / "campaigns.json"), "--org", "Acme AI",
        "--key-file", str(key_file), "--tlp", "amber+strict", "--ttl-days", "7",
        "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    objects = json.loads(out.read_text())["objects"]
    strict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
    indicators = [o for o in objects if o["type"] == "indicator"]
    assert indicators and all(o["object_marking_refs"] == [strict] for o in indicators)
    for o in indicators:
        start = datetime.fromisoformat(o["valid_from"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(o["valid_until"].replace("Z", "+00:00"))
        assert end - start == timedelta(days=7)


@pytest.mark.parametrize("level", ["red", "TLP:RED"])
def test_build_refuses_tlp_red(cli, tmp_path, key_file, level):
    scan = write_scan(tmp_path / "scan")
    result = cli(
        "intel", "build", str(scan), "--org", "a", "--key-file", str(key_file), "--tlp", level
    )
    assert result.exit_code == 2
    assert "TLP:RED" in one_error_line(result)
    assert not (scan / "intel.json").exists()


def test_push_without_a_token_says_how_to_give_one(cli, tmp_path):
    bundle = tmp_path / "b.json"
    bundle.write_text('{"type": "bundle", "id": "bundle--x", "objects": []}')
    result = cli("intel", "push", str(bundle), "--hub", "http://127.0.0.1:9/", "--collection", "c")
    assert result.exit_code == 2
    line = one_error_line(result)
    assert TOKEN_ENV in line and "--token-file" in line


def test_no_token_flag_exists(cli):
    result = cli("intel", "push", "b.json", "--hub", "h", "--collection", "c", "--token", "x")
    assert result.exit_code == 2 and "No such option" in result.output


def test_push_and_pull_commands_against_medallion(cli, tmp_path, key_file, pub_medallion):
    scan = write_scan(tmp_path / "scan")
    assert (
        cli("intel", "build", str(scan), "--org", "Acme AI", "--key-file", str(key_file)).exit_code
        == 0
    )
    bundle = json.loads((scan / "intel.json").read_text())
    # medallion 3.0.0 cannot serve extension-definitions (see test_publish_hub.bundle_file)
    bundle["objects"] = [o for o in bundle["objects"] if o["type"] != "extension-definition"]
    (scan / "intel.json").write_text(json.dumps(bundle))
    token_file = tmp_path / "token"
    token_file.write_text(pub_medallion.token + "\n")
    coll = pub_medallion.collections["cli"]
    pushed = cli(
        "intel", "push", str(scan / "intel.json"), "--hub", pub_medallion.url,
        "--collection", coll, "--token-file", str(token_file),
    )  # fmt: skip
    assert pushed.exit_code == 0, pushed.output
    n = len(bundle["objects"])
    assert f"{n} of {n} objects accepted" in pushed.stdout
    out = tmp_path / "intel"
    env = {TOKEN_ENV: pub_medallion.token}
    pulled = cli(
        "intel",
        "pull",
        "--hub",
        pub_medallion.url,
        "--collection",
        coll,
        "--out",
        str(out),
        env=env,
    )
    assert pulled.exit_code == 0, pulled.output
    assert f"{coll}: " in pulled.stdout and (out / "state.json").is_file()
    wrong = cli(
        "intel",
        "pull",
        "--hub",
        pub_medallion.url,
        "--out",
        str(out),
        env={TOKEN_ENV: "member:nope"},
    )
    assert wrong.exit_code == 1 and "HTTP 401" in one_error_line(wrong)
    bad_since = cli(
        "intel",
        "pull",
        "--hub",
        pub_medallion.url,
        "--out",
        str(out),
        "--since",
        "yesterday",
        env=env,
    )
    assert bad_since.exit_code == 2 and "--since" in one_error_line(bad_since)

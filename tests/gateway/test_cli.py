"""``distillwatch gateway ...`` (the lead wires ``register`` into cli/main.py)."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from distillwatch.cli.gateway_cmd import register
from distillwatch.gateway.keys import hash_key


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """distillwatch"""

    register(app)
    return app


def test_key_add_list_revoke(tmp_path):
    keys = tmp_path / "keys.json"
    app, run = _app(), CliRunner()
    added = run.invoke(
        app, ["gateway", "key", "add", "prom", "--role", "metrics", "--keys", str(keys)]
    )
    assert added.exit_code == 0, added.output
    key = next(line for line in added.stdout.splitlines() if line.startswith("dwg_"))
    assert "will not be shown again" in added.stdout
    listed = run.invoke(app, ["gateway", "key", "list", "--keys", str(keys)])
    assert listed.exit_code == 0 and "prom" in listed.stdout and "metrics" in listed.stdout
    assert key not in listed.stdout and hash_key(key)[:12] in listed.stdout
    revoked = run.invoke(app, ["gateway", "key", "revoke", "prom", "--keys", str(keys)])
    assert revoked.exit_code == 0 and "revoked 1 key(s)" in revoked.stdout
    again = run.invoke(app, ["gateway", "key", "revoke", "prom", "--keys", str(keys)])
    assert again.exit_code == 2 and "no active key is named 'prom'" in again.output
    bad_role = run.invoke(
        app, ["gateway", "key", "add", "x", "--role", "root", "--keys", str(keys)]
    )
    assert bad_role.exit_code == 2 and "Traceback" not in bad_role.output


def test_check_prints_rules_and_rejects_bad_policies(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[[rule]]\nname = "hot"\nmin_risk = 0.9\naction = "block"\n')
    app, run = _app(), CliRunner()
    ok = run.invoke(app, ["gateway", "check", "--policy", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "hot" in ok.stdout and "min_risk=0.9" in ok.stdout and "account_blocked" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('mode = "loud"\n')
    failed = run.invoke(app, ["gateway", "check", "--policy", str(bad)])
    assert failed.exit_code == 2 and "mode 'loud' must be one of" in failed.output


def test_serve_refuses_a_bad_policy_before_opening_anything(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\naction = "throttle"\nflagged = true\n')
    result = CliRunner().invoke(
        _app(),
        [
            "gateway",
            "serve",
            "--upstream",
            "http://127.0.0.1:1",
            "--policy",
            str(bad),
            "--state",
            str(tmp_path / "state.db"),
        ],
    )
    assert result.exit_code == 2 and "throttle needs rate" in result.output
    assert not (tmp_path / "state.db").exists()

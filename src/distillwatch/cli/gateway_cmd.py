"""``distillwatch gateway ...``: run the online scoring gateway and manage its API keys.

    distillwatch gateway serve --upstream URL --policy FILE --state DB [--lists DIR]
                               [--keys FILE] [--host 127.0.0.1] [--port 8720] [--dry-run]
    distillwatch gateway check --policy FILE
    distillwatch gateway key add NAME --role score|metrics --keys FILE
    distillwatch gateway key list --keys FILE | key revoke NAME --keys FILE

``--keys`` defaults to ``$DISTILLWATCH_GATEWAY_KEYS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from distillwatch.cli.main import IntelOption, KeyFileOption, intel_pair

KeysOption = Annotated[
    Path,
    typer.Option(
        "--keys",
        envvar="DISTILLWATCH_GATEWAY_KEYS",
        help="Key file of the gateway's own endpoints (JSON, only SHA-256 hashes).",
    ),
]
PolicyOption = Annotated[
    Path, typer.Option("--policy", help="Policy file (TOML); see distillwatch/config/policy.toml.")
]


def build_app() -> typer.Typer:
    """The ``gateway`` Typer app with its sub-commands."""
    from distillwatch.cli.main import one_line_errors

    gateway = typer.Typer(
        help="Score requests as they arrive and apply a graduated policy (reverse proxy).",
        no_args_is_help=True,
    )
    key = typer.Typer(help="API keys for /v1/score and /metrics.", no_args_is_help=True)
    gateway.add_typer(key, name="key")
    out = Console()

    @gateway.command("serve")
    @one_line_errors
    def serve(
        upstream: Annotated[
            str,
            typer.Option(
                help="Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8000."
            ),
        ],
        policy: PolicyOption,
        state: Annotated[Path, typer.Option(help="The online scorer's state database.")],
        lists: Annotated[
            Path | None,
            typer.Option(help="Directory of lists from batch scans and peers (reloadable)."),
        ] = None,
        keys: Annotated[
            Path | None,
            typer.Option(
                "--keys",
                envvar="DISTILLWATCH_GATEWAY_KEYS",
                help="Key file for /v1/score and /metrics (without it both answer 401).",
            ),
        ] = None,
        intel: IntelOption = None,
        key_file: KeyFileOption = None,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8720,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Forward everything; only log decisions.")
        ] = False,
        marks: Annotated[
            Path | None,
            typer.Option(
                help="Directory of per-campaign provenance keys for the mark action "
                "(made on first use; see `distillwatch provenance keys`)."
            ),
        ] = None,
    ) -> None:
        """Proxy /v1/chat/completions and /v1/completions to UPSTREAM under the policy."""
        from distillwatch.errors import GatewayError
        from distillwatch.gateway.keys import load_keys
        from distillwatch.gateway.server import serve as run
        from distillwatch.gateway.settings import GatewaySettings, load_policy

        pol = load_policy(policy)
        if keys is not None:
            load_keys(keys)  # fail now, not on the first /metrics scrape
        try:
            from distillwatch.online.scorer import open_scorer
        except ImportError as exc:
            raise GatewayError(
                f"the online scorer cannot be loaded ({exc}); reinstall distillwatch"
            ) from exc
        from distillwatch.online.peers import OnlinePeers

        pair = intel_pair(intel, key_file)
        scorer = open_scorer(
            state,
            lists=lists,
            peers=OnlinePeers(*pair) if pair else None,
            checkpoint_s=pol.checkpoint_s,
        )
        settings = GatewaySettings(
            upstream=upstream, policy=pol, keys=keys, host=host, port=port, dry_run=dry_run
        )
        mode = "dry-run (forward all, log decisions)" if settings.dry_run_active else "enforce"
        Console(stderr=True).print(
            f"gateway on http://{host}:{port} -> {upstream}; mode {mode}, fail {pol.fail}; "
            f"decisions -> {pol.decision_log or 'not logged'}",
            highlight=False,
        )
        marker = None
        if marks is not None:
            from distillwatch.provenance.campaigns import CampaignKeys, CampaignMarker
            from distillwatch.provenance.lexicon import load_lexicon

            keys_store = CampaignKeys(marks)
            keys_store.assignments()  # fail now on a damaged directory
            marker = CampaignMarker(keys_store, load_lexicon())
        try:
            run(settings, scorer, marker=marker)
        finally:
            close = getattr(scorer, "close", None)  # stop the scorer's threads, final flush
            if callable(close):
                close()

    @gateway.command("check")
    @one_line_errors
    def check(policy: PolicyOption) -> None:
        """Validate a policy file and print its rules in order."""
        from distillwatch.gateway.settings import load_policy

        pol = load_policy(policy)
        table = Table(title=f"policy {policy} (mode {pol.mode}, fail {pol.fail})")
        for col in ("#", "name", "conditions", "action", "parameters"):
            table.add_column(col)
        for i, rule in enumerate((*pol.rules, pol.default), 1):
            params = {"rate": rule.rate, "burst": rule.burst, "reason_code": rule.reason_code}
            table.add_row(
                str(i) if rule is not pol.default else "-",
                rule.name,
                ", ".join(f"{k}={v}" for k, v in rule.conditions().items()) or "(none)",
                rule.action,
                ", ".join(f"{k}={v}" for k, v in params.items() if v is not None),
            )
        out.print(table)

    @key.command("add")
    @one_line_errors
    def key_add(
        name: Annotated[str, typer.Argument(help="Key name (who uses it).")],
        role: Annotated[str, typer.Option(help="score (/v1/score, /v1/reload) or metrics.")],
        keys: KeysOption,
    ) -> None:
        """Create a key and print it once (only its hash is kept)."""
        from distillwatch.gateway.keys import add_key

        token = add_key(keys, name, role)
        out.print(f"key {name} ({role}) added to {keys}:", highlight=False)
        print(token)
        out.print("This key will not be shown again: store it now (only its hash is kept).")

    @key.command("list")
    @one_line_errors
    def key_list(keys: KeysOption) -> None:
        """Keys by name, role and state (never the keys)."""
        from distillwatch.gateway.keys import key_rows

        table = Table(title=f"gateway keys in {keys}")
        for col in ("name", "role", "sha256", "created", "revoked"):
            table.add_column(col)
        for row in key_rows(keys):
            table.add_row(*(str(row[c]) for c in ("name", "role", "sha256", "created", "revoked")))
        out.print(table)

    @key.command("revoke")
    @one_line_errors
    def key_revoke(
        name: Annotated[str, typer.Argument(help="Key name.")], keys: KeysOption
    ) -> None:
        """Revoke the active key(s) of NAME (a running gateway notices at once)."""
        from distillwatch.gateway.keys import revoke_key

        out.print(f"revoked {revoke_key(keys, name)} key(s) named {name}", highlight=False)

    return gateway


def register(app: typer.Typer) -> None:
    """Add the ``gateway`` command group to *app*."""
    app.add_typer(build_app(), name="gateway")

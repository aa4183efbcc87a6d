"""``distillwatch intel ...``: group keys, building, pushing and pulling shared intelligence.

::

    distillwatch intel keygen --out KEY --group NAME [--valid-days 90]
    distillwatch intel key rotate KEY [--valid-days 90]
    distillwatch intel build SCAN_DIR --org NAME --key-file KEY [--tlp amber] [--ttl-days 30]
    distillwatch intel push BUNDLE --hub URL --collection ID [--token-file F]
    distillwatch intel pull --hub URL [--collection ID] [--since TS] --out DIR [--token-file F]

The hub token comes from ``$DISTILLWATCH_HUB_TOKEN`` or ``--token-file``, never from a
flag whose value would land in the shell history.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from distillwatch.errors import UsageError

intel_app = typer.Typer(
    name="intel",
    help="Share intelligence with peer providers: keys, STIX bundles, a TAXII 2.1 hub.",
    no_args_is_help=True,
)
key_app = typer.Typer(name="key", help="Manage a trust group's key file.", no_args_is_help=True)
intel_app.add_typer(key_app, name="key")

_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
TokenFile = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        help="File holding the hub token (default: $DISTILLWATCH_HUB_TOKEN).",
        dir_okay=False,
    ),
]


def _run(work: Callable[[], None]) -> None:
    """Run a command body: DistillwatchError -> one line and its exit code, never a traceback."""
    from distillwatch.cli.main import run_command

    run_command(work)


def _say(text: str) -> None:
    Console().print(text, highlight=False, soft_wrap=True)


@intel_app.command("keygen")
def keygen(
    out: Annotated[Path, typer.Option("--out", help="Key file to create (mode 0600).")],
    group: Annotated[str, typer.Option("--group", help="Name of the trust group.")],
    valid_days: Annotated[int, typer.Option(help="Days the key stays valid.")] = 90,
) -> None:
    """Create a trust-group key file holding one fresh key."""

    def work() -> None:
        from distillwatch.intel.keys import Keyring, new_key, save_keyring

        if not _GROUP.fullmatch(group):
            raise UsageError(
                f"--group {group!r}: use letters, digits, '.', '_' or '-' (at most 64), "
                "e.g. frontier-isac"
            )
        key = new_key(group, valid_days)
        save_keyring(Keyring(group, [key]), out)
        _say(
            f"wrote {out} (mode 0600): key {key.key_id} valid until "
            f"{key.valid_until:%Y-%m-%d}; give it to the group's members over a secure channel"
        )

    _run(work)


@key_app.command("rotate")
def key_rotate(
    key_file: Annotated[Path, typer.Argument(help="Key file to add a new key to.")],
    valid_days: Annotated[int, typer.Option(help="Days the new key stays valid.")] = 90,
) -> None:
    """Append a new key starting now; older keys stay for matching until they expire."""

    def work() -> None:
        from distillwatch.intel.keys import rotate

        key = rotate(key_file, valid_days)
        _say(
            f"added key {key.key_id} to {key_file}, valid until {key.valid_until:%Y-%m-%d}; "
            "new bundles use it"
        )

    _run(work)


@intel_app.command("build")
def build(
    scan_dir: Annotated[
        Path,
        typer.Argument(help="Output directory of `distillwatch scan` (or its campaigns.json)."),
    ],
    org: Annotated[str, typer.Option("--org", help="Your organization's name (its identity).")],
    key_file: Annotated[Path, typer.Option("--key-file", help="The trust group's key file.")],
    tlp: Annotated[
        str, typer.Option("--tlp", help="TLP 2.0 level: clear, green, amber or amber+strict.")
    ] = "amber",
    ttl_days: Annotated[int, typer.Option(help="Days the indicators stay valid.")] = 30,
    out: Annotated[
        Path | None, typer.Option("--out", help="Bundle file (default: SCAN_DIR/intel.json).")
    ] = None,
) -> None:
    """Write a STIX 2.1 bundle of the scan's flagged campaigns, fingerprints keyed."""

    def work() -> None:
        from distillwatch.intel.bundle import build_bundle
        from distillwatch.intel.keys import load_keyring
        from distillwatch.outputs.files import ensure_dir, write_text
        from distillwatch.outputs.tlp import shareable_level

        level = shareable_level(tlp)  # refuse TLP:RED before reading anything
        ring = load_keyring(key_file)
        text = build_bundle(
            scan_dir, org_name=org, keyring=ring, tlp_level=level, ttl_days=ttl_days
        )
        target = out or (scan_dir if scan_dir.is_dir() else scan_dir.parent) / "intel.json"
        ensure_dir(target.parent)
        write_text(target, text)
        counts = Counter(o["type"] for o in json.loads(text)["objects"])
        _say(
            f"wrote {target}: {counts['campaign']} campaigns, {counts['indicator']} indicators "
            f"(TLP:{level.upper()}, key {ring.current().key_id})"
        )

    _run(work)


@intel_app.command("push")
def push(
    bundle: Annotated[Path, typer.Argument(help="STIX bundle to publish (from `intel build`).")],
    hub: Annotated[str, typer.Option("--hub", help="Hub discovery or API root URL.")],
    collection: Annotated[str, typer.Option("--collection", help="Collection id to add to.")],
    token_file: TokenFile = None,
) -> None:
    """Publish a bundle to a hub collection; fails if the hub refuses any object."""

    def work() -> None:
        from distillwatch.intel.client import push as push_bundle
        from distillwatch.intel.client import token_from_env_or_file

        report = push_bundle(bundle, hub, collection, token_from_env_or_file(token_file))
        _say("pushed: " + report.summary())

    _run(work)


@intel_app.command("pull")
def pull(
    hub: Annotated[str, typer.Option("--hub", help="Hub discovery or API root URL.")],
    out: Annotated[Path, typer.Option("--out", help="Local intel directory.")],
    collection: Annotated[
        str | None, typer.Option("--collection", help="Collection id (default: all readable).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only objects added after this time (RFC 3339)."),
    ] = None,
    token_file: TokenFile = None,
) -> None:
    """Fetch peers' objects added since the last pull into DIR/<collection>/*.json."""

    def work() -> None:
        from distillwatch.intel.client import pull as pull_objects
        from distillwatch.intel.client import taxii_time, token_from_env_or_file

        after = taxii_time(since) if since is not None else None  # checked before any I/O
        token = token_from_env_or_file(token_file)
        results = pull_objects(hub, out, collection_id=collection, since=after, token=token)
        if not results:
            _say("no readable collection on the hub")
        for r in results:
            _say(
                f"{r.collection_id}: {r.n_objects} new objects in {len(r.files)} files; "
                f"next pull starts after {r.added_after or 'the beginning'}"
            )

    _run(work)


def register(app: typer.Typer) -> None:
    """Add the ``intel`` command group to *app*."""
    app.add_typer(intel_app, name="intel")

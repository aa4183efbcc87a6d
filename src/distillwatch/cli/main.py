"""Entry point of the ``distillwatch`` command.

Each sub-command lives in its own module and registers itself on :data:`app`. Any
:class:`~distillwatch.errors.DistillwatchError` becomes one red line on stderr and the
error's exit code; never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from distillwatch.errors import DistillwatchError, UsageError

app = typer.Typer(
    name="distillwatch",
    help="Detect, attribute and share intelligence about adversarial distillation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(func: F) -> F:
    """Turn DistillwatchError into a single line and its exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DistillwatchError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("[bold red]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


#: ``--intel DIR`` and ``--key-file KEY``: peers' intel and the trust group's keys
IntelOption = Annotated[
    Path | None,
    typer.Option(help="Directory of peers' intel (intel pull): adds the peer_intel signal."),
]
KeyFileOption = Annotated[
    Path | None, typer.Option(help="The trust group's key file (needed with --intel).")
]


def intel_pair(intel: Path | None, key_file: Path | None) -> tuple[Path, Path] | None:
    """``(intel, key_file)`` when peers' intel is asked for, None when not; a one-line
    UsageError when only half is given."""
    if intel is None:
        if key_file is not None:
            raise UsageError("--key-file is only used with --intel DIR; add --intel or drop it")
        return None
    if key_file is None:
        raise UsageError("--intel needs --key-file KEY (the trust group's key) to match")
    if not intel.is_dir():
        raise UsageError(f"--intel {intel} is not a directory; give the directory of intel pull")
    return intel, key_file


def make_out_dir(out: Path) -> None:
    """Create the ``--out`` directory, or raise a one-line :class:`UsageError` saying why not."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory; choose another path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create --out {out}: {exc.strerror}; choose a writable path"
        ) from exc


def run_command(body: Callable[[], None], *, debug: bool = False) -> None:
    """Run a command's ``body`` through :func:`one_line_errors`; any other exception is one
    "internal error" line and exit 1 (re-raised with its traceback when ``debug``)."""
    try:
        one_line_errors(body)()
    except (typer.Exit, DistillwatchError):
        raise
    except Exception as exc:
        if debug:
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
            "(rerun with --debug for the traceback and report it)",
            highlight=False,
        )
        raise typer.Exit(1) from None


def _register() -> None:
    # Imported here so that importing the package does no work; each module adds commands.
    from distillwatch.cli import (
        calibrate_cmd,
        cases_cmd,
        demo_cmd,
        evaluate_cmd,
        gateway_cmd,
        hub_cmd,
        intel_cmd,
        intel_match_cmd,
        provenance_cmd,
        replay_cmd,
        scan_cmd,
        simulate_cmd,
        ui_cmd,
    )

    for module in (
        scan_cmd,
        simulate_cmd,
        evaluate_cmd,
        hub_cmd,
        demo_cmd,
        replay_cmd,
        gateway_cmd,
        provenance_cmd,
        cases_cmd,
        calibrate_cmd,
        ui_cmd,
    ):
        module.register(app)
    intel_match_cmd.register(intel_cmd.intel_app)
    intel_cmd.register(app)


def main() -> None:
    _register()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

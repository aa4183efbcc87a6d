"""Registers the simulate command (filled in by its stage)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the simulate command to *app*."""

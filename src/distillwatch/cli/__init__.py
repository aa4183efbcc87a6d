"""The ``distillwatch`` command line (Typer + Rich)."""

"""Writing output files: whole or not at all, with errors that say what to do.

Each file is written to a temporary sibling and moved into place, so a reader never sees
half a report and a failed run leaves the previous files intact. Every ``OSError`` becomes
an :class:`~distillwatch.errors.OutputError` naming the path.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     out = ensure_dir(pathlib.Path(tmp) / "scan")
...     write_text(out / "a.txt", "hello\\n").read_text()
'hello\\n'
"""

from __future__ import annotations

import os
import secrets
from contextlib import suppress
from pathlib import Path

from distillwatch.errors import OutputError


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def ensure_dir(out_dir: Path) -> Path:
    """Create *out_dir* (and parents) if missing and return it."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create output directory {out_dir}: {_reason(exc)}; "
            "choose another --out directory or fix its parent's permissions"
        ) from exc
    return out_dir


def write_text(path: Path, text: str) -> Path:
    """Write *text* (UTF-8) to *path* atomically and return *path*."""
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> Path:
    """Write *data* to *path* atomically (a temporary file renamed) and return *path*."""
    # A fresh name opened with "x" gets the usual permissions (umask), unlike mkstemp's 0600.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    moved = False
    try:
        with tmp.open("xb") as handle:
            handle.write(data)
        os.replace(tmp, path)
        moved = True
    except OSError as exc:
        raise OutputError(
            f"cannot write {path}: {_reason(exc)}; check that the directory is writable "
            "and has free space, or choose another --out directory"
        ) from exc
    finally:
        if not moved:
            with suppress(OSError):
                tmp.unlink(missing_ok=True)
    return path

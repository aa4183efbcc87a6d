"""Writing the outputs: gzip JSON Lines compressed on a helper thread, and truth.csv.

Both files are written under a temporary name and renamed when complete; the gzip header
carries no time stamp or name, so a seed always gives byte-identical files.

>>> import gzip, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.jsonl.gz"
>>> with GzipLineWriter(path) as w:
...     w.write(b'{"a":1}')
>>> gzip.decompress(path.read_bytes())
b'{"a":1}\\n'
"""

from __future__ import annotations

import csv
import gzip
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO

from distillwatch.errors import OutputError

TRUTH_COLUMNS = ("account_id", "label", "persona", "campaign_id", "actor_id")


class GzipLineWriter:
    """Appends lines to a ``.gz`` file; compression overlaps with the caller's work."""

    def __init__(self, path: Path, level: int = 3, chunk_bytes: int = 1 << 20) -> None:
        self.path = path
        self.level = level
        self.chunk_bytes = chunk_bytes
        self._tmp = path.with_name(path.name + ".part")
        self._raw: IO[bytes] | None = None
        self._gz: gzip.GzipFile | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[int]] = []
        self._buffer: list[bytes] = []
        self._size = 0

    def __enter__(self) -> GzipLineWriter:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._raw = open(self._tmp, "wb")
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror}") from exc
        self._gz = gzip.GzipFile(
            filename="", mode="wb", fileobj=self._raw, compresslevel=self.level, mtime=0
        )
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gzip")
        return self

    def write(self, line: bytes) -> None:
        self._buffer.append(line)
        self._size += len(line) + 1
        if self._size >= self.chunk_bytes:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer or self._gz is None or self._pool is None:
            return
        chunk = b"\n".join(self._buffer) + b"\n"
        self._buffer, self._size = [], 0
        self._pending.append(self._pool.submit(self._gz.write, chunk))
        while len(self._pending) > 2:
            self._pending.pop(0).result()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._flush()
            for future in self._pending:
                future.result()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            if self._gz is not None:
                self._gz.close()
            if self._raw is not None:
                self._raw.close()
        if exc_type is None:
            try:
                os.replace(self._tmp, self.path)
            except OSError as exc2:
                raise OutputError(f"cannot write {self.path}: {exc2.strerror}") from exc2
        else:
            self._tmp.unlink(missing_ok=True)


def write_truth(path: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    """truth.csv: one row per account, attack rows with campaign and actor."""
    tmp = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(TRUTH_COLUMNS)
            writer.writerows(rows)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc

"""A Rich progress bar over input bytes that appears only when reading is slow.

Nothing is drawn during the first ``delay`` seconds (2 s by default), so short reads stay
quiet; nothing is drawn when the console is not a terminal (logs, pipes).

>>> bar = ReadProgress(total_bytes=100, enabled=False)
>>> with bar:
...     bar.update(50)
>>> bar.shown
False
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)


class ReadProgress:
    """Progress of reading ``total_bytes`` of input; call :meth:`update` with bytes done."""

    def __init__(
        self,
        total_bytes: int,
        *,
        enabled: bool = True,
        delay: float = 2.0,
        console: Console | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total_bytes = total_bytes
        self.enabled = enabled
        self.delay = delay
        self.console = console
        self.clock = clock
        self.shown = False
        self._started_at: float | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> ReadProgress:
        self._started_at = self.clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def update(self, done_bytes: int) -> None:
        """Record that *done_bytes* of the input have been read (absolute, not a delta)."""
        if not self.enabled:
            return
        if self._progress is None:
            if self._started_at is None:
                self._started_at = self.clock()
            if self.clock() - self._started_at < self.delay:
                return
            console = self.console or Console(stderr=True)
            if not console.is_terminal:
                self.enabled = False
                return
            self._progress = Progress(
                TextColumn("reading logs"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._task = self._progress.add_task("read", total=self.total_bytes or None)
            self._progress.start()
            self.shown = True
        assert self._task is not None
        self._progress.update(self._task, completed=min(done_bytes, self.total_bytes))

    def close(self) -> None:
        """Remove the bar (if it was shown)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

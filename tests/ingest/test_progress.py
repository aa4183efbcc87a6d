import io

from rich.console import Console

from distillwatch.ingest.progress import ReadProgress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=80), out


def test_bar_appears_only_after_the_delay():
    console, out = terminal()
    clock = Clock()
    with ReadProgress(1000, delay=2.0, console=console, clock=clock) as bar:
        bar.update(100)
        assert not bar.shown
        clock.now = 2.5
        bar.update(500)
        assert bar.shown
    assert "reading logs" in out.getvalue()


def test_quick_reads_draw_nothing():
    console, out = terminal()
    clock = Clock()
    with ReadProgress(1000, console=console, clock=clock) as bar:
        clock.now = 1.0
        bar.update(1000)
    assert not bar.shown
    assert out.getvalue() == ""


def test_no_bar_when_not_a_terminal_or_disabled():
    out = io.StringIO()
    clock = Clock()
    piped = ReadProgress(10, delay=0.0, console=Console(file=out), clock=clock)
    with piped:
        piped.update(5)
    disabled = ReadProgress(10, enabled=False, delay=0.0, clock=clock)
    with disabled:
        disabled.update(5)
    assert not piped.shown and not disabled.shown
    assert out.getvalue() == ""

"""Headless Chromium for the browser tests: the distribution's ``chromium`` (/usr/bin/chromium)
driven by Playwright's sync API. Playwright's own browser builds are never downloaded.

Fixtures:

- ``browser`` (session): Chromium launched headless. Skipped, with the reason, when Playwright
  or /usr/bin/chromium is missing; failed instead when ``DISTILLWATCH_REQUIRE_BROWSER=1``.
- ``browser_context_args``: keyword arguments of each test's new context, offline by default
  (report tests). A module that needs the network, e.g. a local console server, overrides it.
- ``page_problems``: the error-level console messages and page errors the page reported.
- ``page``: a page in a fresh context. At teardown it saves a screenshot of the viewport if the
  test saved none, and fails the test if ``page_problems`` is not empty, listing them.
- ``screenshot_path``: ``test-artifacts/browser/<test name>.png`` under the repo root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_ENV = "DISTILLWATCH_REQUIRE_BROWSER"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"{reason}, and {REQUIRE_ENV} is set: the browser tests must run here")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -c requirements.lock -e '.[test]')")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found (install the distribution's chromium package)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    return {"offline": True}


@pytest.fixture
def screenshot_path(request: pytest.FixtureRequest) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    path = ARTIFACTS / f"{name}.png"
    path.unlink(missing_ok=True)  # a stale picture from an earlier run proves nothing
    return path


@pytest.fixture
def page_problems() -> list[str]:
    return []


@pytest.fixture
def page(
    browser: Browser,
    browser_context_args: dict[str, Any],
    page_problems: list[str],
    screenshot_path: Path,
) -> Iterator[Page]:
    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            where = msg.location
            page_problems.append(
                f"console error: {msg.text} "
                f"({where.get('url', '?')}:{where.get('lineNumber', '?')})"
            )

    def on_page_error(err: Error) -> None:
        page_problems.append(f"page error: {err.message}\n{err.stack or ''}".rstrip())

    context = browser.new_context(**browser_context_args)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        tab = context.new_page()
        tab.on("console", on_console)
        tab.on("pageerror", on_page_error)
        yield tab
        if not screenshot_path.exists() and not tab.is_closed() and tab.url != "about:blank":
            tab.screenshot(path=screenshot_path)  # what the test left in view
    finally:
        context.close()
    assert not page_problems, "the page reported errors:\n" + "\n".join(page_problems)

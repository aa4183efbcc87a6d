"""The analyst console in headless Chromium: sign in, open the campaign list, a campaign,
one of its accounts, confirm it, see the decision listed, preview a share.

The console runs as a real server on 127.0.0.1 over the session's small scan; the page
fixture fails the test on any console error or page error, and each step leaves a
screenshot in ``test-artifacts/browser/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from distillwatch.console.analysts import open_analysts
from distillwatch.console.app import ConsoleSettings, create_app
from distillwatch.errors import ConsoleError
from distillwatch.serving import serve_in_thread

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHARTS_JS = """() => Array.from(document.querySelectorAll('svg.chart'), (svg) => {
  const box = svg.getBoundingClientRect();
  return {width: box.width, height: box.height,
          shapes: svg.querySelectorAll('rect, path, line, circle').length};
})"""


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    return {}  # the console is served on 127.0.0.1: the context must reach it


@pytest.fixture(scope="module")
def console(
    small_scan: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    cases = tmp_path_factory.mktemp("browser-console") / "cases.db"
    store = open_analysts(cases)
    token = store.add("ana")
    store.close()
    settings = ConsoleSettings(scan_dir=small_scan, cases=cases, org_name="acme")
    with serve_in_thread(create_app(settings), name="console", error=ConsoleError) as url:
        yield url, token


def snap(page: Page, screenshot_path: Path, step: str) -> None:
    path = screenshot_path.with_name(f"{screenshot_path.stem}-{step}.png")
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 0


def test_review_decide_and_preview_a_share(
    page: Page, console: tuple[str, str], screenshot_path: Path
) -> None:
    url, token = console
    page.goto(f"{url}/campaigns")  # not signed in: sent to the sign-in page
    assert "/login" in page.url
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/campaigns")
    rows = page.locator("table.campaigns tbody tr")
    assert rows.count() > 0
    assert page.locator("header.bar .who").inner_text().endswith("ana")
    snap(page, screenshot_path, "1-campaigns")

    # the riskiest flagged campaign: filter, then open the first row
    page.select_option("select[name=flagged]", "yes")
    page.click("form.filters button[type=submit]")
    page.locator("table.campaigns tbody tr td a").first.click()
    page.wait_for_url(f"{url}/campaigns/*")
    assert page.locator("span.badge.flagged").first.is_visible()
    charts: list[dict[str, Any]] = page.evaluate(CHARTS_JS)
    assert charts and all(c["width"] > 0 and c["height"] > 0 and c["shapes"] > 0 for c in charts)
    campaign_url = page.url
    snap(page, screenshot_path, "2-campaign")

    # one of its member accounts
    member = page.locator("table a[href^='/accounts/']").first
    account_id = member.inner_text()
    member.click()
    page.wait_for_url(f"{url}/accounts/*")
    assert account_id in page.locator("h1").inner_text()
    assert page.locator("#history").inner_text() == "No decision yet."
    snap(page, screenshot_path, "3-account")

    # confirm it, with a note
    page.fill("form.decide textarea[name=note]", "same template as ticket T-17")
    page.click("form.decide button.confirm")
    page.wait_for_url("**/accounts/*?done=confirm*")
    assert "Decision recorded: confirm." in page.locator(".flash").inner_text()
    history = page.locator("table.history tbody tr").first.inner_text()
    assert "ana" in history and "confirm" in history and "T-17" in history
    assert page.locator("form.decide .decision.confirm").is_visible()
    snap(page, screenshot_path, "4-confirmed")

    # listed among the confirmed accounts
    page.goto(f"{url}/accounts?flagged=any&decision=confirm")
    listed = page.locator("table.accounts tbody tr")
    assert listed.count() == 1 and account_id in listed.first.inner_text()
    snap(page, screenshot_path, "5-listed")

    # back to the campaign: preview what sharing it at TLP:GREEN would publish
    page.goto(campaign_url)
    page.select_option("#share-form select[name=tlp]", "green")
    page.click("#share-form button[type=submit]")
    page.wait_for_url("**/share?tlp=green")
    summary = page.locator("#share-summary").inner_text()
    assert "STIX objects" in summary and "campaign" in summary
    assert '"type": "campaign"' in page.locator("#share-preview").inner_text()
    assert page.locator("#publish-off").is_visible()  # no keys, no hub: nothing leaves
    page.screenshot(path=screenshot_path, full_page=True)

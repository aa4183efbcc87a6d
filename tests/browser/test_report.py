"""``report.html`` in headless Chromium: it opens from ``file://`` with no network, and its
plots, campaign sections and table of contents render.

The report is built once for the module by the real commands a user runs (``simulate`` then
``scan``). Every page is opened offline with request interception that lets through only the
report file itself and records (and aborts) anything else.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

SHAPES = "rect, path, line, circle, ellipse, polyline, polygon"

CHARTS_JS = """(shapes) => Array.from(document.querySelectorAll('svg.chart'), (svg) => {
  const box = svg.getBoundingClientRect();
  const all = Array.from(svg.querySelectorAll(shapes));
  const drawn = all.filter((el) => {
    const b = el.getBBox();
    return (b.width > 0 || b.height > 0) && getComputedStyle(el).display !== 'none';
  });
  return {label: svg.getAttribute('aria-label') || svg.outerHTML.slice(0, 80),
          width: box.width, height: box.height, shapes: all.length, drawn: drawn.length};
})"""

IMAGES_JS = """() => Array.from(document.images, (img) => ({
  src: img.currentSrc.slice(0, 60), ok: img.complete && img.naturalWidth > 0}))"""

TOC_JS = """() => Array.from(document.querySelectorAll('nav.toc a[href]'), (a) => {
  const href = a.getAttribute('href');
  const id = href.startsWith('#') ? decodeURIComponent(href.slice(1)) : null;
  return {href, found: id !== null && document.getElementById(id) !== null};
})"""

IN_VIEW_JS = """(id) => {
  const r = document.getElementById(id).getBoundingClientRect();
  return r.bottom > 0 && r.top < window.innerHeight;
}"""


def open_offline(page: Page, path: Path) -> list[str]:
    """Open ``path`` from file://; return the live list of every other URL the page asked for."""
    url = path.resolve().as_uri()
    asked: list[str] = []

    def gate(route: Route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            asked.append(route.request.url)
            route.abort()

    page.route("**/*", gate)
    page.goto(url, wait_until="load")
    page.evaluate("document.fonts.ready.then(() => true)")
    return asked


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


@pytest.fixture(scope="module")
def report(small_scan: Path) -> Path:
    return small_scan / "report.html"


def test_report_opens_offline_without_any_request(
    page: Page, report: Path, screenshot_path: Path
) -> None:
    asked = open_offline(page, report)
    assert page.evaluate("navigator.onLine") is False  # the context really is offline
    assert page.url == report.resolve().as_uri()
    assert "distillwatch" in page.title()
    # the full-page picture lays out and paints everything, so late loads would show up too
    page.screenshot(path=screenshot_path, full_page=True)
    assert asked == []
    width, height = png_size(screenshot_path)
    viewport = page.viewport_size
    assert viewport is not None
    assert width == viewport["width"] and height > viewport["height"]


def test_every_chart_has_a_size_and_drawn_shapes(page: Page, report: Path) -> None:
    open_offline(page, report)
    charts: list[dict[str, Any]] = page.evaluate(CHARTS_JS, SHAPES)
    assert charts, "the report has no svg.chart"
    for chart in charts:
        assert chart["width"] > 0 and chart["height"] > 0, chart
        assert chart["drawn"] > 0, chart
    images: list[dict[str, Any]] = page.evaluate(IMAGES_JS)
    assert [i for i in images if not i["ok"]] == []
    per_section = page.locator("section.campaign").evaluate_all(
        "(els) => els.map((el) => el.querySelectorAll('svg.chart').length)"
    )
    assert per_section and min(per_section) >= 1, per_section


def test_campaign_sections_and_toc_links_resolve(page: Page, report: Path) -> None:
    open_offline(page, report)
    campaign_ids: list[str] = page.locator("section.campaign").evaluate_all(
        "(els) => els.map((el) => el.id)"
    )
    assert campaign_ids, "the report has no section.campaign"
    links: list[dict[str, Any]] = page.evaluate(TOC_JS)
    assert links, "the report has no table of contents links"
    assert [link for link in links if not link["found"]] == []
    linked = {link["href"][1:] for link in links}
    assert set(campaign_ids) <= linked, set(campaign_ids) - linked
    # following the last campaign's link brings its section into view
    target = campaign_ids[-1]
    assert not page.evaluate(IN_VIEW_JS, target)
    page.locator(f'nav.toc a[href="#{target}"]').click()
    page.wait_for_function(IN_VIEW_JS, arg=target)
    assert page.evaluate("location.hash") == f"#{target}"


# The checks above can fail: the interception records what a page asks for, and the page
# fixture collects console errors and page errors.


def test_interception_records_remote_and_sibling_requests(browser: Browser, tmp_path: Path) -> None:
    (tmp_path / "leaky.html").write_text(
        '<!doctype html><img src="https://cdn.example.invalid/x.png">'
        '<link rel="stylesheet" href="side.css"><p>leaky</p>'
    )
    context = browser.new_context(offline=True)
    try:
        asked = open_offline(context.new_page(), tmp_path / "leaky.html")
    finally:
        context.close()
    assert sorted(asked) == sorted(
        ["https://cdn.example.invalid/x.png", (tmp_path / "side.css").resolve().as_uri()]
    )


def test_page_fixture_collects_console_and_page_errors(
    page: Page, page_problems: list[str]
) -> None:
    page.set_content("<p>errors</p>")
    with page.expect_console_message():
        page.evaluate("console.error('boom from console')")
    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('kaboom from page'); }, 0)")
    assert any("boom from console" in p for p in page_problems), page_problems
    assert any("kaboom from page" in p for p in page_problems), page_problems
    page_problems.clear()  # expected here; the fixture would fail the test otherwise

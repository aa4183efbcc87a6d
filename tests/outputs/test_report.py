from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from distillwatch.outputs.atlas import load_atlas
from distillwatch.outputs.ids import campaign_pseudonym
from distillwatch.outputs.report import MAX_MEMBERS, PROMPT_CHARS, render_report

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source", "area", "base"}
SVG_SELF_CLOSING = {"line", "rect", "path", "circle"}
LOADING_TAGS = {
    "script",
    "img",
    "link",
    "iframe",
    "object",
    "embed",
    "audio",
    "video",
    "source",
    "frame",
    "base",
    "form",
    "image",
    "use",
    "foreignobject",
}
EXTERNAL_REF = re.compile(
    r"""(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:[a-z]+:)?//[^"'\s>]*""",
    re.IGNORECASE,
)


class Page(HTMLParser):
    """Collects tags, attributes, ids and visible text, and checks nesting."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()
        self.text: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            self.attrs.append((tag, name, value or ""))
            if name == "id":
                self.ids.add(value or "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture
def page_text(scan_result):
    return render_report(scan_result, org_name="acme-ai")


@pytest.fixture
def page(page_text):
    parser = Page()
    parser.feed(page_text)
    parser.close()
    return parser


def _visible(page: Page) -> str:
    return "".join(page.text)


def test_well_formed_and_self_contained(page_text, page):
    assert page_text.startswith("<!DOCTYPE html>")
    assert page.errors == [] and page.stack == []
    assert not LOADING_TAGS.intersection(page.tags)
    assert not [a for a in page.attrs if a[1] == "src" or a[1].startswith("on")]
    assert "url(" not in page_text and "@import" not in page_text
    external = EXTERNAL_REF.findall(page_text)
    assert external, "the ATLAS technique links are expected"
    for ref in external:
        assert ref.startswith('href="https://atlas.mitre.org/techniques/AML.T'), ref


def test_only_in_page_anchors_and_atlas_links(page):
    hrefs = [value for _, name, value in page.attrs if name == "href"]
    assert hrefs, "the table of contents must link to sections"
    for href in hrefs:
        if href.startswith("#"):
            assert href[1:] in page.ids, f"dangling anchor {href}"
        else:
            assert href.startswith("https://atlas.mitre.org/techniques/AML.T"), href


def test_content_security_policy_blocks_loading(page_text):
    assert "Content-Security-Policy" in page_text and "default-src &#x27;none&#x27;" in page_text


def test_user_derived_text_is_escaped(page_text, page, scan_result):
    assert "<script>" not in page_text
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in page_text
    assert '<img src="http://evil.example' not in page_text
    assert "<b>bold</b>" not in page_text and "&lt;b&gt;bold&lt;/b&gt;" in page_text
    # the parsed text still shows the prompt exactly as the user wrote it
    assert "<script>alert('xss')</script>" in _visible(page)


def test_sample_prompts_truncated_to_200_chars(page, scan_result):
    camp = next(c for c in scan_result.campaigns if c.campaign_id == "cmp-0001")
    long_prompt = max(camp.sample_prompts, key=len)
    assert len(long_prompt) > PROMPT_CHARS
    visible = _visible(page)
    assert "TAIL-MARKER-7731" not in visible
    assert long_prompt[: PROMPT_CHARS - 1] + "…" in visible


def test_summary_counts(page, scan_result):
    text = _visible(page)
    for label, value in [
        ("events", f"{scan_result.n_events:,}"),
        ("accounts", f"{len(scan_result.accounts):,}"),
        ("flagged accounts", str(sum(a.flagged for a in scan_result.accounts))),
        ("quarantined records", str(scan_result.ingest.n_quarantined)),
        ("operating threshold", f"{scan_result.threshold:.3f}"),
    ]:
        assert f"{label}{value}" in text
    for reason, n in scan_result.ingest.quarantined.items():
        assert f"{reason}{n}" in text
    assert "2026-03-02 00:00:00 UTC to 2026-03-09 00:00:00 UTC" in text


def test_campaigns_ranked_by_risk_with_evidence(page_text, page, scan_result):
    first = page_text.index('id="campaign-1"')
    second = page_text.index('id="campaign-2"')
    assert page_text.index("cmp-0001", first) < second  # 0.97 ranks above 0.42
    assert "cmp-0002" in page_text[second:]
    text = _visible(page)
    camp = next(c for c in scan_result.campaigns if c.campaign_id == "cmp-0001")
    for hit in camp.hits:
        if hit.summary:
            assert hit.summary in text
    assert "share_reasoning: 0.871" in text
    assert campaign_pseudonym("cmp-0001", "acme-ai") in text
    assert campaign_pseudonym("cmp-0002", "acme-ai") not in text  # not flagged, not shared


def test_contribution_chart_has_a_bar_per_signal(page_text, scan_result):
    camp = next(c for c in scan_result.campaigns if c.campaign_id == "cmp-0001")
    section = page_text[page_text.index('id="campaign-1"') : page_text.index('id="campaign-2"')]
    chart = section[section.index("<svg") : section.index("</svg>")]
    assert chart.count("<rect") == len(camp.hits)
    assert "-0.40" in chart and "+2.40" in chart


def test_link_evidence_and_techniques(page, scan_result):
    text = _visible(page)
    assert "payment_fingerprint" in text and "pf_3c9a77e1d2" in text and "203.0.113.0/24" in text
    atlas = load_atlas()
    for tech_id in ("AML.T0024.002", "AML.T0040", "AML.T0008.005"):
        assert f"{tech_id} {atlas.get(tech_id).name}" in text
    assert "AML.T9999 (not in atlas.toml; not shared)" in text


def test_behaviour_merges_are_shown(page, page_text):
    text = _visible(page)
    assert "Parts joined by behaviour" in text
    assert "config 0.200, template 0.873" in text and "18 + 6" in text
    assert "template head: grade the answer <script>" in text
    assert "<script>" not in page_text.split("<body", 1)[1]  # shown escaped, never as markup


def test_members_are_top_20_by_risk(page, scan_result):
    text = _visible(page)
    camp = next(c for c in scan_result.campaigns if c.campaign_id == "cmp-0001")
    members = sorted(
        (a for a in scan_result.accounts if a.campaign_id == "cmp-0001"), key=lambda a: -a.risk
    )
    assert len(members) > MAX_MEMBERS
    assert f"top {MAX_MEMBERS} of {len(camp.account_ids)} by risk" in text
    for acc in members[:MAX_MEMBERS]:
        assert acc.account_id in text
    for acc in members[MAX_MEMBERS:]:
        assert acc.account_id not in text


def test_flagged_accounts_outside_campaigns(page_text, page):
    solo_section = page_text[page_text.index('id="solo"') :]
    assert "solo-42" in solo_section
    assert "12,000 requests in 2 days" in solo_section
    assert "acct-7f01" not in solo_section  # campaign members are listed with their campaign
    assert "user-benign-1" not in page_text  # not flagged, in no campaign


def test_empty_result_renders(empty_result):
    parser = Page()
    parser.feed(render_report(empty_result))
    text = _visible(parser)
    assert parser.errors == []
    assert "No campaigns detected." in text
    assert "n/a to n/a" in text


def test_org_name_is_escaped(scan_result):
    page_text = render_report(scan_result, org_name="<i>acme</i>")
    assert "<i>acme</i>" not in page_text
    assert html.escape("<i>acme</i>") in page_text

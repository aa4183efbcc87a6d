"""The report's timeline and linkage picture, on small hand-built inputs."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import ibis
import pyarrow as pa
import pytest

from distillwatch.outputs.graph_svg import linkage_chart
from distillwatch.outputs.report import render_report
from distillwatch.outputs.svg import timeline_chart
from distillwatch.pipeline import _add_timelines
from distillwatch.results import (
    AccountVerdict,
    CampaignVerdict,
    IngestSummary,
    LinkEvidence,
    ScanResult,
    Timeline,
)

T0 = datetime(2026, 3, 2, 21, 40, tzinfo=UTC)
SVG = re.compile(r"<svg\b[^>]*>.*?</svg>", re.DOTALL)
ROW = re.compile(r'<g class="row" data-account="([^"]*)">(.*?)</g>', re.DOTALL)
CELL = re.compile(
    r'<rect x="(\d+)" y="\d+" width="(\d+)" height="\d+" fill="#\w+"><title>([^<]*)</title>'
)
TITLE = re.compile(r"(.*), (\d{4}-\d\d-\d\d \d\d):00 UTC, ([\d,]+) requests")
LABEL_W = 170


def _cells(row_svg: str) -> dict[int, tuple[int, str, datetime]]:
    """cell index -> (count, row name, hour), read back from each cell's position and title"""
    out = {}
    for x, w, title in CELL.findall(row_svg):
        m = TITLE.fullmatch(title)
        assert m, title
        hour = datetime.strptime(m[2], "%Y-%m-%d %H").replace(tzinfo=UTC)
        out[(int(x) - LABEL_W) // int(w)] = (int(m[3].replace(",", "")), m[1], hour)
    return out


def _events(n_accounts: int) -> tuple[pa.Table, dict[str, list[datetime]]]:
    """Accounts a00.. with different volumes spread over ~30 hours (crossing midnight)."""
    times: dict[str, list[datetime]] = {}
    for k in range(n_accounts):
        acct = f"a{k:02d}"
        times[acct] = [
            T0 + timedelta(minutes=(17 * k + 53 * j) % (30 * 60)) for j in range(3 + 2 * k)
        ]
    times["bystander"] = [T0 + timedelta(hours=h) for h in range(5)]  # in no campaign
    rows = [(a, t) for a, ts in times.items() for t in ts]
    table = pa.table(
        {
            "account_id": pa.array([a for a, _ in rows], pa.string()),
            "ts": pa.array([t for _, t in rows], pa.timestamp("us", tz="UTC")),
        }
    )
    return table, times


def _campaign(cid: str, accounts: list[str], times: dict[str, list[datetime]]) -> CampaignVerdict:
    ts = [t for a in accounts for t in times[a]]
    return CampaignVerdict(cid, accounts, len(ts), 0.9, True, min(ts), max(ts))


def _hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def timelines() -> tuple[list[CampaignVerdict], dict[str, list[datetime]]]:
    table, times = _events(15)
    con = ibis.duckdb.connect()
    ev = con.create_table("events", table)
    big = _campaign("C-big", [f"a{k:02d}" for k in range(14)], times)
    small = _campaign("C-small", ["a14"], times)
    requests = {a: len(ts) for a, ts in times.items()}
    _add_timelines(ev, [big, small], requests)
    con.disconnect()
    return [big, small], times


def test_timeline_counts_equal_the_events(timelines):
    campaigns, times = timelines
    for camp in campaigns:
        tl = camp.timeline
        assert tl is not None and tl.hours_per_cell == 1
        assert tl.start == _hour(camp.first_seen)
        busiest = sorted(camp.account_ids, key=lambda a: (-len(times[a]), a))[:12]
        assert list(tl.rows) == busiest
        for acct, counts in tl.rows.items():
            expected = Counter(
                int((_hour(t) - tl.start).total_seconds()) // 3600 for t in times[acct]
            )
            assert {i: n for i, n in enumerate(counts) if n} == dict(expected)
        rest = [t for a in camp.account_ids if a not in tl.rows for t in times[a]]
        assert tl.n_others == len(camp.account_ids) - len(tl.rows)
        assert sum(tl.others) == len(rest)
        assert sum(map(sum, tl.rows.values())) + sum(tl.others) == camp.n_requests
    assert campaigns[0].timeline.n_others == 2
    assert campaigns[1].timeline.others == []


def test_timeline_chart_cells_and_titles_match_the_counts(timelines):
    campaigns, _ = timelines
    tl = campaigns[0].timeline
    svg = timeline_chart(tl, title="t")
    assert svg.startswith('<svg class="chart') and "<script" not in svg
    rows = dict(ROW.findall(svg))
    assert list(rows) == [*tl.rows, "others"]
    for key, counts in [*tl.rows.items(), ("others", tl.others)]:
        cells = _cells(rows[key])
        assert {i: n for i, (n, _, _) in cells.items()} == {i: n for i, n in enumerate(counts) if n}
        name = key if key != "others" else f"{tl.n_others} other accounts"
        for i, (_, shown_name, hour) in cells.items():
            assert shown_name == name and hour == tl.start + timedelta(hours=i)
    # the axis names the days the window crosses
    assert "Tue 03 Mar" in svg


def test_long_windows_get_several_hours_per_cell():
    table, times = _events(2)
    late = T0 + timedelta(days=40)
    table = pa.concat_tables(
        [
            table,
            pa.table(
                {"account_id": ["a00"], "ts": pa.array([late], table.schema.field("ts").type)}
            ),
        ]
    )
    times["a00"].append(late)
    con = ibis.duckdb.connect()
    camp = _campaign("C-long", ["a00", "a01"], times)
    _add_timelines(con.create_table("events", table), [camp], {"a00": 4, "a01": 5})
    con.disconnect()
    tl = camp.timeline
    assert tl is not None and tl.hours_per_cell == 3  # 961 hours over at most 336 cells
    assert len(tl.rows["a00"]) <= 336
    assert sum(tl.rows["a00"]) == 4 and tl.rows["a00"][-1] == 1
    assert "requests per 3 hours" in timeline_chart(tl)


# ---------------------------------------------------------------- linkage picture

ACCOUNTS = ["acct-1", "acct-2", "acct-3", "acct-4", "acct-5"]
LINKS = [
    LinkEvidence("payment_fingerprint", "pf_9", 3, 3, 2.5, ("acct-1", "acct-2", "acct-3")),
    LinkEvidence(
        "ip_prefix", "198.51.100.0/24", 4, 9, 0.7, ("acct-2", "acct-3", "acct-4", "acct-5")
    ),
    LinkEvidence("template", "head: solve step by step", 2, 2, 0.5, ("acct-4", "acct-5")),
]


def _small_result() -> ScanResult:
    accounts = [
        AccountVerdict(a, 0.9 - i / 10, i < 2, 10, T0, T0, "C-1") for i, a in enumerate(ACCOUNTS)
    ]
    camp = CampaignVerdict("C-1", ACCOUNTS, 50, 0.9, False, T0, T0, links=list(LINKS))
    camp.timeline = Timeline(_hour(T0), 1, {"acct-1": [4, 0, 2]})
    return ScanResult(accounts, [camp], IngestSummary(), T0, T0, 0.5, 50)


def _svgs(page: str, cls: str) -> list[str]:
    return [s for s in SVG.findall(page) if f'class="chart {cls}"' in s]


def test_graph_has_a_node_per_account_and_an_edge_per_link():
    page = render_report(_small_result())
    (svg,) = _svgs(page, "linkage")
    nodes = re.findall(r'<g class="node" data-account="([^"]+)">', svg)
    assert sorted(nodes) == ACCOUNTS
    links = re.findall(r'<g class="link" data-kind="([^"]+)"[^>]*>(.*?)</g>', svg, re.DOTALL)
    assert [k for k, _ in links] == [x.kind for x in LINKS]  # strongest first
    for (_, body), link in zip(links, LINKS, strict=True):
        assert body.count("<line") == len(link.account_ids)  # one spoke per sharing account
        assert f"{link.n_accounts} accounts of the campaign" in body
    for kind in ("payment_fingerprint (1)", "ip_prefix (1)", "template (1)"):
        assert kind in svg  # the legend


def test_graph_layout_is_deterministic_and_groups_sharers():
    first = linkage_chart(ACCOUNTS, LINKS)
    assert first == linkage_chart(list(ACCOUNTS), list(LINKS))
    assert first != linkage_chart(ACCOUNTS, LINKS[:1])


def test_graph_skips_links_without_two_shown_accounts():
    lonely = LinkEvidence("org", "o-1", 2, 2, 0.3, ("acct-1", "elsewhere"))
    svg = linkage_chart(ACCOUNTS, [*LINKS, lonely])
    assert svg.count('class="link"') == len(LINKS)


def test_report_shows_the_timeline_chart():
    page = render_report(_small_result())
    (svg,) = _svgs(page, "timeline")
    assert [t for _, _, t in CELL.findall(svg)] == [
        "acct-1, 2026-03-02 21:00 UTC, 4 requests",
        "acct-1, 2026-03-02 23:00 UTC, 2 requests",
    ]
    assert "The 1 busiest of its 5 accounts." in page


def test_big_campaign_graph_shows_whole_links_first():
    many = [f"m{k:02d}" for k in range(60)]
    ring = LinkEvidence("payment", "card", 30, 30, 2.0, tuple(many[30:]))
    weak = LinkEvidence("org", "o", 20, 20, 0.4, tuple(many[:20]))
    accounts = [
        AccountVerdict(a, 0.99 - k / 100, True, 5, T0, T0, "C-9") for k, a in enumerate(many)
    ]
    camp = CampaignVerdict("C-9", many, 300, 0.9, True, T0, T0, links=[weak, ring])
    page = render_report(ScanResult(accounts, [camp], IngestSummary(), T0, T0, 0.5, 300))
    (svg,) = _svgs(page, "linkage")
    nodes = re.findall(r'<g class="node" data-account="([^"]+)">', svg)
    assert len(nodes) == 40 and set(many[30:]) <= set(nodes)  # the strongest link, whole
    assert set(nodes) - set(many[30:]) == set(many[:10])  # then the riskiest of the next

"""``report.html``: one self-contained page an analyst reads offline.

Inline CSS, inline SVG charts, no script, nothing loaded from anywhere (a
Content-Security-Policy forbids it too); the only links leaving the page are to the
MITRE ATLAS technique pages. Every value that comes from the input is escaped
(:mod:`distillwatch.outputs.html` escapes by default).

Each campaign shows its timeline (requests per hour of its busiest accounts,
:func:`~distillwatch.outputs.svg.timeline_chart`), its signal contributions, a picture of
its linkage graph (:mod:`~distillwatch.outputs.graph_svg`), the shared attributes, ATLAS
techniques, sample prompts (truncated; ``redact_prompts=True`` replaces them, and the
template texts in the links, by their length) and, when flagged, a preview of exactly the
STIX objects ``distillwatch intel build`` would publish about it (:func:`share_preview`).

>>> from distillwatch.results import IngestSummary, ScanResult
>>> page = render_report(ScanResult([], [], IngestSummary(), None, None, 0.5, 0), org_name="acme")
>>> page.startswith("<!DOCTYPE html>") and "No campaigns" in page
True
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from distillwatch.outputs.atlas import AtlasCatalog, load_atlas
from distillwatch.outputs.evidence import key_fields
from distillwatch.outputs.fmt import fmt_risk, human_time, ranked_accounts, ranked_campaigns
from distillwatch.outputs.fmt import truncate as cut
from distillwatch.outputs.graph_svg import MAX_NODES, linkage_chart
from distillwatch.outputs.html import Html, esc, facts, join, table, tag
from distillwatch.outputs.ids import campaign_pseudonym
from distillwatch.outputs.share_preview import MAX_PREVIEWS, SharePreview, share_preview
from distillwatch.outputs.svg import contribution_chart, timeline_chart
from distillwatch.results import (
    AccountVerdict,
    CampaignVerdict,
    LinkEvidence,
    ScanResult,
    SignalHit,
)

if TYPE_CHECKING:
    from distillwatch.intel.keys import Keyring

PROMPT_CHARS = 200
MAX_MEMBERS = 20
MAX_SOLO = 200

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"

CSS = """
:root { --fg:#1d2330; --muted:#5b6475; --line:#d9dde5; --bg:#fff; --soft:#f5f7fa;
        --red:#c0392b; --amber:#b9770e; --ok:#1e8449; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
       color:var(--fg); background:var(--bg); }
main { max-width:1100px; margin:0 auto; padding:24px 28px 64px; }
h1 { font-size:1.7em; margin:.2em 0; } h2 { border-bottom:2px solid var(--line);
     padding-bottom:.2em; margin-top:2em; } h3 { margin:1.6em 0 .4em; } h4 { margin:1.2em 0 .3em;
     color:var(--muted); font-size:.95em; text-transform:uppercase; letter-spacing:.04em; }
.meta, .note { color:var(--muted); }
nav.toc { background:var(--soft); border:1px solid var(--line); border-radius:6px;
          padding:10px 18px; } nav.toc ol { margin:.3em 0; }
a { color:#1f5fa8; }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:2px 16px; margin:.5em 0; }
dl.facts dt { color:var(--muted); } dl.facts dd { margin:0; font-variant-numeric:tabular-nums; }
table { border-collapse:collapse; width:100%; margin:.4em 0 1em; font-size:.92em; }
th, td { text-align:left; vertical-align:top; padding:4px 8px;
         border-bottom:1px solid var(--line); }
th { background:var(--soft); }
tbody tr:nth-child(even) { background:#fafbfc; }
.badge { display:inline-block; font-size:.72em; padding:1px 8px; border-radius:10px;
         vertical-align:middle; color:#fff; background:var(--muted); }
.badge.flagged { background:var(--red); }
section.campaign { border:1px solid var(--line); border-radius:8px; padding:4px 20px 12px;
                   margin:18px 0; }
blockquote.prompt { margin:.3em 0; padding:6px 10px; background:var(--soft);
                    border-left:3px solid var(--line); white-space:pre-wrap;
                    overflow-wrap:anywhere; font:13px/1.4 ui-monospace,Menlo,Consolas,monospace; }
details.share summary { cursor:pointer; }
pre.stix { max-height:32em; overflow:auto; background:var(--soft); padding:8px 10px;
           font:12px/1.35 ui-monospace,Menlo,Consolas,monospace; }
ul.ev { margin:0; padding-left:1.1em; } code { font-size:.92em; overflow-wrap:anywhere; }
svg.chart { max-width:100%; height:auto; }
svg.chart text { font:12px system-ui,sans-serif; fill:var(--fg); }
@media print { nav.toc { display:none; } section.campaign { break-inside:avoid; } }
"""


def _version() -> str:
    try:
        return version("distillwatch")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _hit_summary(hit: SignalHit) -> str:
    return hit.summary or f"score {hit.score:.3f}"


def _evidence_list(hit: SignalHit) -> Html:
    items = key_fields(hit.evidence)
    if not items:
        return Html("")
    return tag("ul", *(tag("li", tag("code", k), ": ", v) for k, v in items), class_="ev")


def _signals_table(hits: Sequence[SignalHit]) -> Html:
    rows = [
        (
            tag("code", h.signal_id),
            f"{h.score:.3f}",
            f"{h.contribution:+.3f}",
            _hit_summary(h),
            _evidence_list(h),
        )
        for h in sorted(hits, key=lambda h: (-h.contribution, h.signal_id))
    ]
    return table(["signal", "score", "contribution", "summary", "key evidence"], rows)


def _top_signal_text(account: AccountVerdict) -> str:
    return ", ".join(account.top_signals()) or "—"


def _account_cell(account_id: str, href: Callable[[str], str] | None) -> Html:
    code = tag("code", account_id)
    return tag("a", code, href=href(account_id)) if href is not None else code


def _members(
    camp: CampaignVerdict,
    by_id: dict[str, AccountVerdict],
    account_href: Callable[[str], str] | None = None,
) -> Html:
    known = ranked_accounts([by_id[a] for a in dict.fromkeys(camp.account_ids) if a in by_id])
    shown = known[:MAX_MEMBERS]
    rows = [
        (
            _account_cell(a.account_id, account_href),
            fmt_risk(a.risk),
            fmt_risk(a.own_risk),
            "yes" if a.flagged else "no",
            f"{a.n_requests:,}",
            _top_signal_text(a),
        )
        for a in shown
    ]
    total = len(camp.account_ids)
    heading = tag("h4", f"Member accounts (top {len(shown)} of {total} by risk)")
    body = table(["account", "risk", "own risk", "flagged", "requests", "top signals"], rows)
    missing = total - len(known)
    note = (
        tag("p", f"{missing} member account(s) have no account verdict.", class_="note")
        if missing > 0
        else Html("")
    )
    return join([heading, body, note])


def _redacted(text: str, what: str) -> str:
    """The placeholder standing for *text* in a redacted report.

    >>> _redacted("abc", "prompt")
    '[prompt redacted, 3 chars]'
    """
    return f"[{what} redacted, {len(text)} chars]"


def _link_value(link: LinkEvidence, redact: bool) -> str:
    return _redacted(link.value, "template") if redact and link.kind == "template" else link.value


def _links(camp: CampaignVerdict, redact: bool = False) -> Html:
    heading = tag("h4", "Shared attributes linking its accounts")
    if not camp.links:
        return join([heading, tag("p", "No linkage evidence recorded.", class_="note")])
    rows = [
        (
            tag("code", link.kind),
            tag("code", _link_value(link, redact)),
            link.n_accounts,
            link.n_accounts_total,
            f"{link.weight:.3f}",
        )
        for link in sorted(camp.links, key=lambda x: (-x.weight, x.kind, x.value))
    ]
    head = ["attribute", "value", "accounts in campaign", "accounts in input", "edge weight"]
    return join([heading, table(head, rows)])


def _behaviour(camp: CampaignVerdict, redact: bool = False) -> Html:
    if not camp.behaviour:
        return Html("")
    heading = tag("h4", "Parts joined by behaviour (same prompt templates and client)")
    rows = [
        (
            ", ".join(f"{k} {v:.3f}" for k, v in sorted(b.similarity.items())),
            "yes" if b.linked else "no",
            f"{b.n_accounts_left} + {b.n_accounts_right}",
            join([tag("div", tag("code", _shared_text(t, redact))) for t in b.shared]),
        )
        for b in sorted(camp.behaviour, key=lambda x: -max(x.similarity.values(), default=0.0))
    ]
    head = ["similarity", "weak link too", "accounts joined", "shared most"]
    return join([heading, table(head, rows)])


def _shared_text(text: str, redact: bool) -> str:
    if redact and text.startswith("template "):
        return _redacted(text, "template")
    return text


def _techniques(camp: CampaignVerdict, atlas: AtlasCatalog) -> Html:
    heading = tag("h4", "MITRE ATLAS techniques")
    if not camp.techniques:
        return join([heading, tag("p", "None mapped.", class_="note")])
    items = []
    for tech_id in dict.fromkeys(camp.techniques):
        tech = atlas.get(tech_id)
        if tech is None:
            items.append(tag("li", tag("code", tech_id), " (not in atlas.toml; not shared)"))
        else:
            link = tag("a", tech.id, href=tech.url, rel="noopener noreferrer")
            items.append(tag("li", link, " ", tech.name))
    return join([heading, tag("ul", *items)])


def _prompts(camp: CampaignVerdict, redact: bool = False) -> Html:
    heading = tag("h4", "Sample prompts")
    if not camp.sample_prompts:
        return join([heading, tag("p", "No sample prompts.", class_="note")])
    if redact:
        quotes = (
            tag("blockquote", _redacted(p, "prompt"), class_="prompt") for p in camp.sample_prompts
        )
        return join([heading, *quotes])
    quotes = (tag("blockquote", cut(p, PROMPT_CHARS), class_="prompt") for p in camp.sample_prompts)
    note = tag("p", f"Each cut to {PROMPT_CHARS} characters.", class_="note")
    return join([heading, *quotes, note])


def _timeline(camp: CampaignVerdict) -> Html:
    heading = tag("h4", "Timeline (requests per hour, UTC)")
    tl = camp.timeline
    chart = timeline_chart(tl, title=f"Requests per hour of {camp.campaign_id}") if tl else ""
    if not chart or tl is None:
        return join([heading, tag("p", "No timeline recorded.", class_="note")])
    shown = len(tl.rows)
    text = f"The {shown} busiest of its {len(camp.account_ids)} accounts"
    text += f", then the other {tl.n_others} summed." if tl.n_others else "."
    if tl.hours_per_cell > 1:
        text += f" Long window: one cell is {tl.hours_per_cell} hours."
    return join([heading, Html(chart), tag("p", text, class_="note")])


def _linkage(camp: CampaignVerdict, by_id: dict[str, AccountVerdict], redact: bool) -> Html:
    heading = tag("h4", "Linkage graph")
    if not any(link.account_ids for link in camp.links):
        return Html("")  # links recorded without their accounts: nothing to draw
    members = list(dict.fromkeys(camp.account_ids))
    risk = {a: by_id[a].risk if a in by_id else -1.0 for a in members}
    # whole links first (strongest first), so the picture shows complete stars
    chosen: dict[str, None] = {}
    for link in sorted(camp.links, key=lambda x: (-x.weight, x.kind, x.value)):
        inside = sorted((a for a in link.account_ids if a in risk), key=lambda a: (-risk[a], a))
        chosen.update(dict.fromkeys(inside[: MAX_NODES - len(chosen)]))
    chosen.update(dict.fromkeys(sorted(members, key=lambda a: (-risk[a], a))))
    shown = list(chosen)[:MAX_NODES]
    chart = linkage_chart(
        shown,
        camp.links,
        flagged={a for a in shown if a in by_id and by_id[a].flagged},
        value_label=lambda link: _link_value(link, redact),
        title=f"Linkage graph of {camp.campaign_id}",
    )
    pos = set(shown)
    undrawn = sum(1 for x in camp.links if len(pos.intersection(x.account_ids)) < 2)
    text = (
        f"Nodes: {len(shown)} of its {len(members)} accounts, the members of its strongest "
        "links first (red: flagged). "
        "Each coloured star is one shared attribute joining the accounts that share it."
    )
    if undrawn:
        text += (
            f" {undrawn} attribute(s) not drawn: fewer than two of the shown accounts hold them."
        )
    return join([heading, Html(chart), tag("p", text, class_="note")])


def _share(camp: CampaignVerdict, preview: SharePreview | None) -> Html:
    heading = tag("h4", "What would be shared")
    if not camp.flagged:
        return join([heading, tag("p", "Not flagged: nothing about it is shared.", class_="note")])
    if preview is None:
        return join([heading, tag("p", "No share preview built.", class_="note")])
    if camp.campaign_id not in preview.objects and not preview.error:
        note = f"Not previewed (only the {MAX_PREVIEWS} highest-risk flagged campaigns are)."
        return join([heading, tag("p", note, class_="note")])
    if preview.error:
        return join(
            [heading, tag("p", f"Share preview unavailable: {preview.error}", class_="note")]
        )
    objects = preview.objects.get(camp.campaign_id, [])
    counts: dict[str, int] = {}
    for o in objects:
        counts[str(o.get("type"))] = counts.get(str(o.get("type")), 0) + 1
    what = ", ".join(f"{n} {t}" for t, n in counts.items())
    text = json.dumps(objects, indent=1, ensure_ascii=False)
    body = tag(
        "details",
        tag("summary", f"{len(objects)} STIX objects ({what})"),
        tag("pre", text, class_="stix"),
        class_="share",
    )
    return join([heading, tag("p", preview.note, class_="note"), body])


def campaign_parts(
    camp: CampaignVerdict,
    by_id: dict[str, AccountVerdict],
    atlas: AtlasCatalog,
    org_name: str,
    *,
    redact: bool = False,
    preview: SharePreview | None = None,
    account_href: Callable[[str], str] | None = None,
) -> dict[str, Html]:
    """The evidence sections of one campaign, by name, in reading order: ``facts``,
    ``timeline``, ``signals``, ``linkage``, ``links``, ``behaviour``, ``techniques``,
    ``prompts``, ``share``, ``members``. The report shows them all; the console
    (:mod:`distillwatch.console`) shows the same sections on a campaign's page, with
    member accounts linked through ``account_href``."""
    info: list[tuple[str, object]] = [
        ("risk", fmt_risk(camp.risk)),
        ("accounts", len(camp.account_ids)),
        ("requests", f"{camp.n_requests:,}"),
        ("first seen", human_time(camp.first_seen)),
        ("last seen", human_time(camp.last_seen)),
    ]
    if camp.actor_id:
        info.append(("actor", tag("code", camp.actor_id)))
    if camp.flagged:
        info.append(
            ("shared in intel.json as", tag("code", campaign_pseudonym(camp.campaign_id, org_name)))
        )
    return {
        "facts": facts(info),
        "timeline": _timeline(camp),
        "signals": signals_section(camp.hits, camp.campaign_id),
        "linkage": _linkage(camp, by_id, redact),
        "links": _links(camp, redact),
        "behaviour": _behaviour(camp, redact),
        "techniques": _techniques(camp, atlas),
        "prompts": _prompts(camp, redact),
        "share": _share(camp, preview),
        "members": _members(camp, by_id, account_href),
    }


def signals_section(hits: Sequence[SignalHit], subject: str) -> Html:
    """The contribution chart and the signal table of one subject (campaign or account)."""
    chart = contribution_chart(list(hits), title=f"Signal contributions of {subject}")
    return join(
        [
            tag("h4", "Signal contributions (log-odds)"),
            Html(chart) if chart else tag("p", "No signal contributions recorded.", class_="note"),
            _signals_table(hits) if hits else Html(""),
        ]
    )


def flag_badge(flagged: bool) -> Html:
    return tag(
        "span",
        "flagged" if flagged else "below threshold",
        class_="badge flagged" if flagged else "badge",
    )


def _campaign(
    rank: int,
    camp: CampaignVerdict,
    by_id: dict[str, AccountVerdict],
    atlas: AtlasCatalog,
    org_name: str,
    *,
    redact: bool = False,
    preview: SharePreview | None = None,
) -> Html:
    title = tag("h3", f"{rank}. ", tag("code", camp.campaign_id), " ", flag_badge(camp.flagged))
    parts = campaign_parts(camp, by_id, atlas, org_name, redact=redact, preview=preview)
    return tag("section", title, *parts.values(), class_="campaign", id=f"campaign-{rank}")


def _summary(result: ScanResult, n_flagged_campaigns: int) -> Html:
    ingest = result.ingest
    n_flagged = sum(1 for a in result.accounts if a.flagged)
    window = f"{human_time(result.window_start)} to {human_time(result.window_end)}"
    info: list[tuple[str, object]] = [
        ("events", f"{result.n_events:,}"),
        ("accounts", f"{len(result.accounts):,}"),
        ("flagged accounts", f"{n_flagged:,}"),
        ("campaigns", f"{len(result.campaigns):,} ({n_flagged_campaigns:,} flagged)"),
        ("records read", f"{ingest.n_read:,}"),
        ("duplicates dropped", f"{ingest.n_duplicates:,}"),
        ("quarantined records", f"{ingest.n_quarantined:,}"),
        ("time window", window),
        ("operating threshold", f"{result.threshold:.3f}"),
    ]
    parts = [tag("h2", "Summary", id="summary"), facts(info)]
    if ingest.quarantined:
        rows = sorted(ingest.quarantined.items(), key=lambda kv: (-kv[1], kv[0]))
        parts += [tag("h4", "Quarantined records by reason"), table(["reason", "records"], rows)]
    if ingest.warnings:
        rows = sorted(ingest.warnings.items(), key=lambda kv: (-kv[1], kv[0]))
        parts += [tag("h4", "Accepted with a warning"), table(["reason", "records"], rows)]
    if ingest.sources:
        parts += [
            tag("h4", "Sources"),
            tag("ul", *(tag("li", tag("code", s)) for s in ingest.sources)),
        ]
    return join(parts)


def _solo(accounts: list[AccountVerdict]) -> Html:
    heading = tag("h2", f"Flagged accounts not in any campaign ({len(accounts)})", id="solo")
    if not accounts:
        return join([heading, tag("p", "None.", class_="note")])
    shown = accounts[:MAX_SOLO]
    rows = []
    for a in shown:
        top = sorted((h for h in a.hits if h.contribution > 0), key=lambda h: -h.contribution)[:3]
        why = tag(
            "ul",
            *(tag("li", tag("code", h.signal_id), ": ", _hit_summary(h)) for h in top),
            class_="ev",
        )
        rows.append(
            (
                tag("code", a.account_id),
                fmt_risk(a.risk),
                fmt_risk(a.own_risk),
                f"{a.n_requests:,}",
                human_time(a.first_seen),
                human_time(a.last_seen),
                why,
            )
        )
    head = ["account", "risk", "own risk", "requests", "first seen", "last seen", "top signals"]
    note = Html("")
    if len(accounts) > len(shown):
        note = tag(
            "p", f"Showing {len(shown)} of {len(accounts)}; see accounts.csv.", class_="note"
        )
    return join([heading, table(head, rows), note])


def _toc(campaigns: list[CampaignVerdict], n_solo: int) -> Html:
    items = [
        tag(
            "li",
            tag("a", c.campaign_id, href=f"#campaign-{i}"),
            f" (risk {c.risk:.3f}{', flagged' if c.flagged else ''})",
        )
        for i, c in enumerate(campaigns, 1)
    ]
    sub = tag("ol", *items) if items else Html("")
    return tag(
        "nav",
        tag("strong", "Contents"),
        tag(
            "ol",
            tag("li", tag("a", "Summary", href="#summary")),
            tag(
                "li",
                tag("a", f"Campaigns ranked by risk ({len(campaigns)})", href="#campaigns"),
                sub,
            ),
            tag("li", tag("a", f"Flagged accounts not in any campaign ({n_solo})", href="#solo")),
        ),
        class_="toc",
    )


def render_report(
    result: ScanResult,
    *,
    org_name: str = "distillwatch-local",
    atlas: AtlasCatalog | None = None,
    redact_prompts: bool = False,
    share_keyring: Keyring | None = None,
    share_tlp: str = "amber",
) -> str:
    """The complete report.html text for *result*.

    ``redact_prompts`` replaces every sample prompt and template text by its length.
    The share preview of each flagged campaign is built as ``distillwatch intel build
    --org org_name --tlp share_tlp`` would build it: with ``share_keyring`` (the trust
    group's keys) its keyed digests are the real ones; without, they are numbered
    placeholders (see :func:`share_preview`).
    """
    catalog = atlas if atlas is not None else load_atlas()
    campaigns = ranked_campaigns(result.campaigns)
    by_id = {a.account_id: a for a in result.accounts}
    campaign_ids = {c.campaign_id for c in campaigns}
    solo = ranked_accounts(
        [a for a in result.accounts if a.flagged and (a.campaign_id not in campaign_ids)]
    )
    n_flagged_campaigns = sum(1 for c in campaigns if c.flagged)
    window = f"{human_time(result.window_start)} to {human_time(result.window_end)}"
    header = join(
        [
            tag("h1", "distillwatch scan report"),
            tag("p", f"{org_name} · traffic from {window}", class_="meta"),
        ]
    )
    if campaigns:
        preview = share_preview(
            result, org_name=org_name, keyring=share_keyring, tlp_level=share_tlp, atlas=catalog
        )
        sections = [
            _campaign(i, c, by_id, catalog, org_name, redact=redact_prompts, preview=preview)
            for i, c in enumerate(campaigns, 1)
        ]
        body_campaigns = join([tag("h2", "Campaigns ranked by risk", id="campaigns"), *sections])
    else:
        body_campaigns = join(
            [
                tag("h2", "Campaigns ranked by risk", id="campaigns"),
                tag("p", "No campaigns detected.", class_="note"),
            ]
        )
    footer = tag("p", f"Generated by distillwatch {_version()}.", class_="meta")
    main = tag(
        "main",
        header,
        _toc(campaigns, len(solo)),
        _summary(result, n_flagged_campaigns),
        body_campaigns,
        _solo(solo),
        tag("footer", footer),
    )
    head = join(
        [
            Html('<meta charset="utf-8">'),
            Html(f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'),
            Html('<meta name="viewport" content="width=device-width, initial-scale=1">'),
            Html('<meta name="referrer" content="no-referrer">'),
            tag("title", f"distillwatch scan report: {org_name}"),
            Html(f"<style>{CSS}</style>"),
        ]
    )
    return f'<!DOCTYPE html>\n<html lang="en">\n<head>{head}</head>\n<body>{main}</body>\n</html>\n'

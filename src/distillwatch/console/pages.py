"""The console's pages, rendered on the server from one scan result and the case store.

No script runs in the console: sorting and filtering are links and GET forms, decisions
and shares are POST forms carrying the session's CSRF token. The evidence sections are
the report's own (:func:`distillwatch.outputs.report.campaign_parts`), so the console and
``report.html`` always show the same evidence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode

from distillwatch.cases.model import DECISIONS, Decision
from distillwatch.console.share import SHARE_LEVELS
from distillwatch.outputs.fmt import fmt_risk, human_time
from distillwatch.outputs.html import Html, esc, facts, join, table, tag
from distillwatch.outputs.report import CSS, flag_badge, signals_section
from distillwatch.outputs.svg import timeline_chart
from distillwatch.results import AccountVerdict, CampaignVerdict, Timeline

if TYPE_CHECKING:
    from distillwatch.cases.audit import AuditEntry, ChainReport
    from distillwatch.console.share import SharePlan

CONSOLE_CSS = """
header.bar { background:#1d2330; color:#fff; padding:8px 28px; display:flex; gap:22px;
             align-items:center; }
header.bar a { color:#fff; text-decoration:none; font-weight:600; }
header.bar a.here { text-decoration:underline; }
header.bar .who { margin-left:auto; color:#c9d1de; }
header.bar form { display:inline; margin:0; }
header.bar button { background:none; border:1px solid #c9d1de; color:#fff; border-radius:4px;
                    cursor:pointer; }
form.filters { display:flex; flex-wrap:wrap; gap:10px 16px; align-items:end;
               background:var(--soft); border:1px solid var(--line); border-radius:6px;
               padding:10px 14px; margin:10px 0; }
form.filters label { display:flex; flex-direction:column; font-size:.85em; color:var(--muted); }
form.decide { border:1px solid var(--line); border-radius:6px; padding:10px 14px;
              background:var(--soft); margin:10px 0; }
form.decide textarea { width:100%; min-height:3.2em; font:inherit; }
form.decide .buttons { display:flex; gap:10px; margin-top:6px; }
button.confirm { background:var(--red); color:#fff; border:0; padding:5px 14px;
                 border-radius:4px; cursor:pointer; }
button.dismiss { background:var(--ok); color:#fff; border:0; padding:5px 14px;
                 border-radius:4px; cursor:pointer; }
button.escalate { background:var(--amber); color:#fff; border:0; padding:5px 14px;
                  border-radius:4px; cursor:pointer; }
.decision { display:inline-block; font-size:.75em; padding:1px 8px; border-radius:10px;
            color:#fff; background:var(--muted); }
.decision.confirm { background:var(--red); } .decision.dismiss { background:var(--ok); }
.decision.escalate { background:var(--amber); }
.flash { padding:8px 12px; border-radius:6px; background:#eaf5ea; border:1px solid #b7dfb7; }
.flash.error { background:#fbeaea; border-color:#e6b3b3; }
th a { color:inherit; }
table.campaigns td:first-child, table.accounts td:first-child { white-space:nowrap; }
"""

#: campaign list columns that sort, and the key each sorts by
CAMPAIGN_SORTS: dict[str, Callable[[CampaignVerdict], Any]] = {
    "risk": lambda c: c.risk,
    "accounts": lambda c: len(c.account_ids),
    "requests": lambda c: c.n_requests,
    "first_seen": lambda c: c.first_seen,
    "last_seen": lambda c: c.last_seen,
}
ACCOUNT_SORTS: dict[str, Callable[[AccountVerdict], Any]] = {
    "risk": lambda a: a.risk,
    "own_risk": lambda a: a.own_risk,
    "requests": lambda a: a.n_requests,
    "first_seen": lambda a: a.first_seen,
    "last_seen": lambda a: a.last_seen,
}
PAGE_SIZE = 200
T = TypeVar("T", CampaignVerdict, AccountVerdict)
NOTHING = Html("")
DECISION_FILTERS = ("any", "undecided", *DECISIONS)


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and what their forms must carry."""

    analyst: str
    csrf: str  # "" when the caller authenticated with a bearer token


def campaign_href(campaign_id: str) -> str:
    return "/campaigns/" + quote(campaign_id, safe="")


def account_href(account_id: str) -> str:
    return "/accounts/" + quote(account_id, safe="")


def layout(title: str, body: Html, viewer: Viewer | None, *, here: str = "") -> str:
    """A whole page: the navigation bar, then *body*."""
    nav: list[object] = []
    if viewer is not None:
        for path, label in (
            ("/campaigns", "Campaigns"),
            ("/accounts", "Accounts"),
            ("/intel", "Intel"),
            ("/audit", "Audit trail"),
        ):
            nav.append(tag("a", label, href=path, class_="here" if path == here else None))
        nav.append(tag("span", "signed in as ", tag("strong", viewer.analyst), class_="who"))
        nav.append(
            tag(
                "form",
                _csrf(viewer),
                tag("button", "Sign out", type="submit"),
                method="post",
                action="/logout",
            )
        )
    else:
        nav.append(tag("a", "distillwatch console", href="/login"))
    head = join(
        [
            Html('<meta charset="utf-8">'),
            Html('<meta name="viewport" content="width=device-width, initial-scale=1">'),
            Html('<meta name="referrer" content="no-referrer">'),
            tag("title", f"{title} · distillwatch console"),
            Html(f"<style>{CSS}{CONSOLE_CSS}</style>"),
        ]
    )
    page = join([tag("header", *nav, class_="bar"), tag("main", tag("h1", title), body)])
    return f'<!DOCTYPE html>\n<html lang="en">\n<head>{head}</head>\n<body>{page}</body>\n</html>\n'


def _csrf(viewer: Viewer) -> Html:
    return Html(f'<input type="hidden" name="csrf" value="{esc(viewer.csrf)}">')


def flash(message: str, *, error: bool = False) -> Html:
    return tag("p", message, class_="flash error" if error else "flash", role="status")


def decision_badge(decision: Decision | None) -> Html:
    if decision is None:
        return tag("span", "undecided", class_="decision")
    return tag("span", decision.decision, class_=f"decision {decision.decision}")


# ------------------------------------------------------------------------------ login


def login_page(next_path: str, error: str = "") -> str:
    body = join(
        [
            flash(error, error=True) if error else Html(""),
            tag(
                "p",
                "The console needs an analyst token. An administrator issues one with "
                "`distillwatch ui analyst add NAME --cases FILE`.",
                class_="note",
            ),
            tag(
                "form",
                tag("label", "Token ", Html('<input type="password" name="token" required>')),
                Html(f'<input type="hidden" name="next" value="{esc(next_path)}">'),
                " ",
                tag("button", "Sign in", type="submit"),
                method="post",
                action="/login",
                class_="filters",
            ),
        ]
    )
    return layout("Sign in", body, None)


# ------------------------------------------------------------------------------ lists


def _sort_link(label: str, key: str, base: Mapping[str, str], sort: str, order: str) -> Html:
    flip = "asc" if sort == key and order == "desc" else "desc"
    arrow = (" ▼" if order == "desc" else " ▲") if sort == key else ""
    query = urlencode({**base, "sort": key, "order": flip})
    return tag("a", label + arrow, href=f"?{query}")


def _select(name: str, options: Iterable[str], chosen: str) -> Html:
    opts = join(
        Html(f'<option value="{esc(o)}"{" selected" if o == chosen else ""}>{esc(o)}</option>')
        for o in options
    )
    return Html(f'<select name="{esc(name)}">{opts}</select>')


def _filters(query: ListQuery) -> Html:
    return tag(
        "form",
        tag("label", "search id", Html(f'<input type="search" name="q" value="{esc(query.q)}">')),
        tag("label", "flagged", _select("flagged", ("any", "yes", "no"), query.flagged)),
        tag("label", "decision", _select("decision", DECISION_FILTERS, query.decision)),
        tag(
            "label",
            "min risk",
            Html(
                f'<input type="number" name="min_risk" min="0" max="1" step="0.01" '
                f'value="{query.min_risk:g}">'
            ),
        ),
        tag("button", "Filter", type="submit"),
        method="get",
        class_="filters",
    )


def _keep(decided: Decision | None, decision: str) -> bool:
    if decision == "any":
        return True
    if decision == "undecided":
        return decided is None
    return decided is not None and decided.decision == decision


@dataclass(frozen=True)
class ListQuery:
    """What a list page was asked for: filters, sort column and order, page."""

    q: str = ""
    flagged: str = "any"  # any | yes | no
    decision: str = "any"  # DECISION_FILTERS
    min_risk: float = 0.0
    sort: str = "risk"
    order: str = "desc"  # asc | desc
    page: int = 1

    def base(self) -> dict[str, str]:
        """The filters as query parameters (what sort links and paging keep)."""
        return {
            "q": self.q,
            "flagged": self.flagged,
            "decision": self.decision,
            "min_risk": f"{self.min_risk:g}",
        }

    def select(
        self,
        items: Sequence[T],
        id_of: Callable[[T], str],
        decided: Mapping[str, Decision],
        sorts: Mapping[str, Callable[[T], Any]],
    ) -> list[T]:
        """The items that pass the filters, sorted (ties by id)."""
        needle = self.q.lower()
        rows = [
            x
            for x in items
            if needle in id_of(x).lower()
            and (self.flagged == "any" or x.flagged == (self.flagged == "yes"))
            and x.risk >= self.min_risk
            and _keep(decided.get(id_of(x)), self.decision)
        ]
        rows.sort(key=id_of)
        rows.sort(key=sorts.get(self.sort, sorts["risk"]), reverse=self.order == "desc")
        return rows

    def headers(self, columns: Sequence[tuple[str, str | None]]) -> list[Html]:
        """Column headers; those with a sort key link to sorting by them."""
        return [
            _sort_link(label, key, self.base(), self.sort, self.order) if key else Html(label)
            for label, key in columns
        ]


def campaign_list(
    campaigns: Sequence[CampaignVerdict], decided: Mapping[str, Decision], query: ListQuery
) -> Html:
    """The filter form and the table of campaigns matching it, sorted."""
    rows = query.select(campaigns, lambda c: c.campaign_id, decided, CAMPAIGN_SORTS)
    headers = query.headers(
        [
            ("campaign", None),
            ("risk", "risk"),
            ("verdict", None),
            ("accounts", "accounts"),
            ("requests", "requests"),
            ("first seen", "first_seen"),
            ("last seen", "last_seen"),
            ("top signals", None),
            ("decision", None),
        ]
    )
    body = [
        (
            tag("a", tag("code", c.campaign_id), href=campaign_href(c.campaign_id)),
            fmt_risk(c.risk),
            flag_badge(c.flagged),
            f"{len(c.account_ids):,}",
            f"{c.n_requests:,}",
            human_time(c.first_seen),
            human_time(c.last_seen),
            ", ".join(c.top_signals()) or "—",
            decision_badge(decided.get(c.campaign_id)),
        )
        for c in rows
    ]
    count = tag(
        "p", f"{len(rows)} of {len(campaigns)} campaigns", class_="note", id="campaign-count"
    )
    return join([_filters(query), count, _table_html(headers, body, "campaigns")])


def _table_html(headers: Sequence[Html], rows: Iterable[Sequence[object]], cls: str) -> Html:
    # headers are markup (sort links): build the head row here instead of escaping them
    head = tag("thead", tag("tr", *(tag("th", h) for h in headers)))
    body = tag("tbody", *(tag("tr", *(tag("td", c) for c in row)) for row in rows))
    return tag("table", head, body, class_=cls)


def account_list(
    accounts: Sequence[AccountVerdict], decided: Mapping[str, Decision], query: ListQuery
) -> Html:
    """The filter form and one page of the accounts matching it."""
    rows = query.select(accounts, lambda a: a.account_id, decided, ACCOUNT_SORTS)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(query.page, 1), pages)
    shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    headers = query.headers(
        [
            ("account", None),
            ("risk", "risk"),
            ("own risk", "own_risk"),
            ("verdict", None),
            ("requests", "requests"),
            ("campaign", None),
            ("first seen", "first_seen"),
            ("last seen", "last_seen"),
            ("top signals", None),
            ("decision", None),
        ]
    )
    body = [
        (
            tag("a", tag("code", a.account_id), href=account_href(a.account_id)),
            fmt_risk(a.risk),
            fmt_risk(a.own_risk),
            flag_badge(a.flagged),
            f"{a.n_requests:,}",
            tag("a", tag("code", a.campaign_id), href=campaign_href(a.campaign_id))
            if a.campaign_id
            else "—",
            human_time(a.first_seen),
            human_time(a.last_seen),
            ", ".join(a.top_signals()) or "—",
            decision_badge(decided.get(a.account_id)),
        )
        for a in shown
    ]
    nav: list[object] = [f"{len(rows):,} of {len(accounts):,} accounts; page {page} of {pages}"]
    for label, target in (("previous", page - 1), ("next", page + 1)):
        if 1 <= target <= pages:
            paging = {"sort": query.sort, "order": query.order, "page": str(target)}
            nav += [" · ", tag("a", label, href=f"?{urlencode(query.base() | paging)}")]
    return join(
        [
            _filters(query),
            tag("p", *nav, class_="note", id="account-count"),
            _table_html(headers, body, "accounts"),
        ]
    )


# ------------------------------------------------------------------------------ subjects


def decision_form(viewer: Viewer, kind: str, subject_id: str, current: Decision | None) -> Html:
    """Confirm / dismiss / escalate, with a note."""
    buttons = tag(
        "div",
        *(
            Html(
                f'<button type="submit" name="decision" value="{d}" class="{d}">'
                f"{d.capitalize()}</button>"
            )
            for d in DECISIONS
        ),
        class_="buttons",
    )
    return tag(
        "form",
        tag("strong", "Decision: "),
        decision_badge(current),
        tag(
            "label",
            tag("div", "Note (who, why, ticket)"),
            Html('<textarea name="note"></textarea>'),
        ),
        _csrf(viewer),
        Html(f'<input type="hidden" name="kind" value="{esc(kind)}">'),
        Html(f'<input type="hidden" name="subject" value="{esc(subject_id)}">'),
        buttons,
        method="post",
        action="/decide",
        class_="decide",
        id="decide",
    )


def history(decisions: Sequence[Decision], scan_id: str) -> Html:
    """Every decision taken on a subject, newest first, those on earlier scans (of the
    same account or campaign id) included and marked."""
    heading = tag("h4", "Decisions")
    if not decisions:
        return join([heading, tag("p", "No decision yet.", class_="note", id="history")])
    rows = [
        (
            human_time(d.decided_at),
            d.analyst,
            decision_badge(d),
            d.note or "—",
            "this scan" if d.scan_id == scan_id else tag("code", d.scan_id),
        )
        for d in sorted(decisions, key=lambda d: (d.decided_at, d.id), reverse=True)
    ]
    head = ["when", "analyst", "decision", "note", "scan"]
    return join([heading, table(head, rows, class_="history")])


def campaign_page(
    camp: CampaignVerdict,
    parts: Mapping[str, Html],
    viewer: Viewer,
    decisions: Sequence[Decision],
    current: Decision | None,
    *,
    scan_id: str,
    notice: Html = NOTHING,
) -> Html:
    share = tag(
        "form",
        tag("label", "TLP", _select("tlp", SHARE_LEVELS, "amber")),
        tag("button", "Preview share", type="submit"),
        method="get",
        action=campaign_href(camp.campaign_id) + "/share",
        class_="filters",
        id="share-form",
    )
    share_box = (
        join([tag("h4", "Share with the trust group"), share])
        if camp.flagged
        else join(
            [
                tag("h4", "Share with the trust group"),
                tag("p", "Not flagged: nothing about it is shared.", class_="note"),
            ]
        )
    )
    order = ("facts", "timeline", "signals", "linkage", "links", "behaviour", "techniques")
    return join(
        [
            notice,
            tag("p", flag_badge(camp.flagged)),
            parts["facts"],
            decision_form(viewer, "campaign", camp.campaign_id, current),
            history(decisions, scan_id),
            share_box,
            *(parts[k] for k in order),
            parts["prompts"],
            parts["members"],
        ]
    )


def account_timeline(account_id: str, camp: CampaignVerdict | None) -> Html:
    """The account's row of its campaign's timeline, when the scan recorded one."""
    heading = tag("h4", "Timeline (requests per hour, UTC)")
    tl = camp.timeline if camp is not None else None
    if tl is None or account_id not in tl.rows:
        text = "No timeline recorded for this account (the scan records the busiest accounts "
        text += "of the riskiest campaigns)."
        return join([heading, tag("p", text, class_="note")])
    one = Timeline(tl.start, tl.hours_per_cell, {account_id: tl.rows[account_id]})
    return join([heading, Html(timeline_chart(one, title=f"Requests per hour of {account_id}"))])


def account_page(
    acc: AccountVerdict,
    camp: CampaignVerdict | None,
    viewer: Viewer,
    decisions: Sequence[Decision],
    current: Decision | None,
    *,
    scan_id: str,
    notice: Html = NOTHING,
) -> Html:
    info: list[tuple[str, object]] = [
        ("risk", fmt_risk(acc.risk)),
        ("own risk", fmt_risk(acc.own_risk)),
        ("requests", f"{acc.n_requests:,}"),
        ("first seen", human_time(acc.first_seen)),
        ("last seen", human_time(acc.last_seen)),
        (
            "campaign",
            tag("a", tag("code", acc.campaign_id), href=campaign_href(acc.campaign_id))
            if acc.campaign_id
            else "none",
        ),
    ]
    return join(
        [
            notice,
            tag("p", flag_badge(acc.flagged)),
            facts(info),
            decision_form(viewer, "account", acc.account_id, current),
            history(decisions, scan_id),
            account_timeline(acc.account_id, camp),
            signals_section(acc.hits, acc.account_id),
        ]
    )


def share_page(
    camp: CampaignVerdict,
    plan: SharePlan,
    viewer: Viewer,
    *,
    can_publish: str,
    notice: Html = NOTHING,
) -> Html:
    """The exact objects a share would publish, and the publish button (or why not)."""
    what = ", ".join(f"{n} {t}" for t, n in plan.counts().items())
    note = (
        "Built with the trust group's keys: this is exactly what will be published."
        if plan.keyed
        else "Built without the trust group's keys: keyed digests and sketches are shown as "
        "placeholders, and publishing is off (start the console with --key-file)."
    )
    levels = tag(
        "form",
        tag("label", "TLP", _select("tlp", SHARE_LEVELS, plan.tlp)),
        tag("button", "Preview again", type="submit"),
        method="get",
        class_="filters",
    )
    if can_publish:
        action = tag("p", f"Publishing is off: {can_publish}", class_="note", id="publish-off")
    else:
        action = tag(
            "form",
            _csrf(viewer),
            Html(f'<input type="hidden" name="tlp" value="{esc(plan.tlp)}">'),
            tag("button", f"Publish at TLP:{plan.tlp.upper()}", type="submit", class_="confirm"),
            method="post",
            action=campaign_href(camp.campaign_id) + "/share",
            id="publish",
        )
    text = json.dumps(plan.bundle(), indent=1, ensure_ascii=False)
    return join(
        [
            notice,
            tag(
                "p",
                "Campaign ",
                tag("a", tag("code", camp.campaign_id), href=campaign_href(camp.campaign_id)),
            ),
            levels,
            tag("p", note, class_="note"),
            tag("p", f"{len(plan.objects)} STIX objects ({what})", id="share-summary"),
            action,
            tag("pre", text, class_="stix", id="share-preview"),
        ]
    )


# ------------------------------------------------------------------------------ intel, audit


def intel_page(intel: Any, matches: Sequence[AccountVerdict], problem: str) -> Html:
    """Peers' indicators in force, and the local accounts that matched them."""
    parts: list[object] = []
    if problem:
        parts.append(flash(problem, error=True))
    if intel is None:
        parts.append(
            tag(
                "p",
                "No peers' intel loaded: start the console with --intel DIR (what "
                "`distillwatch intel pull` wrote).",
                class_="note",
            )
        )
    else:
        infos = sorted(intel.infos().values(), key=lambda i: (i.publisher, i.kind, i.name))
        counts = ", ".join(f"{n} {k}" for k, n in intel.counts().items()) or "none"
        parts.append(tag("p", f"{len(infos)} indicators in force ({counts}).", id="intel-count"))
        rows = [
            (
                i.publisher or i.publisher_id,
                i.kind,
                i.name,
                i.confidence,
                i.campaign_name or "—",
                human_time(i.valid_from),
                human_time(i.active_until) if i.active_until else "no end",
                "yes" if i.renewed else "",
            )
            for i in infos
        ]
        head = ["publisher", "kind", "indicator", "confidence", "campaign", "valid from"]
        head += ["in force until", "renewed by sightings"]
        parts.append(table(head, rows, class_="intel"))
    parts.append(tag("h2", "Local accounts matching peers' indicators"))
    if not matches:
        parts.append(
            tag(
                "p",
                "None in this scan (matches appear when the scan ran with --intel).",
                class_="note",
            )
        )
    else:
        rows2 = []
        for a in matches:
            hit = next(h for h in a.hits if h.signal_id == "peer_intel")
            rows2.append(
                (
                    tag("a", tag("code", a.account_id), href=account_href(a.account_id)),
                    fmt_risk(a.risk),
                    flag_badge(a.flagged),
                    f"{hit.contribution:+.3f}",
                    hit.summary or "—",
                )
            )
        parts.append(table(["account", "risk", "verdict", "peer contribution", "match"], rows2))
    return join(parts)


def audit_page(entries: Sequence[AuditEntry], report: ChainReport) -> Html:
    """The audit trail, newest first, and whether its hash chain holds."""
    state = (
        flash(f"Hash chain intact: {report.entries} entries, head {report.head_hash[:16]}…")
        if report.ok
        else flash(f"Hash chain BROKEN: {report.problem}", error=True)
    )
    rows = [
        (
            e.seq,
            e.ts,
            e.actor,
            e.action,
            e.subject,
            tag("code", json.dumps(e.detail)),
            tag("code", e.hash[:12]),
        )
        for e in reversed(entries)
    ]
    head = ["seq", "when", "who", "action", "subject", "detail", "hash"]
    return join([state, table(head, rows, class_="audit")])

"""The console's web application: ``create_app(settings)`` builds it, nothing runs before.

Every page needs a signed-in analyst (a session cookie from ``/login``) or an
``Authorization: Bearer <analyst token>`` header, on 127.0.0.1 too; only ``/login`` and
``/healthz`` are open. Forms that change something (decisions, shares, sign-out) carry the
session's CSRF token. Responses forbid scripts, framing and outside resources (CSP).

Routes: ``/campaigns`` (list with sort and filters), ``/campaigns/{id}``,
``/campaigns/{id}/share`` (GET preview, POST publish), ``/accounts``, ``/accounts/{id}``,
``/intel``, ``/audit``, ``POST /decide``, ``/login``, ``POST /logout``, ``/healthz``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from distillwatch.console import pages
from distillwatch.console.pages import Viewer
from distillwatch.console.sessions import COOKIE, SessionJar
from distillwatch.errors import ConsoleError, DistillwatchError, UsageError
from distillwatch.outputs.html import Html

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class ConsoleSettings:
    """What the console serves and where it keeps decisions."""

    scan_dir: Path
    cases: Path | str
    org_name: str = "distillwatch-local"
    intel_dir: Path | None = None
    key_file: Path | None = None
    hub_url: str | None = None
    hub_collection: str | None = None
    hub_token_file: Path | None = None
    session_hours: float = 12.0
    #: mark the cookie Secure (set when served behind HTTPS)
    secure_cookie: bool = False


@dataclass
class _State:
    settings: ConsoleSettings
    scan_id: str
    result: Any  # ScanResult
    cases: Any  # CaseStore
    analysts: Any  # AnalystStore
    keyring: Any | None
    sessions: SessionJar
    atlas: Any
    intel: Any | None = None
    intel_problem: str = ""
    accounts: dict[str, Any] = field(default_factory=dict)
    campaigns: dict[str, Any] = field(default_factory=dict)


class _Denied(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def load_state(settings: ConsoleSettings) -> _State:
    """Read the scan, open the case store and load keys and intel; ConsoleError/UsageError
    with one line when something cannot be used (before the server listens)."""
    from distillwatch.cases.store import open_case_store
    from distillwatch.console.analysts import open_analysts
    from distillwatch.outputs.atlas import load_atlas
    from distillwatch.results_io import read_result

    scan_id, result = read_result(settings.scan_dir)
    keyring = None
    if settings.key_file is not None:
        from distillwatch.intel.keys import load_keyring

        keyring = load_keyring(settings.key_file)
    state = _State(
        settings=settings,
        scan_id=scan_id,
        result=result,
        cases=open_case_store(settings.cases),
        analysts=open_analysts(settings.cases),
        keyring=keyring,
        sessions=SessionJar(timedelta(hours=settings.session_hours)),
        atlas=load_atlas(),
        accounts={a.account_id: a for a in result.accounts},
        campaigns={c.campaign_id: c for c in result.campaigns},
    )
    if settings.intel_dir is not None:
        from distillwatch.intel.store import load_intel

        try:
            state.intel = load_intel(settings.intel_dir, at=datetime.now(UTC))
        except DistillwatchError as exc:
            state.intel_problem = str(exc)
    return state


def create_app(settings: ConsoleSettings) -> FastAPI:
    """The console app; the scan and stores are opened when it starts (lifespan)."""
    holder: dict[str, _State] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        holder["s"] = load_state(settings)
        try:
            yield
        finally:
            holder["s"].cases.close()
            holder["s"].analysts.close()

    app = FastAPI(
        title="distillwatch console", lifespan=lifespan, docs_url=None, redoc_url=None,
        openapi_url=None,
    )  # fmt: skip

    def st() -> _State:
        return holder["s"]

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(_Denied)
    async def denied(request: Request, exc: _Denied) -> Response:
        if exc.status == 401 and request.method == "GET" and _wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
        body = pages.layout("Refused", pages.flash(exc.reason, error=True), None)
        headers = {"WWW-Authenticate": 'Bearer realm="distillwatch-console"'}
        return HTMLResponse(body, status_code=exc.status, headers=headers)

    def viewer(request: Request, *, csrf: str | None = None, post: bool = False) -> Viewer:
        """Who calls; _Denied(401) without valid credentials, (403) on a bad CSRF token."""
        s = st()
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            name = s.analysts.name_for(token.strip()) if scheme.lower() == "bearer" else None
            if name is None:
                _refused(s, request, "wrong or malformed Authorization header")
                raise _Denied(401, "wrong token: sign in again or ask for a new token")
            return Viewer(name, "")
        sid = request.cookies.get(COOKIE)
        session = s.sessions.get(sid)
        if session is not None and not s.analysts.exists(session.analyst):
            s.sessions.close(sid)  # the analyst was removed: their sessions end now
            session = None
        if session is None:
            raise _Denied(401, "sign in first")
        if post and not s.sessions.check_csrf(session, csrf):
            _refused(s, request, "bad CSRF token", session.analyst)
            raise _Denied(403, "this form is stale or was not sent by the console; reload it")
        return Viewer(session.analyst, session.csrf)

    def html(title: str, body: Html, who: Viewer, here: str = "", status: int = 200) -> Response:
        return HTMLResponse(pages.layout(title, body, who, here=here), status_code=status)

    # ------------------------------------------------------------------ open routes

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"ok": True})

    @app.get("/login")
    def login_form(request: Request, next: str = "/campaigns", token: str = "") -> Response:
        if token:  # the link `distillwatch ui` prints: sign in, then drop the token from the URL
            return _sign_in(st(), request, token, next)
        return HTMLResponse(pages.login_page(_safe_next(next)))

    @app.post("/login")
    def login(request: Request, token: str = Form(""), next: str = Form("/campaigns")) -> Response:
        return _sign_in(st(), request, token, next)

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        who = viewer(request, csrf=csrf, post=True)
        st().sessions.close(request.cookies.get(COOKIE))
        st().cases.record(who.analyst, "logout", "", {})
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ pages

    @app.get("/")
    def home(request: Request) -> Response:
        viewer(request)
        return RedirectResponse("/campaigns", status_code=303)

    @app.get("/campaigns")
    def campaigns(
        request: Request,
        q: str = "",
        flagged: str = "any",
        decision: str = "any",
        min_risk: float = 0.0,
        sort: str = "risk",
        order: str = "desc",
    ) -> Response:
        who = viewer(request)
        s = st()
        query = _query(q, flagged, decision, min_risk, sort, order, 1, "any", pages.CAMPAIGN_SORTS)
        body = pages.campaign_list(s.result.campaigns, _decided(s, "campaign"), query)
        return html(f"Campaigns · {s.settings.org_name}", body, who, "/campaigns")

    @app.get("/campaigns/{campaign_id}")
    def campaign(request: Request, campaign_id: str, done: str = "") -> Response:
        who = viewer(request)
        s = st()
        camp = s.campaigns.get(campaign_id)
        if camp is None:
            return _not_found(who, f"campaign {campaign_id} is not in this scan")
        from distillwatch.outputs.report import campaign_parts

        parts = campaign_parts(
            camp, s.accounts, s.atlas, s.settings.org_name, account_href=pages.account_href
        )
        body = pages.campaign_page(
            camp,
            parts,
            who,
            s.cases.decisions(None, "campaign", campaign_id),
            _decided(s, "campaign").get(campaign_id),
            scan_id=s.scan_id,
            notice=_notice(done),
        )
        return html(f"Campaign {campaign_id}", body, who, "/campaigns")

    @app.get("/accounts")
    def accounts(
        request: Request,
        q: str = "",
        flagged: str = "yes",
        decision: str = "any",
        min_risk: float = 0.0,
        sort: str = "risk",
        order: str = "desc",
        page: int = 1,
    ) -> Response:
        who = viewer(request)
        s = st()
        query = _query(
            q, flagged, decision, min_risk, sort, order, page, "yes", pages.ACCOUNT_SORTS
        )
        body = pages.account_list(s.result.accounts, _decided(s, "account"), query)
        return html("Accounts", body, who, "/accounts")

    @app.get("/accounts/{account_id}")
    def account(request: Request, account_id: str, done: str = "") -> Response:
        who = viewer(request)
        s = st()
        acc = s.accounts.get(account_id)
        if acc is None:
            return _not_found(who, f"account {account_id} is not in this scan")
        camp = s.campaigns.get(acc.campaign_id) if acc.campaign_id else None
        body = pages.account_page(
            acc,
            camp,
            who,
            s.cases.decisions(None, "account", account_id),
            _decided(s, "account").get(account_id),
            scan_id=s.scan_id,
            notice=_notice(done),
        )
        return html(f"Account {account_id}", body, who, "/accounts")

    @app.post("/decide")
    def decide(
        request: Request,
        kind: str = Form(...),
        subject: str = Form(...),
        decision: str = Form(...),
        note: str = Form(""),
        csrf: str = Form(""),
    ) -> Response:
        who = viewer(request, csrf=csrf, post=True)
        s = st()
        known = s.campaigns if kind == "campaign" else s.accounts if kind == "account" else {}
        if subject not in known:
            return _not_found(who, f"{kind} {subject} is not in this scan", status=400)
        try:
            s.cases.decide(s.scan_id, kind, subject, decision, who.analyst, note.strip())
        except UsageError as exc:
            return html("Decision refused", pages.flash(str(exc), error=True), who, status=400)
        href = pages.campaign_href(subject) if kind == "campaign" else pages.account_href(subject)
        return RedirectResponse(f"{href}?done={quote(decision)}#decide", status_code=303)

    @app.get("/campaigns/{campaign_id}/share")
    def share_preview(request: Request, campaign_id: str, tlp: str = "amber") -> Response:
        who = viewer(request)
        s = st()
        camp = s.campaigns.get(campaign_id)
        if camp is None:
            return _not_found(who, f"campaign {campaign_id} is not in this scan")
        from distillwatch.console.share import plan_share

        try:
            plan = plan_share(
                s.result, campaign_id, org_name=s.settings.org_name, tlp=tlp, keyring=s.keyring
            )
        except DistillwatchError as exc:
            return html("Share refused", pages.flash(str(exc), error=True), who, status=400)
        s.cases.record(who.analyst, "share.preview", campaign_id, {"tlp": plan.tlp})
        body = pages.share_page(camp, plan, who, can_publish=_publish_blocker(s, plan.keyed))
        return html(f"Share {campaign_id}", body, who, "/campaigns")

    @app.post("/campaigns/{campaign_id}/share")
    def share_publish(
        request: Request, campaign_id: str, tlp: str = Form("amber"), csrf: str = Form("")
    ) -> Response:
        who = viewer(request, csrf=csrf, post=True)
        s = st()
        camp = s.campaigns.get(campaign_id)
        if camp is None:
            return _not_found(who, f"campaign {campaign_id} is not in this scan")
        from distillwatch.console.share import plan_share, publish

        blocker = _publish_blocker(s, s.keyring is not None)
        if blocker:
            return html("Publishing is off", pages.flash(blocker, error=True), who, status=400)
        try:
            plan = plan_share(
                s.result, campaign_id, org_name=s.settings.org_name, tlp=tlp, keyring=s.keyring
            )
            from distillwatch.intel.client import token_from_env_or_file

            token = token_from_env_or_file(s.settings.hub_token_file)
            report = publish(plan, str(s.settings.hub_url), str(s.settings.hub_collection), token)
        except DistillwatchError as exc:
            s.cases.record(who.analyst, "share.failed", campaign_id, {"tlp": tlp, "why": str(exc)})
            body = pages.flash(f"Not published: {exc}", error=True)
            return html(f"Share {campaign_id}", body, who, "/campaigns", status=502)
        detail = {
            "tlp": plan.tlp,
            "hub": s.settings.hub_url,
            "collection": s.settings.hub_collection,
            "objects": report.total,
            "ids": sorted(str(o["id"]) for o in plan.objects),
        }
        s.cases.record(who.analyst, "share.publish", campaign_id, detail)
        notice = pages.flash(f"Published: {report.summary()}")
        body = pages.share_page(camp, plan, who, can_publish="", notice=notice)
        return html(f"Share {campaign_id}", body, who, "/campaigns")

    @app.get("/intel")
    def intel(request: Request) -> Response:
        who = viewer(request)
        s = st()
        matches = [a for a in s.result.accounts if any(h.signal_id == "peer_intel" for h in a.hits)]
        matches.sort(key=lambda a: (-a.risk, a.account_id))
        body = pages.intel_page(s.intel, matches, s.intel_problem)
        return html("Peers' intel", body, who, "/intel")

    @app.get("/audit")
    def audit(request: Request) -> Response:
        who = viewer(request)
        s = st()
        body = pages.audit_page(s.cases.audit(limit=500), s.cases.verify())
        return html("Audit trail", body, who, "/audit")

    return app


# ---------------------------------------------------------------------- helpers


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and not request.headers.get(
        "authorization"
    )


def _safe_next(target: str) -> str:
    """Only a local path may follow a sign-in (no open redirect).

    >>> _safe_next("/campaigns?q=1"), _safe_next("//evil.example/"), _safe_next("https://x")
    ('/campaigns?q=1', '/campaigns', '/campaigns')
    """
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/campaigns"


def _sign_in(s: _State, request: Request, token: str, next_path: str) -> Response:
    name = s.analysts.name_for(token.strip()) if token else None
    if name is None:
        _refused(s, request, "wrong token at sign-in")
        page = pages.login_page(_safe_next(next_path), "That token is not valid.")
        return HTMLResponse(page, status_code=401)
    sid, _session = s.sessions.open(name)
    s.cases.record(name, "login", "", {"client": request.client.host if request.client else ""})
    response = RedirectResponse(_safe_next(next_path), status_code=303)
    response.set_cookie(
        COOKIE,
        sid,
        max_age=int(s.sessions.ttl.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=s.settings.secure_cookie,
        path="/",
    )
    return response


def _refused(s: _State, request: Request, why: str, who: str = "-") -> None:
    s.cases.record(who, "refused", request.url.path, {"method": request.method, "why": why})


def _decided(s: _State, kind: str) -> dict[str, Any]:
    return {sid: d for (k, sid), d in s.cases.current(s.scan_id).items() if k == kind}


def _choice(value: str, allowed: tuple[str, ...], default: str = "any") -> str:
    return value if value in allowed else default


def _query(
    q: str,
    flagged: str,
    decision: str,
    min_risk: float,
    sort: str,
    order: str,
    page: int,
    flagged_default: str,
    sorts: Mapping[str, Any],
) -> pages.ListQuery:
    """A list page's query with every unknown value replaced by its default."""
    return pages.ListQuery(
        q=q,
        flagged=_choice(flagged, ("any", "yes", "no"), flagged_default),
        decision=_choice(decision, pages.DECISION_FILTERS),
        min_risk=min_risk,
        sort=_choice(sort, tuple(sorts), "risk"),
        order=_choice(order, ("asc", "desc"), "desc"),
        page=page,
    )


def _notice(done: str) -> Html:
    if done in ("confirm", "dismiss", "escalate"):
        return pages.flash(f"Decision recorded: {done}.")
    return Html("")


def _not_found(who: Viewer, reason: str, status: int = 404) -> Response:
    return HTMLResponse(
        pages.layout("Not found", pages.flash(reason, error=True), who), status_code=status
    )


def _publish_blocker(s: _State, keyed: bool) -> str:
    """Why this console cannot publish ('' when it can)."""
    cfg = s.settings
    if not keyed:
        return "the console was started without --key-file (the trust group's keys)"
    if not cfg.hub_url or not cfg.hub_collection:
        return "the console was started without --hub URL --collection ID"
    return ""


def check_settings(settings: ConsoleSettings) -> None:
    """Fail before listening when the options cannot work together."""
    if bool(settings.hub_url) != bool(settings.hub_collection):
        raise ConsoleError("give --hub and --collection together (where to publish)")

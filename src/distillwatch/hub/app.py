"""``create_app(settings)``: the hub as an ASGI application (nothing happens at import).

>>> app = create_app(HubSettings(db_url="sqlite://"))
>>> app.title, app.state.hub.store.api_roots()[0][0]
('distillwatch sharing hub', 'default')
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from distillwatch.hub.audit import AuditEvent, AuditLog
from distillwatch.hub.auth import AuthError, authenticate
from distillwatch.hub.guardrails import GuardrailPool, default_workers, load_allowlist
from distillwatch.hub.settings import HubSettings
from distillwatch.hub.storage import open_store
from distillwatch.hub.taxii import HubContext, TaxiiError, build_router, error_response

DEFAULT_API_ROOT = "default"


def create_app(settings: HubSettings | None = None) -> FastAPI:
    """Open the database (creating tables and the ``default`` API root), load the
    allow-list, and return the app. Raises HubError / ConfigError when either is unusable."""
    settings = settings or HubSettings()
    allowlist = load_allowlist(settings.allowlist, free_text_cap=settings.free_text_limit)
    store = open_store(settings.db_url)
    store.ensure_api_root(DEFAULT_API_ROOT, "distillwatch intelligence")
    workers = default_workers() if settings.check_workers is None else settings.check_workers
    checker = GuardrailPool(allowlist, workers)
    ctx = HubContext(settings, store, checker, AuditLog(store))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        checker.start()
        try:
            yield
        finally:
            checker.close()
            store.close()

    app = FastAPI(
        title=settings.title,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.hub = ctx
    app.include_router(build_router(ctx))

    async def unknown_route(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        title = "Not Found" if status == 404 else "Method Not Allowed" if status == 405 else "Error"
        err = TaxiiError(
            status, title, f"{request.method} {request.url.path} is not a TAXII endpoint"
        )

        def audit() -> None:
            try:
                who = authenticate(store, request.headers.get("authorization")).name
            except AuthError:
                who = "-"
            ctx.audit.append(
                AuditEvent(
                    who, request.method, request.url.path, status=status, outcome=err.description
                )
            )

        await run_in_threadpool(audit)
        return error_response(err)

    app.add_exception_handler(StarletteHTTPException, unknown_route)
    return app

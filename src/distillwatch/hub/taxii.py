"""The TAXII 2.1 routes of the hub.

Every request goes through :meth:`TaxiiApi.handle`, in this order:

1. authentication (Basic or Bearer; 401 with ``WWW-Authenticate`` when missing or wrong),
   so an anonymous caller learns nothing else;
2. the ``Accept`` header: ``application/taxii+json;version=2.1``, ``application/taxii+json``
   or ``*/*`` (or none), else 406;
3. the API root (404) and the collection: **a collection the member has no grant on
   answers 404, exactly like one that does not exist**, so members cannot learn which
   collections exist; a granted collection answers 403 for what the grant lacks
   (reading objects without ``can_read``, adding without ``can_write``; deleting needs
   both, and only the versions the member added);
4. for POST, the ``Content-Type`` (``application/taxii+json``, else 415) and the size
   (over ``max_content_length``, 413) before the body is read, then the envelope (400);
5. the work, then one audit entry (refusals included).

Errors are TAXII error messages (``title``, ``description``, ``http_status``). Paging is
by ``date_added``: ``next`` is the date_added (microseconds) of the last object served,
so a page never skips or repeats an object, even while others are being added.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from distillwatch.errors import HubError
from distillwatch.hub.audit import AuditEvent, AuditLog
from distillwatch.hub.auth import CHALLENGE, AuthError, authenticate
from distillwatch.hub.guardrails import GuardrailPool, Rejection
from distillwatch.hub.settings import HubSettings
from distillwatch.hub.storage import (
    CollectionInfo,
    HubStore,
    Member,
    NewObject,
    ObjectQuery,
    Page,
    format_us,
    now_us,
    parse_timestamp,
)

MEDIA_TAXII = "application/taxii+json;version=2.1"
MEDIA_STIX = "application/stix+json;version=2.1"
log = logging.getLogger("distillwatch.hub")
_MAX_OUTCOME_REASONS = 3


class TaxiiError(HubError):
    """An HTTP error answered with a TAXII error message."""

    def __init__(
        self, status: int, title: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.title = title
        self.description = description
        self.headers = headers or {}


@dataclass
class HubContext:
    """What the routes need: settings, store, guardrails, audit log."""

    settings: HubSettings
    store: HubStore
    guardrails: GuardrailPool
    audit: AuditLog


@dataclass
class Exchange:
    """One request as the audit log records it; filled in as the request proceeds."""

    method: str
    path: str
    base_url: str
    member: str = "-"
    collection: str = ""
    count: int = 0
    status: int = 200
    outcome: str = "ok"

    def event(self) -> AuditEvent:
        return AuditEvent(
            self.member,
            self.method,
            self.path,
            self.collection,
            self.count,
            self.status,
            self.outcome,
        )


@dataclass
class Reply:
    """A successful answer before it becomes a Response."""

    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Work = Callable[[Member, Exchange, bytes], Reply]


def error_body(err: TaxiiError) -> bytes:
    """A TAXII 2.1 error message."""
    return orjson.dumps(
        {"title": err.title, "description": err.description, "http_status": str(err.status)}
    )


def error_response(err: TaxiiError) -> Response:
    """The HTTP response of *err*."""
    return Response(error_body(err), err.status, err.headers, media_type=MEDIA_TAXII)


def acceptable(accept: str | None) -> bool:
    """Whether an ``Accept`` header lets us answer in TAXII 2.1 JSON.

    >>> acceptable("application/taxii+json;version=2.1"), acceptable("text/html")
    (True, False)
    """
    if accept is None or not accept.strip():
        return True
    for part in accept.split(","):
        mtype, version = _media_type(part)
        if mtype == "*/*" or (mtype == "application/taxii+json" and version in (None, "2.1")):
            return True
    return False


def _media_type(value: str) -> tuple[str, str | None]:
    fields = [f.strip() for f in value.split(";")]
    version = None
    for param in fields[1:]:
        key, _, val = param.partition("=")
        if key.strip().lower() == "version":
            version = val.strip().strip('"')
    return fields[0].lower(), version


def _path(request: Request) -> str:
    query = request.url.query
    return request.url.path + ("?" + query if query else "")


def _headers_of(page: Page) -> dict[str, str]:
    if not page.rows:
        return {}
    return {
        "X-TAXII-Date-Added-First": format_us(page.rows[0].date_added_us),
        "X-TAXII-Date-Added-Last": format_us(page.rows[-1].date_added_us),
    }


def _paging(page: Page) -> bytes:
    if page.more and page.rows:
        return b'"more":true,"next":"' + str(page.rows[-1].date_added_us).encode() + b'",'
    return b'"more":false,'


class TaxiiApi:
    """The route handlers, bound to one :class:`HubContext`."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx

    # -- the pipeline ---------------------------------------------------------------------

    async def handle(
        self,
        request: Request,
        work: Work,
        *,
        collection: str = "",
        precheck: Callable[[Member], None] | None = None,
        with_body: bool = False,
    ) -> Response:
        """Authenticate, check, run *work* in a worker thread, audit; see the module doc."""
        ex = Exchange(request.method, _path(request), str(request.base_url), collection=collection)
        try:
            member = await run_in_threadpool(
                self._admit, request.headers.get("authorization"), ex, precheck
            )
            if not acceptable(request.headers.get("accept")):
                raise TaxiiError(
                    406,
                    "Not Acceptable",
                    f"this hub answers only {MEDIA_TAXII}; send that Accept header",
                )
            body = b""
            if with_body:
                body = await self._read_body(request)
            return await run_in_threadpool(self._work, work, member, ex, body)
        except TaxiiError as err:
            ex.status, ex.outcome = err.status, err.description
            await run_in_threadpool(self._audit, ex)
            return error_response(err)
        except Exception:
            log.exception("internal error on %s %s", ex.method, ex.path)
            ex.status, ex.outcome = 500, "internal error"
            await run_in_threadpool(self._audit, ex)
            return error_response(
                TaxiiError(500, "Internal Server Error", "the hub failed; see its log")
            )

    def _admit(
        self, header: str | None, ex: Exchange, precheck: Callable[[Member], None] | None
    ) -> Member:
        try:
            member = authenticate(self.ctx.store, header)
        except AuthError as exc:
            raise TaxiiError(
                401, "Unauthorized", str(exc), {"WWW-Authenticate": CHALLENGE}
            ) from exc
        ex.member = member.name
        if precheck is not None:
            precheck(member)
        return member

    def _work(self, work: Work, member: Member, ex: Exchange, body: bytes) -> Response:
        try:
            reply = work(member, ex, body)
            ex.status = reply.status
            response = Response(reply.body, reply.status, reply.headers, media_type=MEDIA_TAXII)
        except TaxiiError as err:
            ex.status, ex.outcome = err.status, err.description
            response = error_response(err)
        except Exception:
            log.exception("internal error on %s %s", ex.method, ex.path)
            ex.status, ex.outcome = 500, "internal error"
            response = error_response(
                TaxiiError(500, "Internal Server Error", "the hub failed; see its log")
            )
        self._audit(ex)
        return response

    def _audit(self, ex: Exchange) -> None:
        self.ctx.audit.append(ex.event())

    async def _read_body(self, request: Request) -> bytes:
        ctype, version = _media_type(request.headers.get("content-type", ""))
        if ctype != "application/taxii+json" or version not in (None, "2.1"):
            raise TaxiiError(
                415,
                "Unsupported Media Type",
                f"POST a TAXII envelope as {MEDIA_TAXII}, not {ctype or 'no content type'!r}",
            )
        limit = self.ctx.settings.max_content_length
        declared = request.headers.get("content-length", "")
        too_big = TaxiiError(
            413,
            "Request Entity Too Large",
            f"the body exceeds max_content_length ({limit} bytes); send smaller envelopes",
        )
        if declared.isdigit() and int(declared) > limit:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    # -- access ---------------------------------------------------------------------------

    def _root(self, api_root: str) -> tuple[str, str]:
        found = self.ctx.store.api_root(api_root)
        if found is None:
            raise TaxiiError(404, "Not Found", f"no API root {api_root!r} on this hub")
        return found

    def _collection(
        self, member: Member, api_root: str, collection_id: str, *, read: bool, write: bool
    ) -> CollectionInfo:
        self._root(api_root)
        coll = self.ctx.store.collection_for(member.id, api_root, collection_id)
        if coll is None:
            raise TaxiiError(
                404, "Not Found", f"no collection {collection_id!r} in API root {api_root!r}"
            )
        if read and not coll.can_read:
            raise TaxiiError(403, "Forbidden", "you may not read this collection")
        if write and not coll.can_write:
            raise TaxiiError(403, "Forbidden", "you may not write to this collection")
        return coll

    # -- filters --------------------------------------------------------------------------

    def _query(self, request: Request, *, versions_default: str = "last") -> ObjectQuery:
        params = request.query_params
        settings = self.ctx.settings

        def listed(name: str) -> tuple[str, ...]:
            out: list[str] = []
            for value in params.getlist(name):
                out.extend(v.strip() for v in value.split(",") if v.strip())
            return tuple(out)

        limit = settings.page_size_default
        if "limit" in params:
            raw = params["limit"]
            if not raw.isdigit() or int(raw) < 1:
                raise TaxiiError(400, "Bad Request", f"limit must be a positive integer: {raw!r}")
            limit = int(raw)
        after = 0
        if "added_after" in params:
            after = self._timestamp(params["added_after"], "added_after")
        if "next" in params:
            raw = params["next"]
            if not raw.isdigit():
                raise TaxiiError(400, "Bad Request", f"next {raw!r} was not issued by this hub")
            after = max(after, int(raw))
        versions: list[str | int] = []
        for token in listed("match[version]") or (versions_default,):
            if token in ("last", "first", "all"):
                versions.append(token)
            else:
                versions.append(self._timestamp(token, "match[version]"))
        return ObjectQuery(
            after_us=after,
            ids=listed("match[id]"),
            types=listed("match[type]"),
            versions=tuple(versions),
            spec_versions=listed("match[spec_version]"),
            limit=min(limit, settings.page_size_max),
        )

    @staticmethod
    def _timestamp(raw: str, name: str) -> int:
        try:
            return parse_timestamp(raw)
        except ValueError as exc:
            raise TaxiiError(400, "Bad Request", f"{name}: {exc}") from exc

    # -- endpoints ------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        def work(member: Member, ex: Exchange, body: bytes) -> Reply:
            settings = self.ctx.settings
            names = [name for name, _, _ in self.ctx.store.api_roots()]
            doc: dict[str, Any] = {"title": settings.title, "description": settings.description}
            if settings.contact:
                doc["contact"] = settings.contact
            if "default" in names:
                doc["default"] = f"{ex.base_url}default/"
            doc["api_roots"] = [f"{ex.base_url}{name}/" for name in names]
            return Reply(orjson.dumps(doc))

        return await self.handle(request, work)

    async def api_root(self, request: Request, api_root: str) -> Response:
        def work(member: Member, ex: Exchange, body: bytes) -> Reply:
            title, description = self._root(api_root)
            doc = {
                "title": title,
                "description": description,
                "versions": [MEDIA_TAXII],
                "max_content_length": self.ctx.settings.max_content_length,
            }
            return Reply(orjson.dumps(doc))

        return await self.handle(request, work)

    async def collections(self, request: Request, api_root: str) -> Response:
        def work(member: Member, ex: Exchange, body: bytes) -> Reply:
            self._root(api_root)
            colls = self.ctx.store.collections_for(member.id, api_root)
            ex.count = len(colls)
            return Reply(orjson.dumps({"collections": [_collection_doc(c) for c in colls]}))

        return await self.handle(request, work)

    async def collection(self, request: Request, api_root: str, collection_id: str) -> Response:
        def work(member: Member, ex: Exchange, body: bytes) -> Reply:
            coll = self._collection(member, api_root, collection_id, read=False, write=False)
            return Reply(orjson.dumps(_collection_doc(coll)))

        return await self.handle(request, work, collection=collection_id)

    async def get_objects(self, request: Request, api_root: str, collection_id: str) -> Response:
        def work(member: Member, ex: Exchange, body: bytes) -> Reply:
            self._collection(member, api_root, collection_id, read=True, write=False)
            page = self.ctx.store.query_objects(collection_id, self._query(request))
            ex.count = len(page.rows)
            return Reply(_objects_envelope(page), headers=_headers_of(page))

        return await self.handle(request, work, collection=collection_id)

    async def add_objects(self, request: Request, api_root: str, collection_id: str) -> Response:
        def precheck(member: Member) -> None:
            self._collection(member, api_root, collection_id, read=False, write=True)

        def work(member: Member, ex: Exchange, body: bytes) -> Reply:
            return self._add(member, ex, body, api_root, collection_id)

        return await self.handle(
            request, work, collection=collection_id, precheck=precheck, with_body=True
        )

    def _add(
        self, member: Member, ex: Exchange, body: bytes, api_root: str, collection_id: str
    ) -> Reply:
        started = format_us(now_us())
        try:
            envelope = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise TaxiiError(400, "Bad Request", f"the body is not valid JSON: {exc}") from exc
        objects = envelope.get("objects") if isinstance(envelope, dict) else None
        if not isinstance(objects, list):
            raise TaxiiError(
                400, "Bad Request", 'the body must be a TAXII envelope {"objects": [...]}'
            )
        ex.count = len(objects)
        checked = self.ctx.guardrails.check_all(objects, member.identity_ids)
        accepted = [c for c in checked if isinstance(c, NewObject)]
        stored = iter(self.ctx.store.insert_objects(collection_id, member.id, accepted))
        successes: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for item in checked:
            if isinstance(item, Rejection):
                failures.append(_detail(item.id, item.version, item.reason))
                continue
            result = next(stored)
            detail = _detail(result.id, result.version, result.message)
            (successes if result.ok else failures).append(detail)
        status_id = str(uuid.uuid4())
        status = {
            "id": status_id,
            "status": "complete",
            "request_timestamp": started,
            "total_count": len(objects),
            "success_count": len(successes),
            "successes": successes,
            "failure_count": len(failures),
            "failures": failures,
            "pending_count": 0,
            "pendings": [],
        }
        text = orjson.dumps(status)
        self.ctx.store.save_status(status_id, member.id, api_root, text.decode("utf-8"))
        ex.outcome = f"{len(successes)} accepted, {len(failures)} refused"
        if failures:
            reasons = "; ".join(
                f"{f['id']}: {f['message']}" for f in failures[:_MAX_OUTCOME_REASONS]
            )
            ex.outcome += f" ({reasons}{'; ...' if len(failures) > _MAX_OUTCOME_REASONS else ''})"
        return Reply(text, 202)

    async def get_object(
        self, request: Request, api_root: str, collection_id: str, object_id: str
    ) -> Response:
        def work(member: Member, ex: Exchange, body: bytes) -> Reply:
            self._collection(member, api_root, collection_id, read=True, write=False)
            q = self._query(request)
            q = replace(q, ids=(object_id,), types=())
            page = self.ctx.store.query_objects(collection_id, q)
            if not page.rows and not self.ctx.store.object_exists(collection_id, object_id):
                raise TaxiiError(404, "Not Found", f"no object {object_id!r} in this collection")
            ex.count = len(page.rows)
            return Reply(_objects_envelope(page), headers=_headers_of(page))

        return await self.handle(request, work, collection=collection_id)

    async def delete_object(
        self, request: Request, api_root: str, collection_id: str, object_id: str
    ) -> Response:
        def work(member: Member, ex: Exchange, body: bytes) -> Reply:
            self._collection(member, api_root, collection_id, read=True, write=True)
            q = self._query(request, versions_default="all")
            matched, deleted = self.ctx.store.delete_object(collection_id, object_id, member.id, q)
            if matched == 0:
                raise TaxiiError(404, "Not Found", f"no object {object_id!r} in this collection")
            if deleted == 0:
                raise TaxiiError(
                    403, "Forbidden", "only the member that added an object version may delete it"
                )
            ex.count = deleted
            return Reply(b"")

        return await self.handle(request, work, collection=collection_id)

    async def versions(
        self, request: Request, api_root: str, collection_id: str, object_id: str
    ) -> Response:
        def work(member: Member, ex: Exchange, body: bytes) -> Reply:
            self._collection(member, api_root, collection_id, read=True, write=False)
            q = self._query(request)
            q = replace(q, ids=(object_id,), types=(), versions=("all",))
            page = self.ctx.store.query_objects(collection_id, q)
            if not page.rows and not self.ctx.store.object_exists(collection_id, object_id):
                raise TaxiiError(404, "Not Found", f"no object {object_id!r} in this collection")
            ex.count = len(page.rows)
            doc = _paging(page) + b'"versions":' + orjson.dumps([r.version for r in page.rows])
            return Reply(b"{" + doc + b"}", headers=_headers_of(page))

        return await self.handle(request, work, collection=collection_id)

    async def manifest(self, request: Request, api_root: str, collection_id: str) -> Response:
        def work(member: Member, ex: Exchange, body: bytes) -> Reply:
            self._collection(member, api_root, collection_id, read=True, write=False)
            page = self.ctx.store.query_objects(collection_id, self._query(request))
            ex.count = len(page.rows)
            records = [
                {
                    "id": r.id,
                    "date_added": format_us(r.date_added_us),
                    "version": r.version,
                    "media_type": MEDIA_STIX,
                }
                for r in page.rows
            ]
            doc = _paging(page) + b'"objects":' + orjson.dumps(records)
            return Reply(b"{" + doc + b"}", headers=_headers_of(page))

        return await self.handle(request, work, collection=collection_id)

    async def status(self, request: Request, api_root: str, status_id: str) -> Response:
        def work(member: Member, ex: Exchange, body: bytes) -> Reply:
            self._root(api_root)
            text = self.ctx.store.status(status_id, member.id, api_root)
            if text is None:
                raise TaxiiError(404, "Not Found", f"no status {status_id!r} of yours")
            return Reply(text.encode("utf-8"))

        return await self.handle(request, work)


def _collection_doc(coll: CollectionInfo) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": coll.id, "title": coll.title}
    if coll.description:
        doc["description"] = coll.description
    doc.update(can_read=coll.can_read, can_write=coll.can_write, media_types=[MEDIA_STIX])
    return doc


def _objects_envelope(page: Page) -> bytes:
    bodies = ",".join(r.body for r in page.rows).encode("utf-8")
    return b"{" + _paging(page) + b'"objects":[' + bodies + b"]}"


def _detail(object_id: str, version: str | None, message: str) -> dict[str, Any]:
    detail: dict[str, Any] = {"id": object_id}
    if version is not None:
        detail["version"] = version
    if message:
        detail["message"] = message
    return detail


def build_router(ctx: HubContext) -> APIRouter:
    """All TAXII 2.1 routes; each answers with and without the trailing slash."""
    api = TaxiiApi(ctx)
    router = APIRouter()
    coll = "/{api_root}/collections/{collection_id}"
    obj = coll + "/objects/{object_id}"
    routes: list[tuple[str, Callable[..., Any], list[str]]] = [
        ("/taxii2/", api.discovery, ["GET"]),
        ("/{api_root}/", api.api_root, ["GET"]),
        ("/{api_root}/collections/", api.collections, ["GET"]),
        (coll + "/", api.collection, ["GET"]),
        (coll + "/objects/", api.get_objects, ["GET"]),
        (coll + "/objects/", api.add_objects, ["POST"]),
        (coll + "/manifest/", api.manifest, ["GET"]),
        (obj + "/", api.get_object, ["GET"]),
        (obj + "/", api.delete_object, ["DELETE"]),
        (obj + "/versions/", api.versions, ["GET"]),
        ("/{api_root}/status/{status_id}/", api.status, ["GET"]),
    ]
    for path, endpoint, methods in routes:
        router.add_api_route(path, endpoint, methods=methods, response_class=Response)
        router.add_api_route(
            path.rstrip("/"),
            endpoint,
            methods=methods,
            response_class=Response,
            include_in_schema=False,
        )
    return router

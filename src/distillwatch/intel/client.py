"""Publishing to and pulling from a TAXII 2.1 hub with the unchanged ``taxii2-client``.

``hub_url`` is the hub's discovery URL (``.../taxii2/``; its default API root is used, or
its only one) or an API root URL. Credentials come from :func:`token_from_env_or_file`,
never from a command-line flag. A token is sent as ``Authorization: Bearer <token>``; a
credential of the form ``NAME:PASSWORD`` (a colon never occurs in a Bearer token, RFC
6750) is sent with HTTP Basic authentication instead, which is what the ``medallion``
reference server and the hub's Basic login take.

``pull`` writes each page it receives as a STIX bundle
``OUT/<collection id>/<UTC time>-<n>.json`` and remembers, per hub and collection, the
``X-TAXII-Date-Added-Last`` of the newest page in ``OUT/state.json``::

    {"<hub url>|<collection id>": {"added_after": "2026-11-29T10:00:00.123456Z"}}

so the next pull asks only for what was added since. Errors of the network, the HTTP
layer and ``taxii2client`` become one-line :class:`~distillwatch.errors.HubError`\\ s;
unusable local files (bundle, state, token) are :class:`~distillwatch.errors.IntelError`\\ s.

>>> import requests
>>> prepared = requests.Request("GET", "http://hub.invalid/").prepare()
>>> auth_for("s3cr3t")(prepared).headers["Authorization"]
'Bearer s3cr3t'
>>> type(auth_for("member:pw")).__name__
'HTTPBasicAuth'
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import requests.auth

from distillwatch.errors import HubError, IntelError
from distillwatch.outputs.files import ensure_dir, write_text
from distillwatch.outputs.ids import stable_uuid

TOKEN_ENV = "DISTILLWATCH_HUB_TOKEN"
STATE_FILE = "state.json"
#: objects asked for per page when pulling
PAGE_SIZE = 100
#: seconds to wait for a hub to finish processing a push
PUSH_TIMEOUT = 60.0
_SAFE_DIR = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


# ------------------------------------------------------------------ credentials


def token_from_env_or_file(token_file: Path | None) -> str:
    """The hub credential: ``token_file``'s contents if given, else ``$DISTILLWATCH_HUB_TOKEN``.

    An explicit file wins over the environment, like any explicit option.

    >>> import os
    >>> os.environ[TOKEN_ENV] = "t0k3n"
    >>> token_from_env_or_file(None)
    't0k3n'
    >>> del os.environ[TOKEN_ENV]
    """
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise IntelError(f"cannot read the token file {token_file}: {exc}") from exc
        where = f"token file {token_file}"
    else:
        token, where = os.environ.get(TOKEN_ENV, "").strip(), f"${TOKEN_ENV}"
        if not token:  # unset or empty
            raise IntelError(
                f"no hub token: set {TOKEN_ENV} or pass --token-file FILE "
                "(a token is never given on the command line)"
            )
    if not token:
        raise IntelError(f"the {where} is empty; put the token the hub operator gave you in it")
    if any(c.isspace() for c in token):
        raise IntelError(f"the {where} holds more than one word; it must hold the token only")
    return token


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` on every request (for ``taxii2client``'s ``auth=``)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:  # never print the token
        return "BearerAuth(<hidden>)"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def auth_for(token: str) -> requests.auth.AuthBase:
    """Bearer auth for a token, Basic auth for a ``NAME:PASSWORD`` credential."""
    if ":" in token:
        user, _, password = token.partition(":")
        return requests.auth.HTTPBasicAuth(user, password)
    return BearerAuth(token)


class _Recorder(requests.auth.AuthBase):
    """Wraps an auth and keeps the headers of the last response (taxii2client drops them)."""

    def __init__(self, inner: requests.auth.AuthBase) -> None:
        self.inner = inner
        self.last: dict[str, str] = {}

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r = self.inner(r)
        r.register_hook("response", self._keep)
        return r

    def _keep(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.last = dict(resp.headers)


# ------------------------------------------------------------------ errors


def _reason(resp: requests.Response | None) -> str:
    if resp is None:
        return ""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        text = str(body.get("description") or body.get("title") or "")
    else:
        text = resp.reason or ""
    return " ".join(text.split())[:200]


def _http_error(exc: requests.HTTPError, hub_url: str) -> HubError:
    resp = exc.response
    code = resp.status_code if resp is not None else 0
    why = _reason(resp)
    detail = f" ({why})" if why else ""
    url = resp.url if resp is not None else hub_url
    if code == 401:
        return HubError(
            f"the hub at {hub_url} refused the credentials (HTTP 401); check {TOKEN_ENV} "
            "or --token-file"
        )
    if code == 403:
        return HubError(
            f"the hub at {hub_url} denied access (HTTP 403){detail}; ask its operator to "
            "grant this member the collection"
        )
    if code == 404:
        return HubError(
            f"not found on the hub (HTTP 404 for {url}){detail}; check --hub (discovery or "
            "API root URL) and --collection"
        )
    return HubError(f"the hub at {hub_url} answered HTTP {code} for {url}{detail}")


@contextmanager
def _hub_errors(hub_url: str) -> Iterator[None]:
    """Translate everything the network and ``taxii2client`` raise into one HubError line."""
    from taxii2client.exceptions import TAXIIServiceException

    try:
        yield
    except requests.HTTPError as exc:
        raise _http_error(exc, hub_url) from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        found = _ERRNO.search(str(exc))
        why = found.group(1).strip() if found else type(exc).__name__
        raise HubError(
            f"cannot reach the hub at {hub_url}: {why}; check --hub and that the hub is running"
        ) from exc
    except requests.RequestException as exc:
        raise HubError(f"request to the hub at {hub_url} failed: {type(exc).__name__}") from exc
    except TAXIIServiceException as exc:
        msg = " ".join(str(exc).split())[:300]
        raise HubError(f"the hub at {hub_url} gave an unusable answer: {msg}") from exc


# ------------------------------------------------------------------ TAXII endpoints


def _api_root(hub_url: str, auth: requests.auth.AuthBase) -> Any:
    """The API root behind ``hub_url`` (a discovery URL or an API root URL)."""
    from taxii2client.v21 import ApiRoot, Server

    server = Server(hub_url, auth=auth)
    custom = server.custom_properties  # loads the URL
    roots = server.api_roots
    if roots:
        if server.default is not None:
            return server.default
        if len(roots) == 1:
            return roots[0]
        listed = ", ".join(r.url for r in roots)
        raise HubError(f"{hub_url} lists several API roots and no default; pass one: {listed}")
    if "max_content_length" in custom or "versions" in custom:
        return ApiRoot(hub_url, auth=auth)
    raise HubError(f"{hub_url} is a TAXII server without API roots; check --hub")


def _collection(root: Any, collection_id: str) -> Any:
    for coll in root.collections:
        if coll.id == collection_id:
            return coll
    known = ", ".join(c.id for c in root.collections) or "none"
    raise HubError(
        f"no collection {collection_id} visible at {root.url} (visible: {known}); "
        "check --collection"
    )


def _normalized(hub_url: str) -> str:
    return hub_url if hub_url.endswith("/") else hub_url + "/"


# ------------------------------------------------------------------ push


@dataclass(frozen=True)
class PushFailure:
    """An object the hub refused, with its reason."""

    id: str
    message: str


@dataclass(frozen=True)
class PushReport:
    """What the hub said about a push (summed over its requests)."""

    collection_id: str
    total: int
    succeeded: int
    pending: int
    failures: list[PushFailure] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people.

        >>> PushReport("c", 3, 2, 0, [PushFailure("x--1", "bad")]).summary()
        'collection c: 2 of 3 objects accepted, 1 refused (x--1: bad)'
        """
        text = f"collection {self.collection_id}: {self.succeeded} of {self.total} objects accepted"
        if self.failures:
            shown = "; ".join(
                f"{f.id}: {f.message or 'no reason given'}" for f in self.failures[:3]
            )
            more = f" and {len(self.failures) - 3} more" if len(self.failures) > 3 else ""
            text += f", {len(self.failures)} refused ({shown}{more})"
        if self.pending:
            text += f", {self.pending} still pending"
        return text


class PushRefused(HubError):
    """The hub refused (or did not finish) some objects of a push; ``report`` says which."""

    def __init__(self, report: PushReport) -> None:
        super().__init__(
            report.summary() + "; fix the bundle (or ask the hub operator) and push again"
        )
        self.report = report


def _read_bundle(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IntelError(
            f"bundle {path} not found; build one with `distillwatch intel build`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntelError(f"cannot read bundle {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("type") != "bundle":
        raise IntelError(f"{path} is not a STIX bundle (type must be 'bundle')")
    objects = data.get("objects", [])
    if not isinstance(objects, list) or not all(
        isinstance(o, dict) and isinstance(o.get("id"), str) for o in objects
    ):
        raise IntelError(f"{path}: 'objects' must be a list of STIX objects with ids")
    return objects


def _chunks(objects: list[dict[str, Any]], max_bytes: int | None) -> list[list[dict[str, Any]]]:
    """Split into envelopes of at most ``max_bytes`` (the API root's max_content_length).

    >>> [len(c) for c in _chunks([{"id": "a" * 10}] * 5, 60)]
    [2, 2, 1]
    """
    if not max_bytes or max_bytes <= 0:
        return [objects] if objects else []
    overhead = len(b'{"objects": []}')
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = overhead
    for obj in objects:
        n = len(json.dumps(obj, ensure_ascii=False).encode()) + 2  # ", " separator
        if overhead + n > max_bytes:
            raise HubError(
                f"object {obj['id']} alone ({n} bytes) exceeds the hub's max_content_length "
                f"({max_bytes} bytes)"
            )
        if current and size + n > max_bytes:
            chunks.append(current)
            current, size = [], overhead
        current.append(obj)
        size += n
    if current:
        chunks.append(current)
    return chunks


def push(
    bundle_path: Path,
    hub_url: str,
    collection_id: str,
    token: str,
    *,
    timeout: float = PUSH_TIMEOUT,
) -> PushReport:
    """Add every object of the bundle at ``bundle_path`` to a hub collection.

    Returns the hub's report; raises :class:`PushRefused` (a :class:`HubError`) if the hub
    refused any object or did not finish within ``timeout`` seconds.
    """
    objects = _read_bundle(bundle_path)
    recorder = _Recorder(auth_for(token))
    succeeded = pending = 0
    failures: list[PushFailure] = []
    with _hub_errors(hub_url):
        root = _api_root(hub_url, recorder)
        coll = _collection(root, collection_id)
        if not coll.can_write:
            raise HubError(
                f"collection {collection_id} at {root.url} is read-only for this member; "
                "ask the hub operator for write access"
            )
        for chunk in _chunks(objects, root.max_content_length):
            status = coll.add_objects(
                {"objects": chunk}, wait_for_completion=True, poll_interval=1, timeout=timeout
            )
            succeeded += int(status.success_count)
            pending += int(status.pending_count)
            failures += [
                PushFailure(str(f.get("id", "?")), " ".join(str(f.get("message", "")).split()))
                for f in status.failures
            ]
            # a hub may report counts without details: keep the count honest
            missing = int(status.failure_count) - len(status.failures)
            failures += [PushFailure("?", "no details given")] * max(0, missing)
    report = PushReport(collection_id, len(objects), succeeded, pending, failures)
    if failures or pending:
        raise PushRefused(report)
    return report


# ------------------------------------------------------------------ pull


@dataclass(frozen=True)
class PulledCollection:
    """What one collection gave on a pull."""

    collection_id: str
    n_objects: int
    files: list[Path]
    #: the cursor saved for the next pull (None: the hub never sent one)
    added_after: str | None


def _parse_time(text: str) -> datetime | None:
    try:
        ts = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def taxii_time(value: datetime | str) -> str:
    """A timestamp as TAXII's ``added_after`` takes it (UTC, microseconds, ``Z``).

    >>> taxii_time("2026-11-02T10:00:00+01:00")
    '2026-11-02T09:00:00.000000Z'
    """
    ts = _parse_time(value) if isinstance(value, str) else value
    if ts is None:
        raise IntelError(f"--since {value!r} is not an RFC 3339 time like 2026-11-02T00:00:00Z")
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _load_state(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntelError(f"cannot read {path}: {exc}; delete it to pull everything again") from exc
    if not isinstance(state, dict) or not all(isinstance(v, dict) for v in state.values()):
        raise IntelError(f"{path} is not a pull state file; delete it to pull everything again")
    return state


def _later(candidate: str, current: str | None) -> bool:
    if current is None:
        return True
    a, b = _parse_time(candidate), _parse_time(current)
    return a is None or b is None or a > b


def pull(
    hub_url: str,
    out_dir: Path,
    *,
    collection_id: str | None = None,
    since: datetime | str | None = None,
    token: str,
    page_size: int = PAGE_SIZE,
) -> list[PulledCollection]:
    """Fetch what was added to one collection (or every readable one) since the last pull.

    ``since`` overrides the saved cursor. Pages are written as they arrive and the cursor
    is saved after each collection, so an interrupted pull resumes where it stopped.
    """
    from taxii2client.v21 import as_pages

    if page_size < 1:
        raise IntelError(f"page size must be at least 1, got {page_size}")
    after_override = taxii_time(since) if since is not None else None
    state_path = ensure_dir(out_dir) / STATE_FILE
    state = _load_state(state_path)
    hub = _normalized(hub_url)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    recorder = _Recorder(auth_for(token))
    results: list[PulledCollection] = []
    with _hub_errors(hub_url):
        root = _api_root(hub_url, recorder)
        if collection_id is not None:
            colls = [_collection(root, collection_id)]
            if not colls[0].can_read:
                raise HubError(f"collection {collection_id} at {root.url} is not readable")
        else:
            colls = [c for c in root.collections if c.can_read]
        for coll in colls:
            if not _SAFE_DIR.fullmatch(coll.id):
                raise HubError(f"collection id {coll.id!r} cannot name a local directory")
            key = f"{hub}|{coll.id}"
            saved = state.get(key, {}).get("added_after")
            after = after_override or (saved if isinstance(saved, str) else None)
            cursor, n_objects, files = after, 0, []
            pages = as_pages(coll.get_objects, per_request=page_size, added_after=after)
            for n, envelope in enumerate(pages, start=1):
                last = recorder.last.get("X-TAXII-Date-Added-Last")
                if last and _later(last, cursor):
                    cursor = last
                objects = envelope.get("objects", [])
                if objects:
                    n_objects += len(objects)
                    files.append(_write_page(out_dir / coll.id, hub, coll.id, stamp, n, objects))
            if cursor:
                state[key] = {"added_after": cursor}
                write_text(state_path, json.dumps(state, indent=2, sort_keys=True) + "\n")
            results.append(PulledCollection(coll.id, n_objects, files, cursor))
    return results


def _write_page(
    directory: Path, hub: str, collection_id: str, stamp: str, n: int, objects: list[Any]
) -> Path:
    bundle = {
        "type": "bundle",
        "id": "bundle--" + stable_uuid("pulled-page", hub, collection_id, stamp, str(n)),
        "objects": objects,
    }
    path = ensure_dir(directory) / f"{stamp}-{n:04d}.json"
    return write_text(path, json.dumps(bundle, indent=1, ensure_ascii=False) + "\n")

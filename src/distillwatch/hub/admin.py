"""Hub administration behind ``distillwatch hub ...``: members, tokens, collections, grants.

Each function opens the database at *db_url* (creating the tables if needed), does one
thing, and closes it. Collections are named by id or by their (unique) title.

>>> import os, tempfile
>>> db = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "hub.db")
>>> coll = add_collection(db, "campaigns")
>>> me = "identity--6b7a9f1c-3b57-4d3e-9a3e-2a3b3f6c9a11"
>>> add_member(db, "acme", me, read=["campaigns"]).startswith("dwh_")
True
>>> [(m.name, m.grants[coll]) for m in list_members(db)]
[('acme', (True, False))]
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from distillwatch.errors import HubError
from distillwatch.hub.auth import hash_token, new_token
from distillwatch.hub.storage import CollectionInfo, HubStore, MemberInfo, open_store

_IDENTITY_RE = re.compile(r"identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")


@contextmanager
def _store(db_url: str) -> Iterator[HubStore]:
    store = open_store(db_url)
    try:
        yield store
    finally:
        store.close()


def valid_identity(identity_id: str) -> str:
    """*identity_id* if it is a STIX identity id (``identity--<uuid>``), else HubError."""
    if _IDENTITY_RE.fullmatch(identity_id) is None:
        raise HubError(
            f"{identity_id!r} is not a STIX identity id; give identity--<uuid> "
            "(the id your intel bundles use as created_by_ref)"
        )
    return identity_id


def add_member(
    db_url: str,
    name: str,
    identity_id: str,
    read: Sequence[str] = (),
    write: Sequence[str] = (),
) -> str:
    """Create member *name* publishing as *identity_id* with read/write grants on the
    named collections; return its token (shown once: only its hash is stored)."""
    if _NAME_RE.fullmatch(name) is None:
        raise HubError(
            f"member name {name!r} is not usable; use up to 100 letters, digits, '.', '_', "
            "'@' or '-' (no ':' — it separates name and token in Basic authentication)"
        )
    valid_identity(identity_id)
    token = new_token()
    with _store(db_url) as store:
        read_ids = {store.resolve_collection(c) for c in read}
        write_ids = {store.resolve_collection(c) for c in write}
        store.add_member(name, identity_id, hash_token(token))
        for coll in sorted(read_ids | write_ids):
            store.set_grant(name, coll, can_read=coll in read_ids, can_write=coll in write_ids)
    return token


def new_member_token(db_url: str, name: str) -> str:
    """Give member *name* an additional token (rotate: then revoke the old ones)."""
    token = new_token()
    with _store(db_url) as store:
        store.add_token(name, hash_token(token))
    return token


def revoke_token(db_url: str, name: str) -> int:
    """Revoke every active token of member *name*; return how many."""
    with _store(db_url) as store:
        return store.revoke_tokens(name)


def add_collection(
    db_url: str, title: str, description: str = "", api_root: str = "default"
) -> str:
    """Create a collection in *api_root*; return its id."""
    with _store(db_url) as store:
        return store.add_collection(api_root, title, description)


def grant(db_url: str, name: str, collection: str, *, read: bool, write: bool) -> str:
    """Set member *name*'s rights on *collection* (id or title); return the collection id.
    ``read=False, write=False`` removes the grant."""
    with _store(db_url) as store:
        coll = store.resolve_collection(collection)
        store.set_grant(name, coll, can_read=read, can_write=write)
        return coll


def list_members(db_url: str) -> list[MemberInfo]:
    """Every member with identities, active tokens and grants."""
    with _store(db_url) as store:
        return store.members()


def list_collections(db_url: str) -> list[CollectionInfo]:
    """Every collection of every API root."""
    with _store(db_url) as store:
        return store.collections()

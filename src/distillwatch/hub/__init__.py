"""The sharing hub: a TAXII 2.1 server providers run together to exchange STIX 2.1.

Module map::

    settings.py     HubSettings: database URL, address, limits (stores only)
    storage.py      SQLAlchemy tables + HubStore, the only code that queries them
                    (SQLite default, PostgreSQL via postgresql+psycopg://)
    auth.py         Basic (member name + token) and Bearer authentication; token hashing
    guardrails.py   what may be published: allow-list (allowlist.toml), prompt ban,
                    free-text limits, own identity only, no TLP:RED, valid STIX + patterns
    audit.py        append-only, hash-chained audit log; verify_chain()
    taxii.py        the TAXII 2.1 routes (discovery, API roots, collections, objects,
                    manifest, versions, status) and the per-request pipeline
    app.py          create_app(settings) -> FastAPI
    server.py       serve(settings) with uvicorn; running_hub(settings) for tests
    admin.py        members, tokens, collections, grants (behind `distillwatch hub`)

Data flow of a write (``POST .../collections/{id}/objects/``)::

    request -> auth (401) -> Accept (406) -> collection grant (404 unknown or not granted,
    403 without can_write) -> Content-Type (415) -> size (413) -> envelope JSON (400)
    -> guardrails, per object (refusals become status failures with their reason)
    -> storage: one transaction, date_added allocated strictly increasing per collection
    -> status resource (202) -> audit entry

A read (``GET .../objects/?added_after=&match[...]=&limit=&next=``) goes through the same
auth/Accept/grant checks (403 without can_read), queries one page ordered by date_added
and returns the stored JSON verbatim in an envelope, then writes its audit entry.
"""

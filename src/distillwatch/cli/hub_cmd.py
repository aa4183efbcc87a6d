"""``distillwatch hub ...``: run the sharing hub (TAXII 2.1) and administer it.

    distillwatch hub serve [--db URL] [--host 127.0.0.1] [--port 8700]
    distillwatch hub collection add TITLE [--description TEXT]
    distillwatch hub collection list
    distillwatch hub member add NAME --identity identity--... [--read COLL]... [--write COLL]...
    distillwatch hub member list | member token NAME | member revoke NAME
    distillwatch hub grant NAME COLL [--read/--no-read] [--write/--no-write]
    distillwatch hub audit verify

``--db`` defaults to ``$DISTILLWATCH_HUB_DB`` or ``sqlite:///hub.db``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from distillwatch.hub.settings import DEFAULT_DB_URL

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="DISTILLWATCH_HUB_DB",
        help="Hub database URL: sqlite:///hub.db or postgresql+psycopg://user@host/db.",
    ),
]


def build_app() -> typer.Typer:
    """The ``hub`` Typer app with its sub-commands."""
    from distillwatch.cli.main import one_line_errors

    hub = typer.Typer(
        help="Run the sharing hub (TAXII 2.1) and manage its members and collections.",
        no_args_is_help=True,
    )
    member = typer.Typer(help="Members, their identities and tokens.", no_args_is_help=True)
    collection = typer.Typer(help="Collections of the default API root.", no_args_is_help=True)
    audit = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
    hub.add_typer(member, name="member")
    hub.add_typer(collection, name="collection")
    hub.add_typer(audit, name="audit")
    out = Console()

    @hub.command("serve")
    @one_line_errors
    def serve(
        db: DbOption = DEFAULT_DB_URL,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8700,
    ) -> None:
        """Serve TAXII 2.1 at http://HOST:PORT/taxii2/ (put TLS in front of it)."""
        from distillwatch.hub.server import serve as run
        from distillwatch.hub.settings import HubSettings

        run(HubSettings(db_url=db, host=host, port=port))

    @member.command("add")
    @one_line_errors
    def member_add(
        name: Annotated[str, typer.Argument(help="Member name (the Basic user name).")],
        identity: Annotated[
            str, typer.Option("--identity", help="STIX identity id the member publishes as.")
        ],
        read: Annotated[
            list[str] | None, typer.Option("--read", help="Collection (id or title) to read.")
        ] = None,
        write: Annotated[
            list[str] | None, typer.Option("--write", help="Collection (id or title) to write.")
        ] = None,
        db: DbOption = DEFAULT_DB_URL,
    ) -> None:
        """Create a member and print its token once."""
        from distillwatch.hub.admin import add_member

        token = add_member(db, name, identity, read or [], write or [])
        out.print(f"member {name} added; token:", highlight=False)
        print(token)
        out.print("This token will not be shown again: store it now (only its hash is kept).")

    @member.command("list")
    @one_line_errors
    def member_list(db: DbOption = DEFAULT_DB_URL) -> None:
        """Members, identities, active tokens and grants."""
        from distillwatch.hub.admin import list_members

        table = Table(title="hub members")
        for col in ("name", "identity", "tokens", "read", "write"):
            table.add_column(col)
        for m in list_members(db):
            table.add_row(
                m.name,
                ", ".join(m.identity_ids),
                str(m.active_tokens),
                ", ".join(c for c, (r, _) in sorted(m.grants.items()) if r),
                ", ".join(c for c, (_, w) in sorted(m.grants.items()) if w),
            )
        out.print(table)

    @member.command("token")
    @one_line_errors
    def member_token(
        name: Annotated[str, typer.Argument(help="Member name.")], db: DbOption = DEFAULT_DB_URL
    ) -> None:
        """Issue an additional token (to rotate: then `member revoke` the old ones)."""
        from distillwatch.hub.admin import new_member_token

        print(new_member_token(db, name))
        out.print("This token will not be shown again: store it now (only its hash is kept).")

    @member.command("revoke")
    @one_line_errors
    def member_revoke(
        name: Annotated[str, typer.Argument(help="Member name.")], db: DbOption = DEFAULT_DB_URL
    ) -> None:
        """Revoke every active token of a member."""
        from distillwatch.hub.admin import revoke_token

        out.print(f"revoked {revoke_token(db, name)} token(s) of {name}", highlight=False)

    @collection.command("add")
    @one_line_errors
    def collection_add(
        title: Annotated[str, typer.Argument(help="Collection title.")],
        description: Annotated[str, typer.Option(help="What the collection holds.")] = "",
        db: DbOption = DEFAULT_DB_URL,
    ) -> None:
        """Create a collection and print its id."""
        from distillwatch.hub.admin import add_collection

        print(add_collection(db, title, description))

    @collection.command("list")
    @one_line_errors
    def collection_list(db: DbOption = DEFAULT_DB_URL) -> None:
        """Every collection."""
        from distillwatch.hub.admin import list_collections

        table = Table(title="hub collections")
        for col in ("id", "api root", "title", "description"):
            table.add_column(col)
        for c in list_collections(db):
            table.add_row(c.id, c.api_root, c.title, c.description)
        out.print(table)

    @hub.command("grant")
    @one_line_errors
    def grant_cmd(
        name: Annotated[str, typer.Argument(help="Member name.")],
        coll: Annotated[str, typer.Argument(help="Collection id or title.")],
        read: Annotated[bool, typer.Option("--read/--no-read", help="May read.")] = True,
        write: Annotated[bool, typer.Option("--write/--no-write", help="May write.")] = False,
        db: DbOption = DEFAULT_DB_URL,
    ) -> None:
        """Set what a member may do with a collection (--no-read --no-write removes it)."""
        from distillwatch.hub.admin import grant

        coll_id = grant(db, name, coll, read=read, write=write)
        out.print(f"{name} on {coll_id}: read={read} write={write}", highlight=False)

    @audit.command("verify")
    @one_line_errors
    def audit_verify(db: DbOption = DEFAULT_DB_URL) -> None:
        """Recompute the audit chain; exit 1 if an entry was altered or deleted."""
        from distillwatch.hub.audit import verify_chain
        from distillwatch.hub.storage import open_store

        store = open_store(db)
        try:
            report = verify_chain(store)
        finally:
            store.close()
        if not report.ok:
            Console(stderr=True).print(
                f"[bold red]audit chain broken:[/] {report.problem}", highlight=False
            )
            raise typer.Exit(1)
        out.print(
            f"audit chain intact: {report.entries} entries, head {report.head_hash}",
            highlight=False,
        )

    return hub


def register(app: typer.Typer) -> None:
    """Add the ``hub`` command group to *app*."""
    app.add_typer(build_app(), name="hub")

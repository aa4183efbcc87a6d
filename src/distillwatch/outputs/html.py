"""Tiny HTML building blocks that escape by default.

Any ``str`` given to these helpers is escaped; only :class:`Html` (markup we built
ourselves) passes through. Escaping is therefore the default, never something to
remember.

>>> str(tag("p", "<script>alert(1)</script>"))
'<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>'
>>> str(tag("a", "x", href="#top"))
'<a href="#top">x</a>'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape


class Html(str):
    """Markup that is already safe (built by these helpers)."""

    __slots__ = ()


def esc(value: object) -> Html:
    """*value* as safe markup: Html is kept, anything else is converted and escaped.

    >>> esc('a "b" & <c>')
    'a &quot;b&quot; &amp; &lt;c&gt;'
    """
    if isinstance(value, Html):
        return value
    if value is None:
        return Html("")
    return Html(escape(str(value), quote=True))


def join(parts: Iterable[object], sep: str = "") -> Html:
    """Escape each part and join them."""
    return Html(escape(sep).join(esc(p) for p in parts))


def tag(name: str, *children: object, **attrs: str | None) -> Html:
    """``<name attrs>children</name>``; attribute ``class_`` means ``class``; None drops it."""
    rendered = "".join(
        f' {k.rstrip("_").replace("_", "-")}="{escape(v, quote=True)}"'
        for k, v in attrs.items()
        if v is not None
    )
    return Html(f"<{name}{rendered}>{join(children)}</{name}>")


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, class_: str | None = None
) -> Html:
    """A ``<table>`` with a header row; each cell is escaped unless it is Html.

    >>> str(table(["a"], [["<b>"]]))
    '<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>'
    """
    head = tag("thead", tag("tr", *(tag("th", h) for h in headers)))
    body = tag("tbody", *(tag("tr", *(tag("td", c) for c in row)) for row in rows))
    return tag("table", head, body, class_=class_)


def facts(items: Iterable[tuple[str, object]]) -> Html:
    """A definition list of ``(label, value)`` pairs."""
    return tag("dl", *(join([tag("dt", k), tag("dd", v)]) for k, v in items), class_="facts")

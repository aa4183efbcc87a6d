"""Server-side inline SVG picture of a campaign's linkage graph (no script, no external file).

The campaign's accounts are nodes on a circle; each shared attribute
(:class:`~distillwatch.results.LinkEvidence`: a payment card, an address range, a prompt
template...) is one star-shaped edge from a small hub to every shown account that shares
it, coloured by the attribute's kind. The layout is deterministic: accounts with the same
attributes sit next to each other, and the same input gives the same picture.

>>> from distillwatch.results import LinkEvidence
>>> card = LinkEvidence("payment_fingerprint", "pf_1", 2, 2, 0.9, ("a1", "a2"))
>>> svg = linkage_chart(["a1", "a2", "a3"], [card])
>>> svg.count('class="node"'), svg.count('class="link"'), "payment_fingerprint (1)" in svg
(3, 1, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from html import escape

from distillwatch.outputs.fmt import truncate
from distillwatch.results import LinkEvidence

MAX_NODES = 40
#: account names are written next to the nodes up to this many nodes (else on hover)
MAX_LABELS = 20
WIDTH = 660
RADIUS = 150
CX = WIDTH // 2
CY = 190
NODE_R = 5
LABEL_CHARS = 16
KIND_COLORS = {
    "payment": "#c0392b",
    "payment_fingerprint": "#c0392b",
    "ip_prefix": "#2471a3",
    "asn_created": "#7d3c98",
    "ua_created": "#1e8449",
    "template": "#b9770e",
    "org": "#117a65",
}
OTHER_COLORS = ("#5d6d7e", "#a04000", "#1a5276", "#6e2c00")
FLAGGED = "#c0392b"
UNFLAGGED = "#7f8c9d"


def kind_color(kind: str) -> str:
    """The colour of a link kind (known kinds fixed; others by a stable hash of the name).

    >>> kind_color("ip_prefix"), kind_color("ip_prefix") == kind_color("ip_prefix")
    ('#2471a3', True)
    """
    if kind in KIND_COLORS:
        return KIND_COLORS[kind]
    return OTHER_COLORS[sum(kind.encode()) % len(OTHER_COLORS)]


def circle_order(accounts: Sequence[str], links: Sequence[LinkEvidence]) -> list[str]:
    """*accounts* in circle order: grouped by which links they share (strongest link
    first), ties kept in the given order.

    >>> a = LinkEvidence("org", "o", 2, 2, 0.5, ("x", "z"))
    >>> circle_order(["x", "y", "z"], [a])
    ['x', 'z', 'y']
    """
    strongest = sorted(links, key=lambda x: (-x.weight, x.kind, x.value))
    member_sets = [set(link.account_ids) for link in strongest]
    rank = {a: i for i, a in enumerate(accounts)}

    def key(a: str) -> tuple[tuple[int, ...], int]:
        return tuple(0 if a in s else 1 for s in member_sets), rank[a]

    return sorted(dict.fromkeys(accounts), key=key)


def _positions(order: list[str]) -> dict[str, tuple[float, float]]:
    n = len(order)
    if n == 1:
        return {order[0]: (float(CX), float(CY))}
    return {
        a: (
            CX + RADIUS * math.cos(-math.pi / 2 + 2 * math.pi * i / n),
            CY + RADIUS * math.sin(-math.pi / 2 + 2 * math.pi * i / n),
        )
        for i, a in enumerate(order)
    }


def _default_label(link: LinkEvidence) -> str:
    return link.value


def linkage_chart(
    accounts: Sequence[str],
    links: Sequence[LinkEvidence],
    *,
    flagged: Collection[str] = (),
    value_label: Callable[[LinkEvidence], str] = _default_label,
    title: str = "Linkage graph",
) -> str:
    """An ``<svg>`` with one ``class="node"`` per account (the first :data:`MAX_NODES` of
    *accounts*) and one ``class="link"`` group per link with at least two shown accounts;
    ``""`` when there are no accounts. *value_label* gives the text shown for a link's
    value (e.g. redacted); *flagged* accounts are drawn red.
    """
    shown = list(dict.fromkeys(accounts))[:MAX_NODES]
    if not shown:
        return ""
    pos = _positions(circle_order(shown, links))
    drawn = [
        (link, [a for a in link.account_ids if a in pos])
        for link in sorted(links, key=lambda x: (-x.weight, x.kind, x.value))
    ]
    drawn = [(link, members) for link, members in drawn if len(members) >= 2]
    kinds = sorted({link.kind for link, _ in drawn})
    legend_y = CY + RADIUS + 40
    height = legend_y + 20 * max(1, math.ceil(len(kinds) / 3)) + 8
    parts = [
        f'<svg class="chart linkage" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for j, (link, members) in enumerate(drawn):
        parts.append(_link(j, link, members, pos, value_label(link)))
    flagged_set = set(flagged)
    for a, (x, y) in pos.items():
        parts.append(_node(a, x, y, a in flagged_set, len(pos) <= MAX_LABELS))
    for k, kind in enumerate(kinds):
        x, y = 20 + (k % 3) * 210, legend_y + 20 * (k // 3)
        n = sum(1 for link, _ in drawn if link.kind == kind)
        parts.append(
            f'<line x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}" stroke="{kind_color(kind)}" '
            f'stroke-width="3"/><text x="{x + 30}" y="{y + 4}">{escape(kind)} ({n})</text>'
        )
    if not kinds:
        parts.append(
            f'<text x="20" y="{legend_y + 4}">no shared attribute joins two shown accounts</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _link(
    j: int,
    link: LinkEvidence,
    members: list[str],
    pos: dict[str, tuple[float, float]],
    label: str,
) -> str:
    # hub at the members' centroid, nudged along a spiral so coinciding hubs stay apart
    hx = sum(pos[a][0] for a in members) / len(members) + 9 * math.sqrt(j) * math.cos(2.4 * j)
    hy = sum(pos[a][1] for a in members) / len(members) + 9 * math.sqrt(j) * math.sin(2.4 * j)
    color = kind_color(link.kind)
    tip = escape(
        f"{link.kind} {label}: {link.n_accounts} accounts of the campaign "
        f"({len(members)} shown), {link.n_accounts_total} in the input, "
        f"edge weight {link.weight:.3f}"
    )
    spokes = "".join(
        f'<line x1="{hx:.1f}" y1="{hy:.1f}" x2="{pos[a][0]:.1f}" y2="{pos[a][1]:.1f}"/>'
        for a in members
    )
    return (
        f'<g class="link" data-kind="{escape(link.kind)}" stroke="{color}" '
        f'stroke-width="1.5" stroke-opacity="0.6"><title>{tip}</title>{spokes}'
        f'<circle cx="{hx:.1f}" cy="{hy:.1f}" r="3" fill="{color}"/></g>'
    )


def _node(account: str, x: float, y: float, flagged: bool, labelled: bool) -> str:
    tip = escape(f"{account}{' (flagged)' if flagged else ''}")
    out = (
        f'<g class="node" data-account="{escape(account)}"><title>{tip}</title>'
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{NODE_R}" '
        f'fill="{FLAGGED if flagged else UNFLAGGED}" stroke="#fff"/>'
    )
    if labelled:
        dx, dy = x - CX, y - CY
        norm = math.hypot(dx, dy) or 1.0
        lx, ly = x + 10 * dx / norm, y + 10 * dy / norm + 4
        anchor = "start" if dx > 1 else ("end" if dx < -1 else "middle")
        text = escape(truncate(account, LABEL_CHARS))
        out += f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}">{text}</text>'
    return out + "</g>"

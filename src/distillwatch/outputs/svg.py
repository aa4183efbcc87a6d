"""Server-side inline SVG bar chart of signal contributions (no script, no external file).

Contributions are additive log-odds, so they may be negative (a signal that lowered risk):
bars grow right (red) or left (blue) from a zero line.

>>> from distillwatch.results import SignalHit
>>> hits = [SignalHit("volume", 0.9, 1.5, {}), SignalHit("coverage", 0.1, -0.5, {})]
>>> svg = contribution_chart(hits)
>>> svg.startswith("<svg") and svg.count("<rect") == 2
True
"""

from __future__ import annotations

from html import escape

from distillwatch.outputs.fmt import truncate
from distillwatch.results import SignalHit

WIDTH = 640
ROW = 24
LABEL_W = 170
VALUE_W = 70
BAR_H = 14
LABEL_CHARS = 24
POSITIVE = "#c0392b"
NEGATIVE = "#2471a3"


def contribution_chart(hits: list[SignalHit], *, title: str = "Signal contributions") -> str:
    """An ``<svg>`` element: one bar per hit, largest contribution first; ``""`` if no hits."""
    if not hits:
        return ""
    ordered = sorted(hits, key=lambda h: (-h.contribution, h.signal_id))
    max_pos = max((h.contribution for h in ordered if h.contribution > 0), default=0.0)
    max_neg = max((-h.contribution for h in ordered if h.contribution < 0), default=0.0)
    span = (max_pos + max_neg) or 1.0
    area = WIDTH - LABEL_W - VALUE_W
    zero_x = LABEL_W + area * (max_neg / span)
    height = ROW * len(ordered) + 8
    parts = [
        f'<svg class="chart" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{zero_x:.1f}" y1="2" x2="{zero_x:.1f}" y2="{height - 4}" stroke="#888"/>',
    ]
    for i, hit in enumerate(ordered):
        y = 4 + i * ROW
        width = area * abs(hit.contribution) / span
        x = zero_x if hit.contribution >= 0 else zero_x - width
        color = POSITIVE if hit.contribution >= 0 else NEGATIVE
        label = escape(truncate(hit.signal_id, LABEL_CHARS))
        tip = escape(
            f"{hit.signal_id}: contribution {hit.contribution:+.3f}, score {hit.score:.3f}"
        )
        text_y = y + BAR_H - 3
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{text_y}" text-anchor="end">{label}</text>'
            f'<rect x="{x:.1f}" y="{y}" width="{max(width, 1.0):.1f}" height="{BAR_H}" '
            f'fill="{color}"><title>{tip}</title></rect>'
            f'<text x="{WIDTH - VALUE_W + 8}" y="{text_y}">{hit.contribution:+.2f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

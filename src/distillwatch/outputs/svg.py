"""Server-side inline SVG charts (no script, no external file).

- :func:`contribution_chart`: signal contributions. They are additive log-odds, so they
  may be negative (a signal that lowered risk): bars grow right (red) or left (blue) from
  a zero line.
- :func:`timeline_chart`: a campaign's requests per hour per account as a heat strip.

>>> from distillwatch.results import SignalHit
>>> hits = [SignalHit("volume", 0.9, 1.5, {}), SignalHit("coverage", 0.1, -0.5, {})]
>>> svg = contribution_chart(hits)
>>> svg.startswith("<svg") and svg.count("<rect") == 2
True
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from html import escape

from distillwatch.outputs.fmt import as_utc, truncate
from distillwatch.results import SignalHit, Timeline

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


# ---------------------------------------------------------------- timeline heat strip

TL_PLOT_W = 720
TL_ROW = 16
TL_CELL_H = 13
TL_TOP = 34
TL_TOTAL_W = 70
TL_CELL_MAX = 14
TL_CELL_MIN = 2
#: light to dark; a cell's shade is its count on a log scale up to the chart's busiest cell
TL_SHADES = ("#ffe8a8", "#fdbb5c", "#f98d3c", "#e4502b", "#b3001b")
TL_EMPTY = "#f0f2f5"
AXIS = "#8a93a3"
OTHERS = "others"


def shade_bounds(peak: int, shades: int = len(TL_SHADES)) -> list[tuple[int, int]]:
    """``(low, high)`` request counts of each shade for a chart whose busiest cell has *peak*
    requests (log scale); a shade no count can reach has ``low > high``.

    >>> shade_bounds(100)
    [(1, 1), (2, 5), (6, 14), (15, 39), (40, 100)]
    """
    bounds: list[tuple[int, int]] = []
    low = 1
    for k in range(1, shades + 1):
        high = peak if k == shades else int(math.expm1(k / shades * math.log1p(peak)))
        bounds.append((low, high))
        low = max(low, high + 1)
    return bounds


def _shade(count: int, bounds: list[tuple[int, int]]) -> str:
    for (low, high), color in zip(bounds, TL_SHADES, strict=True):
        if low <= count <= high:
            return color
    return TL_SHADES[-1]


def _cell_label(start: datetime, hours: int) -> str:
    return f"{start:%Y-%m-%d %H}:00 UTC" + (f" +{hours}h" if hours > 1 else "")


def timeline_chart(timeline: Timeline, *, title: str = "Requests per hour") -> str:
    """An ``<svg>`` heat strip: one row per account (busiest first, then the others summed),
    one cell per hour (or per ``hours_per_cell``), shaded by its request count; every cell
    with requests has a ``<title>`` naming the account, the hour and the count. ``""`` when
    the timeline has no rows.

    >>> from datetime import datetime, UTC
    >>> tl = Timeline(datetime(2026, 1, 1, 23, tzinfo=UTC), 1, {"acct-1": [3, 0, 5]})
    >>> svg = timeline_chart(tl)
    >>> svg.count("<title>acct-1, "), "<title>acct-1, 2026-01-02 01:00 UTC, 5 requests<" in svg
    (2, True)
    """
    rows = [(a, a, counts) for a, counts in timeline.rows.items()]
    if timeline.others:
        rows.append((OTHERS, f"{timeline.n_others} other accounts", timeline.others))
    if not rows:
        return ""
    n_cells = max(len(c) for _, _, c in rows)
    per = timeline.hours_per_cell
    cell_w = int(min(TL_CELL_MAX, max(TL_CELL_MIN, TL_PLOT_W // max(n_cells, 1))))
    plot_w = cell_w * n_cells
    width = int(LABEL_W + plot_w + TL_TOTAL_W) + 1
    bottom = TL_TOP + TL_ROW * len(rows)
    height = bottom + 40
    start = as_utc(timeline.start)
    # the scale is the accounts' (the summed others, darkest beyond it, would flatten it)
    scaled = rows[:-1] if timeline.others and len(rows) > 1 else rows
    peak = max((max(c, default=0) for _, _, c in scaled), default=0)
    bounds = shade_bounds(max(peak, 1))
    over = any(n > bounds[-1][1] for _, _, c in rows for n in c)
    unit = "hour" if per == 1 else f"{per} hours"
    parts = [
        f'<svg class="chart timeline" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LABEL_W - 8}" y="{TL_TOP - 6}" text-anchor="end">UTC</text>',
        f'<text x="{width - 4}" y="{TL_TOP - 6}" text-anchor="end">requests</text>',
    ]
    parts += _time_axis(start, n_cells, per, cell_w, bottom)
    for r, (key, label, counts) in enumerate(rows):
        y = TL_TOP + r * TL_ROW
        name = escape(label)
        parts.append(
            f'<g class="row" data-account="{escape(key)}">'
            f'<text x="{LABEL_W - 8}" y="{y + TL_CELL_H - 2}" text-anchor="end">'
            f"{escape(truncate(label, LABEL_CHARS))}<title>{name}</title></text>"
            f'<rect x="{LABEL_W}" y="{y}" width="{plot_w}" height="{TL_CELL_H}" '
            f'fill="{TL_EMPTY}"/>'
        )
        for i, n in enumerate(counts):
            if n <= 0:
                continue
            tip = escape(f"{label}, {_cell_label(start + timedelta(hours=i * per), per)}, ")
            parts.append(
                f'<rect x="{LABEL_W + i * cell_w}" y="{y}" width="{cell_w}" height="{TL_CELL_H}" '
                f'fill="{_shade(n, bounds)}"><title>{tip}{n:,} requests</title></rect>'
            )
        parts.append(
            f'<text x="{width - 4}" y="{y + TL_CELL_H - 2}" text-anchor="end">'
            f"{sum(counts):,}</text></g>"
        )
    parts += _shade_legend(bounds, bottom + 22, f"requests per {unit}", over=over)
    parts.append("</svg>")
    return "".join(parts)


def _time_axis(start: datetime, n_cells: int, per: int, cell_w: float, bottom: int) -> list[str]:
    """Day boundaries (a line and the date) and, when there is room, 6-hour ticks."""
    out: list[str] = []
    px_per_hour = cell_w / per
    day_step = max(1, math.ceil(64 / (24 * px_per_hour)))
    hours = n_cells * per
    if start.hour and (24 - start.hour) * px_per_hour >= 64:  # date the partial first day
        out.append(f'<text x="{LABEL_W + 2}" y="{TL_TOP - 20}">{start:%a %d %b}</text>')
    for h in range(hours + 1):
        at = start + timedelta(hours=h)
        x = LABEL_W + h * px_per_hour
        if at.hour == 0:
            out.append(
                f'<line x1="{x:.1f}" y1="{TL_TOP - 4}" x2="{x:.1f}" y2="{bottom}" stroke="{AXIS}"/>'
            )
            day = (at.date() - start.date()).days
            if day % day_step == 0 and x + 60 <= LABEL_W + hours * px_per_hour:
                out.append(f'<text x="{x + 2:.1f}" y="{TL_TOP - 20}">{at:%a %d %b}</text>')
        elif at.hour % 6 == 0 and px_per_hour * 6 >= 20:
            out.append(
                f'<line x1="{x:.1f}" y1="{TL_TOP - 4}" x2="{x:.1f}" y2="{TL_TOP}" stroke="{AXIS}"/>'
                f'<text x="{x:.1f}" y="{TL_TOP - 6}" text-anchor="middle">{at:%H}</text>'
            )
    return out


def _shade_legend(
    bounds: list[tuple[int, int]], y: int, caption: str, *, over: bool = False
) -> list[str]:
    out = [f'<text x="{LABEL_W - 8}" y="{y + 11}" text-anchor="end">{escape(caption)}</text>']
    x = LABEL_W
    out.append(f'<rect x="{x}" y="{y}" width="14" height="14" fill="{TL_EMPTY}"/>')
    out.append(f'<text x="{x + 18}" y="{y + 11}">0</text>')
    x += 44
    for (low, high), color in zip(bounds, TL_SHADES, strict=True):
        if low > high:
            continue
        text = f"{low:,}" if low == high else f"{low:,}-{high:,}"
        if over and (low, high) == bounds[-1]:
            text = f"{low:,}+"
        out.append(f'<rect x="{x}" y="{y}" width="14" height="14" fill="{color}"/>')
        out.append(f'<text x="{x + 18}" y="{y + 11}">{text}</text>')
        x += 30 + 8 * len(text)
    return out

"""Latency charts as inline SVG: the report must open offline, so no chart library from a CDN."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

TARGET_MS = 1600.0  # the voice latency budget (DESIGN.md: P95 ≤ 1.6 s)


def bar_chart(rows: Sequence[tuple[str, float]], target_ms: float = TARGET_MS, width: int = 760) -> str:
    """Horizontal bars, one per (label, ms), with the budget as a dashed line."""
    if not rows:
        return "<p>no latency samples</p>"
    label_w, bar_h, gap, top = 260, 14, 4, 24
    scale_max = max(max(v for _, v in rows), target_ms) * 1.1
    plot_w = width - label_w - 60
    height = top + len(rows) * (bar_h + gap) + 24
    x = lambda ms: label_w + plot_w * ms / scale_max  # noqa: E731 - a tiny local scale
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="latency per scenario">']
    for index, (label, ms) in enumerate(rows):
        y = top + index * (bar_h + gap)
        colour = "#c0392b" if ms > target_ms else "#2e86c1"
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h - 3}" text-anchor="end" font-size="11">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(1.0, x(ms) - label_w):.1f}" height="{bar_h}" '
                     f'fill="{colour}"><title>{escape(label)}: {ms:.0f} ms</title></rect>')
        parts.append(f'<text x="{x(ms) + 4:.1f}" y="{y + bar_h - 3}" font-size="10">{ms:.0f} ms</text>')
    line_x = x(target_ms)
    parts.append(f'<line x1="{line_x:.1f}" y1="{top - 8}" x2="{line_x:.1f}" y2="{height - 16}" stroke="#555" '
                 f'stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{line_x:.1f}" y="{top - 10}" font-size="10" text-anchor="middle">'
                 f'budget {target_ms:.0f} ms</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(samples: Sequence[float], buckets: int = 24, width: int = 760, height: int = 180) -> str:
    """How all function calls' latencies spread, so a long tail is visible at a glance."""
    if not samples:
        return "<p>no latency samples</p>"
    top_ms = max(max(samples), TARGET_MS) * 1.05
    size = top_ms / buckets
    counts = [0] * buckets
    for value in samples:
        counts[min(buckets - 1, int(value / size))] += 1
    peak = max(counts)
    left, bottom, plot_h = 40, height - 28, height - 48
    bar_w = (width - left - 10) / buckets
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="latency histogram">']
    for index, count in enumerate(counts):
        h = plot_h * count / peak if peak else 0
        x0 = left + index * bar_w
        low = index * size
        colour = "#c0392b" if low >= TARGET_MS else "#27ae60"
        parts.append(f'<rect x="{x0:.1f}" y="{bottom - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                     f'fill="{colour}"><title>{low:.0f}–{low + size:.0f} ms: {count}</title></rect>')
    for fraction in (0, 0.25, 0.5, 0.75, 1.0):
        ms = top_ms * fraction
        x0 = left + (width - left - 10) * fraction
        anchor = "start" if fraction == 0 else "end" if fraction == 1.0 else "middle"
        parts.append(f'<text x="{x0:.1f}" y="{height - 12}" font-size="10" text-anchor="{anchor}">{ms:.0f} ms</text>')
    parts.append(f'<text x="{left - 6}" y="{bottom - plot_h + 10:.1f}" font-size="10" text-anchor="end">{peak}</text>')
    parts.append("</svg>")
    return "".join(parts)

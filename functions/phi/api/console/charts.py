"""Small charts drawn on the server as inline SVG: no chart library, no script, readable by screen readers
(each chart has a title and a description naming its figures)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 36


@dataclass(frozen=True)
class Point:
    label: str
    value: float


def _frame(title: str, description: str, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{{id}}-t {{id}}-d" '
        f'preserveAspectRatio="xMidYMid meet"><title id="{{id}}-t">{escape(title)}</title>'
        f'<desc id="{{id}}-d">{escape(description)}</desc>{body}</svg>'
    )


def _axis(max_value: float, fmt: str) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" class="axis"/>']
    for step in range(5):
        value = max_value * step / 4
        y = HEIGHT - BOTTOM - plot_h * step / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{fmt.format(value)}</text>')
    return "".join(parts)


def bar_chart(chart_id: str, title: str, points: Sequence[Point], unit: str) -> Markup:
    """Vertical bars, one per point (e.g. lines picked in each hour of the day)."""
    if not points:
        return Markup("")
    top = max(max(p.value for p in points), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(points)
    bars = []
    for index, point in enumerate(points):
        h = plot_h * point.value / top
        x = LEFT + index * slot + slot * 0.15
        y = HEIGHT - BOTTOM - h
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" class="bar">'
            f"<title>{escape(point.label)}: {point.value:g} {escape(unit)}</title></rect>"
        )
        if len(points) <= 12 or index % 3 == 0:
            bars.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'class="tick">{escape(point.label)}</text>'
            )
    busiest = max(points, key=lambda p: p.value)
    description = f"{len(points)} bars; the highest is {busiest.label} with {busiest.value:g} {unit}."
    svg = _frame(title, description, _axis(top, "{:.0f}") + "".join(bars))
    return Markup(str(svg).replace("{id}", chart_id))


def line_chart(chart_id: str, title: str, points: Sequence[Point], as_percent: bool = True) -> Markup:
    """A line over the points in order (e.g. the late rate of each recent report day), each point marked."""
    if not points:
        return Markup("")
    top = max(max(p.value for p in points), 0.01)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points) - 1, 1)
    fmt = "{:.1%}" if as_percent else "{:g}"
    coords = []
    marks = []
    for index, point in enumerate(points):
        x = LEFT + (index * step if len(points) > 1 else plot_w / 2)
        y = HEIGHT - BOTTOM - plot_h * point.value / top
        coords.append(f"{x:.1f},{y:.1f}")
        shown = fmt.format(point.value) if not as_percent else f"{point.value:.1%}"
        label = escape(point.label)
        marks.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" class="dot"><title>{label}: {shown}</title></circle>'
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="tick">{label}</text>'
        )
    line = f'<polyline points="{" ".join(coords)}" class="line"/>' if len(coords) > 1 else ""
    described = ", ".join(f"{p.label} {p.value:.1%}" if as_percent else f"{p.label} {p.value:g}" for p in points)
    svg = _frame(title, described, _axis(top, fmt) + line + "".join(marks))
    return Markup(str(svg).replace("{id}", chart_id))

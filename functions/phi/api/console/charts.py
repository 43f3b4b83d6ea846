"""Small charts drawn on the server as inline SVG: no chart library, no script, readable by screen readers
(each chart has a title and a description naming its figures)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 28, 16, 36  # RIGHT: room for half of the last day's label ("12-04")


TICKS = 4  # grid lines above the axis
_NICE_STEPS = (1.0, 2.0, 2.5, 5.0)


@dataclass(frozen=True)
class Point:
    """One labelled figure; in a line chart, None keeps its place on the axis with nothing drawn (no report that
    day), so the line is not drawn across the gap."""

    label: str
    value: float | None
    note: str = ""  # said with the figure in its tooltip (a bar chart's hour that a clock change repeated)


def nice_scale(highest: float) -> tuple[float, float]:
    """The axis' top and its tick step: the smallest step of 1, 2, 2.5 or 5 times a power of ten whose TICKS
    steps reach `highest` (26.1% → ticks every 10% up to 40%; 61 lines → every 20 up to 80)."""
    raw = (highest if math.isfinite(highest) and highest > 0 else 1.0) / TICKS
    power = 10.0 ** math.floor(math.log10(raw))
    step = next((n * power for n in _NICE_STEPS if n * power >= raw * (1 - 1e-9)), 10 * power)
    return step * TICKS, step


def _tick_text(value: float, step: float, as_percent: bool) -> str:
    """A tick's value with as many decimals as the step needs ('10%', '2.5%', '20', '0.25')."""
    shown, scaled_step = (value * 100, step * 100) if as_percent else (value, step)
    suffix = "%" if as_percent else ""
    if not as_percent and scaled_step >= 1000:  # '40M', not '40000000': the axis' margin is 44 px wide
        divisor, suffix = next((d, s) for d, s in ((1e9, "G"), (1e6, "M"), (1e3, "k")) if scaled_step >= d)
        shown, scaled_step = shown / divisor, scaled_step / divisor
    decimals = next((d for d in range(16) if abs(round(scaled_step, d) - scaled_step) <= 1e-9 * scaled_step), 15)
    return "0" if value == 0 and suffix not in ("", "%") else f"{shown:.{decimals}f}{suffix}"


def _frame(title: str, description: str, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{{id}}-t {{id}}-d" '
        f'preserveAspectRatio="xMidYMid meet"><title id="{{id}}-t">{escape(title)}</title>'
        f'<desc id="{{id}}-d">{escape(description)}</desc>{body}</svg>'
    )


def _axis(top: float, step: float, as_percent: bool) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" class="axis"/>']
    for tick in range(TICKS + 1):
        value = step * tick
        y = HEIGHT - BOTTOM - plot_h * value / top
        text = _tick_text(value, step, as_percent)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{text}</text>')
    return "".join(parts)


def bar_chart(chart_id: str, title: str, points: Sequence[Point], unit: str) -> Markup:
    """Vertical bars, one per point (e.g. lines picked in each hour of the day). A point without a value keeps its
    place with no bar (an hour a clock change skipped: not an hour with nothing in it), its note in a tooltip."""
    if not points:
        return Markup("")
    values = [p.value or 0.0 for p in points]
    top, step = nice_scale(max(max(values), 4.0))  # whole-number ticks (0 1 2 3 4) however few
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(points)
    bars = []
    for index, (point, value) in enumerate(zip(points, values, strict=True)):
        h = plot_h * value / top
        x = LEFT + index * slot + slot * 0.15
        y = HEIGHT - BOTTOM - h
        note = f" ({escape(point.note)})" if point.note else ""
        if point.value is None:
            bars.append(f'<g class="no-bar"><title>{escape(point.label)}: no figure{note}</title></g>')
        else:
            bars.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" class="bar">'
                f"<title>{escape(point.label)}: {value:g} {escape(unit)}{note}</title></rect>"
            )
        if len(points) <= 12 or index % 3 == 0:
            bars.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'class="tick">{escape(point.label)}</text>'
            )
    busiest = max(range(len(points)), key=values.__getitem__)
    description = f"{len(points)} bars; the highest is {points[busiest].label} with {values[busiest]:g} {unit}."
    svg = _frame(title, description, _axis(top, step, as_percent=False) + "".join(bars))
    return Markup(str(svg).replace("{id}", chart_id))


def line_chart(chart_id: str, title: str, points: Sequence[Point], as_percent: bool = True) -> Markup:
    """A line over the points in order (e.g. the late rate of each day of the last two weeks), each figure marked;
    a point without a value leaves its place empty and breaks the line."""
    figures = [p.value for p in points if p.value is not None]
    if not figures:
        return Markup("")
    top, tick_step = nice_scale(max(max(figures), 0.01))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points) - 1, 1)
    segments: list[list[str]] = [[]]
    marks = []
    for index, point in enumerate(points):
        x = LEFT + (index * step if len(points) > 1 else plot_w / 2)
        label = escape(point.label)
        if len(points) <= 16 or index % 2 == 0:
            marks.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="tick">{label}</text>'
            )
        if point.value is None:
            segments.append([])
            continue
        y = HEIGHT - BOTTOM - plot_h * point.value / top
        segments[-1].append(f"{x:.1f},{y:.1f}")
        marks.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" class="dot">'
            f"<title>{label}: {_figure(point.value, as_percent)}</title></circle>"
        )
    lines = "".join(
        f'<polyline points="{" ".join(segment)}" class="line"/>' for segment in segments if len(segment) > 1
    )
    described = ", ".join(
        f"{p.label} {_figure(p.value, as_percent) if p.value is not None else 'no figure'}" for p in points
    )
    svg = _frame(title, described, _axis(top, tick_step, as_percent) + lines + "".join(marks))
    return Markup(str(svg).replace("{id}", chart_id))


def _figure(value: float, as_percent: bool) -> str:
    return f"{value:.1%}" if as_percent else f"{value:g}"

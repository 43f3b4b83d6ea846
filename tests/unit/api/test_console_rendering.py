"""The console's rendering: Markdown reports escape raw HTML, charts are accessible SVG."""

from __future__ import annotations

from phi.api.console.charts import Point, bar_chart, line_chart
from phi.api.console.rendering import environment


def test_report_markdown_renders_tables_and_escapes_raw_html() -> None:
    markdown = environment().filters["markdown"]
    html = str(markdown("| zone | lines |\n|---|---|\n| A | 12 |\n\n<script>alert(1)</script> <img src=x onerror=y>"))
    assert "<table>" in html and "<td>A</td>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html
    assert str(markdown("# Daily report\n\n## Late")).startswith("<h2>Daily report</h2>\n<h3>Late</h3>")


def test_bar_chart_is_an_svg_with_a_title_and_a_description_of_its_figures() -> None:
    svg = str(bar_chart("picks", "Lines per hour", [Point("07", 10), Point("08", 42), Point("09", 5)], "lines"))
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-labelledby="picks-t picks-d"' in svg
    assert "the highest is 08 with 42 lines" in svg
    assert svg.count("<rect") == 3


def test_line_chart_names_each_day_and_escapes_labels() -> None:
    svg = str(line_chart("late", "Late rate", [Point("11-19", 0.04), Point("<b>", 0.125)]))
    assert "11-19 4.0%" in svg and "12.5%" in svg
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert "<polyline" in svg


def test_charts_with_no_points_are_empty() -> None:
    assert str(bar_chart("x", "t", [], "lines")) == ""
    assert str(line_chart("x", "t", [])) == ""


def test_console_requests_are_recognised_with_or_without_the_stage_in_the_path() -> None:
    from starlette.requests import Request

    from phi.api.console import is_console_request

    def request(path: str, root_path: str = "") -> Request:
        return Request({"type": "http", "method": "GET", "path": path, "root_path": root_path, "headers": []})

    assert is_console_request(request("/console/orgs"))
    assert is_console_request(request("/console"))
    assert is_console_request(request("/console/orgs", root_path="/dev"))
    assert is_console_request(request("/dev/console/orgs", root_path="/dev"))
    assert not is_console_request(request("/consoles"))
    assert not is_console_request(request("/agents/x", root_path="/dev"))


def test_aligned_table_columns_use_classes_not_inline_styles() -> None:
    # The console's Content-Security-Policy refuses style attributes, so a report's right-aligned figures
    # would lose their alignment (and the browser would report a violation) if the renderer wrote them.
    html = str(environment().filters["markdown"]("| zone | lines | mid |\n|:---|---:|:--:|\n| A | 12 | x |"))
    assert "style=" not in html
    assert '<th class="align-right">lines</th>' in html and '<td class="align-right">12</td>' in html
    assert '<td class="align-left">A</td>' in html and '<td class="align-center">x</td>' in html

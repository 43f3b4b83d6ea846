"""The console's rendering: Markdown reports escape raw HTML, charts are accessible SVG."""

from __future__ import annotations

import math
import re

import pytest

from phi.api.console.charts import Point, bar_chart, line_chart
from phi.api.console.rendering import environment


def test_report_markdown_renders_tables_and_escapes_raw_html() -> None:
    markdown = environment().filters["markdown"]
    html = str(markdown("| zone | lines |\n|---|---|\n| A | 12 |\n\n<script>alert(1)</script> <img src=x onerror=y>"))
    assert "<table>" in html and '<td class="nowrap">A</td>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html
    assert str(markdown("# Daily report\n\n## Late")).startswith("<h2>Daily report</h2>\n<h3>Late</h3>")


def test_the_markdown_renderer_passes_no_raw_html_links_no_script_urls_and_does_not_link_bare_urls() -> None:
    # Reports escape what they quote (phi.wording.markdown_literal); the renderer is the second line: raw HTML is
    # text, a javascript:/vbscript:/file: link is no link, and a bare URL stays text (linkify off)
    markdown = environment().filters["markdown"]
    html = str(markdown("[x](javascript:alert(1)) [y](vbscript:msgbox) [z](file:///etc/passwd) <javascript:alert(1)>"))
    assert "href" not in html and "<a" not in html
    assert "<a" not in str(markdown("See https://evil.example/login and www.evil.example"))
    assert "<div" not in str(markdown('<div onclick="x()">a</div>\n\n<!-- c -->'))


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
    assert '<th class="align-right">lines</th>' in html and '<td class="align-right nowrap">12</td>' in html
    assert '<td class="align-left nowrap">A</td>' in html and '<td class="align-center nowrap">x</td>' in html


def test_table_cells_of_one_short_word_stay_on_one_line_and_sentences_wrap() -> None:
    long_id = "ORD-" + "9" * 40
    rows = ["| id | note | empty |", "|---|---|---|", "| ORD-2026-0042 | picked late by the night shift |  |"]
    rows.append("| 2026-12-02 07:25:47 | missed pickup |  |")
    html = str(environment().filters["markdown"]("\n".join([*rows, f"| {long_id} | x | |"])))
    assert '<td class="nowrap">ORD-2026-0042</td>' in html
    assert '<td class="nowrap">2026-12-02 07:25:47</td>' in html and '<td class="nowrap">missed pickup</td>' in html
    assert "<td>picked late by the night shift</td>" in html and "<td></td>" in html
    assert f"<td>{long_id}</td>" in html  # longer than a cell may be unbroken: it may wrap


def test_chart_axes_step_in_round_numbers_above_the_highest_figure() -> None:
    from phi.api.console.charts import nice_scale

    for highest, expected in (
        (0.261, (0.4, 0.1)),
        (0.125, (0.2, 0.05)),
        (61, (80, 20)),
        (175, (200, 50)),
        (1, (1, 0.25)),
    ):
        top, step = nice_scale(highest)
        assert (top, step) == pytest.approx(expected), highest
    for highest in (0.0137, 0.07, 0.33, 3.3, 47, 999, 12_345):
        top, step = nice_scale(highest)
        assert highest <= top < highest * 2.5 and top == pytest.approx(4 * step)
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert round(mantissa, 6) in (1, 2, 2.5, 5), (highest, step)
    svg = str(line_chart("late", "Late rate", [Point("11-19", 0.261)]))
    ticks = re.findall(r'class="tick">([^<]+)</text>', svg)
    assert ticks[:5] == ["0%", "10%", "20%", "30%", "40%"]  # not 0.0%, 6.5%, 13.1%, ...
    bars = str(bar_chart("picks", "Lines", [Point("07", 61), Point("08", 19)], "lines"))
    assert re.findall(r'class="tick">([^<]+)</text>', bars)[:5] == ["0", "20", "40", "60", "80"]
    # ticks say each step exactly, however small or large, and a day of zeros still has whole-number ticks
    from phi.api.console.charts import _tick_text

    def ticks(highest: float, as_percent: bool) -> list[str]:
        _, step = nice_scale(highest)
        return [_tick_text(step * n, step, as_percent) for n in range(5)]

    assert ticks(0.01, False) == ["0.0000", "0.0025", "0.0050", "0.0075", "0.0100"]
    assert ticks(0.0001, True) == ["0.0000%", "0.0025%", "0.0050%", "0.0075%", "0.0100%"]
    assert ticks(3e7, False) == ["0", "10M", "20M", "30M", "40M"]
    assert nice_scale(float("nan")) == nice_scale(float("inf")) == nice_scale(0) == (1.0, 0.25)
    zeros = str(bar_chart("picks", "Lines", [Point("07", 0), Point("08", 0)], "lines"))
    assert re.findall(r'class="tick">([^<]+)</text>', zeros)[:5] == ["0", "1", "2", "3", "4"]


def test_a_day_without_a_figure_breaks_the_line_and_keeps_its_place() -> None:
    points = [
        Point("11-19", 0.04),
        Point("11-20", 0.05),
        Point("11-21", None),
        Point("11-22", 0.1),
        Point("11-23", 0.2),
    ]
    svg = str(line_chart("late", "Late rate", points))
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 4
    assert "11-21 no figure" in svg and ">11-21</text>" in svg
    first, second = re.findall(r'<polyline points="([^"]+)"', svg)
    assert len(first.split()) == 2 and len(second.split()) == 2
    assert str(line_chart("late", "Late rate", [Point("11-21", None)])) == ""


def test_the_late_rate_chart_covers_the_fortnight_ending_at_the_newest_report_day() -> None:
    from phi.api.console.agent_pages import LATE_RATE_DAYS, late_rate_points

    points = late_rate_points({"2026-11-30": 0.1, "2026-11-20": 0.3, "2026-11-29": 0.2, "2026-10-01": 0.9})
    assert len(points) == LATE_RATE_DAYS
    assert points[0].label == "11-17" and points[-1].label == "11-30"
    assert [(p.label, p.value) for p in points if p.value is not None] == [
        ("11-20", 0.3),
        ("11-29", 0.2),
        ("11-30", 0.1),
    ]  # October's report is outside the window, and no day is joined to a day far from it
    assert late_rate_points({"2026-11-30": 0.1}) == [Point("11-30", 0.1)]
    assert late_rate_points({"2026-11-30": 0.1, "2026-09-01": 0.2}) == [Point("11-30", 0.1)]
    assert late_rate_points({"not a day": 0.5}) == []
    # the window ends at the viewed task's day: a report of a far later day (a test run for next year) leaves it be
    viewed = late_rate_points({"2027-11-30": 0.5, "2026-11-29": 0.2, "2026-11-28": 0.3}, ending="2026-11-29")
    assert viewed[-1] == Point("11-29", 0.2) and Point("11-28", 0.3) in viewed and len(viewed) == LATE_RATE_DAYS
    assert all(p.label != "11-30" for p in viewed)
    assert late_rate_points({"2026-11-29": 0.2}, ending="not a day") == [Point("11-29", 0.2)]


def test_workflow_keys_read_as_words_in_headings() -> None:
    name = environment().filters["workflow_name"]
    assert name("DAILY_WAREHOUSE_REPORT") == "Daily warehouse report"
    assert name("pay_supplier") == "Pay supplier"
    assert name("SHIFT__HANDOVER_") == "Shift handover"
    assert name("_") == "_"


def test_form_errors_read_as_plain_sentences() -> None:
    from pydantic import BaseModel, EmailStr, Field, ValidationError

    from phi.api.console.pages import field_errors

    class Form(BaseModel):
        name: str = Field(min_length=1, max_length=5)
        password: str = Field(min_length=10)
        email: EmailStr

    try:
        Form(name="", password="short", email="nobody")
    except ValidationError as exc:
        errors = field_errors(exc)
    assert errors["name"] == "Required."  # not "At least 1 characters."
    assert errors["password"] == "At least 10 characters."
    assert errors["email"] == "An email address must have an @-sign."


def test_a_tasks_input_is_summarised_so_that_runs_can_be_told_apart() -> None:
    summary = environment().filters["task_input_summary"]
    assert summary({"date": "2026-12-02"}) == "2026-12-02"
    assert summary({"date": "2026-11-29", "shift": "late"}) == "2026-11-29 · late"
    assert summary({"amount": 250, "flag": True, "nested": {"a": 1}}) == "250"
    assert summary({}) == "" and summary(None) == ""
    long = summary({"note": "x" * 500})
    assert len(long) == 60 and long.endswith("…")


def test_a_tasks_input_reads_as_named_values_and_anything_nested_as_json() -> None:
    from phi.api.console.rendering import input_entries

    entries = input_entries({"date": "2026-11-20", "max_rows": 500, "thresholds": {"max_late_rate": 0.1}, "go": True})
    assert entries == [
        ("Date", "2026-11-20", False),
        ("Max rows", "500", False),
        ("Thresholds", '{"max_late_rate": 0.1}', True),
        ("Go", "true", True),  # a yes/no is JSON's, not Python's "True"
    ]
    assert input_entries({}) == []


def test_how_a_task_started_is_said_in_words() -> None:
    from phi.api.console.rendering import trigger_words

    assert trigger_words("schedule") == "Its schedule"
    assert trigger_words("run_now") == "A schedule's “Run now”"
    assert trigger_words("some_new_trigger") == "Some new trigger"


def test_who_started_a_task_is_named_with_how() -> None:
    from phi.api.console.rendering import started_by

    assert started_by("api", "bea@example.com") == "bea@example.com, in the console or through the API"
    assert started_by("schedule", None) == "Its schedule"


def test_the_picks_per_hour_chart_draws_no_bar_for_a_skipped_hour_and_says_how_long_a_changed_one_ran() -> None:
    from phi.api.console.agent_pages import _hour_point

    spring = [_hour_point({"hour": h, "lines": 0 if h == 2 else 6, "units": 6, "length_hours": 0 if h == 2 else 1})
              for h in range(24)]  # fmt: skip
    fall = [_hour_point({"hour": h, "lines": 12 if h == 1 else 6, "units": 6, "length_hours": 2 if h == 1 else 1})
            for h in range(24)]  # fmt: skip
    stored_before_lengths = _hour_point({"hour": 7, "lines": 3, "units": 3.0})

    spring_svg = str(bar_chart("picks", "Lines picked per hour", spring, "lines"))
    fall_svg = str(bar_chart("picks", "Lines picked per hour", fall, "lines"))

    assert spring_svg.count('class="bar"') == 23  # no bar of 0 for the hour that never was
    assert "02: no figure (skipped: the clocks went forward)" in spring_svg
    assert spring_svg.count("<title>02: 0 lines") == 0
    assert "<title>01: 12 lines (2 h long: the clocks went back)</title>" in fall_svg
    assert fall_svg.count('class="bar"') == 24
    assert (stored_before_lengths.value, stored_before_lengths.note) == (3.0, "")

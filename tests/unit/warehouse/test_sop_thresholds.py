"""Reading thresholds out of SOP passages in common phrasings (and refusing to guess)."""

from __future__ import annotations

import pytest

from phi.embedded.sample_sops import PICKING_SOP, SHIPPING_SOP
from phi.workflows.warehouse.kpis import Thresholds
from phi.workflows.warehouse.sop_thresholds import SourcedThreshold, read_threshold, unread_threshold_note

SHIPPING = "\n\n".join(text for _, text in SHIPPING_SOP)


@pytest.mark.parametrize(
    "field, passage, expected",
    [
        ("max_late_rate", SHIPPING, 0.05),
        ("max_backlog_orders", SHIPPING, 200),
        ("max_backlog_age_hours", SHIPPING, 24),
        ("min_picker_lines_per_hour", PICKING_SOP, 10),
        ("min_hourly_pick_ratio", PICKING_SOP, 0.5),
        ("max_late_rate", "Late shipments must stay at or below 2.5% of orders due.", 0.025),
        ("max_late_rate", "Escalate to the site manager when more than 4 percent of orders ship late.", 0.04),
        ("max_late_rate", "No more than 3 per cent of the day's orders may leave after their promised time.", 0.03),
        ("max_late_rate", "Lateness above four percent of orders due triggers a carrier review.", 0.04),
        ("max_late_rate", "Late shipments: 4.5 % of orders due, at most.", 0.045),
        ("max_late_rate", "On-time shipments must be at least 96% of the orders due.", 0.04),
        ("min_picker_lines_per_hour", "Each picker must achieve 110 lines per labour hour.", 110),
        ("min_picker_lines_per_hour", "Pickers are expected to reach 95 picks an hour.", 95),
        ("min_picker_lines_per_hour", "Pick rate target: 120 lines/h per picker.", 120),
        ("min_picker_lines_per_hour", "Minimum productivity is 80 per hour for every picker.", 80),
        ("max_backlog_orders", "The backlog must not exceed 1,250 orders.", 1250),
        ("max_backlog_orders", "No more than 300 open orders may remain at the end of a shift.", 300),
        ("max_backlog_age_hours", "Orders must not wait in the backlog for more than 2 days.", 48),
        ("max_backlog_age_hours", "Escalate any open order older than 36 h.", 36),
        ("max_backlog_age_hours", "Open orders have a 48-hour limit.", 48),
        ("min_hourly_pick_ratio", "Investigate when an hour falls below 40 % of the median hour.", 0.4),
        ("min_hourly_pick_ratio", "An hour below a third of the median hour is an outage.", 1 / 3),
    ],
)
def test_a_stated_threshold_is_read(field: str, passage: str, expected: float) -> None:
    assert read_threshold(field, passage) == pytest.approx(expected)


def test_the_heading_can_name_the_subject_of_a_sentence() -> None:
    assert read_threshold("max_late_rate", "Must not exceed 4 percent of orders due.", heading="Late shipments") == (
        pytest.approx(0.04)
    )
    assert read_threshold("max_late_rate", "Must not exceed 4 percent of orders due.", heading="Returns") is None


@pytest.mark.parametrize(
    "field, passage",
    [
        ("max_late_rate", "Pickers never climb racking. Damaged pallets are reported."),
        ("max_backlog_orders", "Pickers never climb racking. Damaged pallets are reported."),
        ("max_backlog_age_hours", "Pickers never climb racking. Damaged pallets are reported."),
        ("min_picker_lines_per_hour", "Pickers never climb racking. Damaged pallets are reported."),
        # a percentage about something else is not a late-rate limit
        ("max_late_rate", "If an hour falls below 50% of the median hour, check the scanners."),
        # a site's hourly output is not a picker's rate; units per hour are not lines
        ("min_picker_lines_per_hour", "The site ships 900 units per hour at peak."),
        # a decimal comma is refused rather than misread as 5%
        ("max_late_rate", "Late shipments may reach 4,5 % of orders due."),
        # a number without its unit is not read as a rate
        ("max_late_rate", "Late shipments must stay below 4 of every hundred orders."),
    ],
)
def test_a_passage_that_states_no_readable_value_gives_none(field: str, passage: str) -> None:
    assert read_threshold(field, passage) is None


def test_when_no_value_can_be_read_the_report_says_so_and_names_the_limit_it_used() -> None:
    limits = Thresholds(max_late_rate=0.05)
    unread = SourcedThreshold(field="max_late_rate", document="SOP-OUT-04.docx", value=None,
                              heading="2. Service level", text="Late shipments are reviewed weekly.")  # fmt: skip
    assert unread_threshold_note(unread, limits) == (
        "max_late_rate: could not read a value from SOP-OUT-04.docx §2. Service level; the configured limit 5.0% "
        "applies."
    )
    missing = SourcedThreshold(field="max_backlog_orders", document="SOP.md", value=None)
    note = unread_threshold_note(missing, limits)
    assert note.startswith("max_backlog_orders: could not read a value from SOP.md (no passage of it was found")
    assert note.endswith("the configured limit 200 applies.")
    assert "states no value" not in note

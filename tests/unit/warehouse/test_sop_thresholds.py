"""Reading thresholds out of the passages of the sample SOPs (and refusing to guess)."""

from __future__ import annotations

import pytest

from phi.embedded.sample_sops import PICKING_SOP, SHIPPING_SOP
from phi.workflows.warehouse.sop_thresholds import read_threshold

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
        ("max_backlog_orders", "The backlog must not exceed 1,250 orders.", 1250),
        ("min_hourly_pick_ratio", "Investigate when an hour falls below 40 % of the median hour.", 0.4),
    ],
)
def test_a_stated_threshold_is_read(field: str, passage: str, expected: float) -> None:
    assert read_threshold(field, passage) == pytest.approx(expected)


@pytest.mark.parametrize(
    "field", ["max_late_rate", "max_backlog_orders", "max_backlog_age_hours", "min_picker_lines_per_hour"]
)
def test_a_passage_that_states_no_threshold_gives_none(field: str) -> None:
    assert read_threshold(field, "Pickers never climb racking. Damaged pallets are reported.") is None

from __future__ import annotations

import pytest

from phi.definitions.registry import validate_task_input
from phi.errors import BadRequest


def test_daily_report_input_is_normalised() -> None:
    assert validate_task_input("DAILY_WAREHOUSE_REPORT", {"date": "2026-11-20"}) == {"date": "2026-11-20"}
    assert validate_task_input("DAILY_WAREHOUSE_REPORT", {}) == {}


def test_a_bad_date_names_the_field() -> None:
    with pytest.raises(BadRequest, match="date"):
        validate_task_input("DAILY_WAREHOUSE_REPORT", {"date": "2026-13-01"})


def test_an_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(BadRequest, match="DAILY_WAREHOUSE_REPORT"):
        validate_task_input("SOMETHING", {})

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from phi.errors import BadRequest
from phi.services.schedules import from_eventbridge, next_run, schedule_name, to_eventbridge, validate_schedule


@pytest.mark.parametrize(
    "cron, eventbridge",
    [
        ("0 7 * * *", "cron(0 7 * * ? *)"),
        ("30 6 * * 1-5", "cron(30 6 ? * 2-6 *)"),
        ("0 0 1 * *", "cron(0 0 1 * ? *)"),
        ("*/15 * * * 0,6", "cron(*/15 * ? * 1,7 *)"),
        ("0 7 * * MON-FRI", "cron(0 7 ? * MON-FRI *)"),
    ],
)
def test_cron_round_trips_through_eventbridge_syntax(cron: str, eventbridge: str) -> None:
    assert to_eventbridge(cron) == eventbridge
    assert from_eventbridge(eventbridge) == cron


@pytest.mark.parametrize(
    "cron, timezone, message",
    [
        ("0 7 * *", "UTC", "5-field"),
        ("61 7 * * *", "UTC", "5-field"),
        ("0 7 * * *", "Mars/Olympus", "timezone"),
        ("0 7 1 * 1", "UTC", "both day-of-month and day-of-week"),
        ("0 0 30 2 *", "UTC", "never fires"),
        ("0 0 31 4 *", "UTC", "never fires"),
    ],
)
def test_bad_schedules_are_refused_with_a_reason(cron: str, timezone: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        validate_schedule(cron, timezone)


def test_next_run_honours_the_timezone() -> None:
    after = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert next_run("0 7 * * *", "Europe/London", after) == datetime(2026, 7, 2, 6, 0, tzinfo=UTC)  # BST


def test_schedule_names_fit_eventbridge_limits() -> None:
    import uuid

    assert len(schedule_name(uuid.uuid4(), "DAILY_WAREHOUSE_REPORT_WITH_A_VERY_LONG_NAME")) <= 64

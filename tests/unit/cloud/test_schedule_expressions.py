from __future__ import annotations

from datetime import UTC, datetime

import pytest

from phi.definitions.schedule_times import from_eventbridge, to_eventbridge
from phi.errors import BadRequest
from phi.services.schedules import next_run, schedule_name, validate_schedule


@pytest.mark.parametrize(
    "cron, eventbridge",
    [
        ("0 7 * * *", "cron(0 7 * * ? *)"),
        ("30 6 * * 1-5", "cron(30 6 ? * 2-6 *)"),
        ("0 0 1 * *", "cron(0 0 1 * ? *)"),
        ("*/15 * * * 0,6", "cron(*/15 * ? * 1,7 *)"),
        ("0 7 * * MON-FRI", "cron(0 7 ? * MON-FRI *)"),
        ("0 9 * * 5#2", "cron(0 9 ? * 6#2 *)"),  # the second Friday
        ("0 9 * * 0#1", "cron(0 9 ? * 1#1 *)"),  # the first Sunday
        ("0 9 * * 5L", "cron(0 9 ? * 6L *)"),  # the last Friday
        ("0 9 L * *", "cron(0 9 L * ? *)"),  # the last day of the month
    ],
)
def test_cron_round_trips_through_eventbridge_syntax(cron: str, eventbridge: str) -> None:
    assert to_eventbridge(cron) == eventbridge
    assert from_eventbridge(eventbridge) == cron


@pytest.mark.parametrize(
    "cron, eventbridge",
    [
        ("0 9 * * 6-7", "cron(0 9 ? * 7,1 *)"),  # Saturday and Sunday, not EventBridge's backwards range 7-1
        ("0 9 * * 4-7", "cron(0 9 ? * 5-7,1 *)"),
        ("0 9 * * 7", "cron(0 9 ? * 1 *)"),
    ],
)
def test_sunday_as_7_becomes_eventbridge_1_without_reversing_a_range(cron: str, eventbridge: str) -> None:
    assert to_eventbridge(cron) == eventbridge
    later = datetime(2026, 7, 1, tzinfo=UTC)
    assert next_run(from_eventbridge(eventbridge), "UTC", later) == next_run(cron, "UTC", later)


@pytest.mark.parametrize(
    "cron, timezone, message",
    [
        ("0 7 * *", "UTC", "5-field"),
        ("61 7 * * *", "UTC", "minute 61 is out of range 0\N{EN DASH}59"),
        ("0 7 * * *", "Mars/Olympus", "timezone"),
        ("0 7 1 * 1", "UTC", "both day-of-month and day-of-week"),
        ("0 0 30 2 *", "UTC", "never fires"),
        ("0 0 31 4 *", "UTC", "never fires"),
        ("0 0 * * 1-7/2", "UTC", "Sunday as 0"),
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


@pytest.mark.parametrize(
    ("cron", "why"),
    [
        # croniter takes each of these; EventBridge refuses or reads them otherwise (R draws a random minute again
        # at every tick: 32 runs in 48 h instead of 2 on the embedded clock)
        ("R 7 * * *", "the minute field 'R' is not standard cron"),
        ("0 7 ? * *", "the day of the month field '?' is not standard cron"),
        ("0 R * * *", "the hour field 'R' is not standard cron"),
        ("0 7 * * 7-7", "a day-of-week range starting at 7; write Sunday as 0"),  # croniter: every day
    ],
)
def test_non_standard_cron_is_refused_with_the_field_named(cron: str, why: str) -> None:
    with pytest.raises(BadRequest) as refused:
        validate_schedule(cron, "UTC")
    assert why in refused.value.message


@pytest.mark.parametrize(
    ("cron", "why"),
    [
        # five fields, each named with what is wrong in it (all three were "not a 5-field cron expression")
        ("61 7 * * *", "minute 61 is out of range 0\N{EN DASH}59"),
        ("0 25 * * *", "hour 25 is out of range 0\N{EN DASH}23"),
        ("0 7 0 * *", "day of the month 0 is out of range 1\N{EN DASH}31"),
        ("0 7 * 1-13 *", "month 13 is out of range 1\N{EN DASH}12"),
        ("0 7 * * 8", "day of the week 8 is out of range 0\N{EN DASH}7"),
        ("*/0 7 * * *", "the minute step '0' is not a whole number of at least 1"),
        ("0 7 5L * *", "'5L' is not supported in the day of the month, which takes L only alone (its last day)"),
        ("0 7 * * 1,5L", "'1,5L' is not supported in the day of the week, which takes L only after one weekday"),
        ("0 7 * *", "is not a 5-field cron expression (it has 4"),
    ],
)
def test_a_cron_of_five_fields_is_refused_naming_the_field_and_what_is_wrong(cron: str, why: str) -> None:
    with pytest.raises(BadRequest) as refused:
        validate_schedule(cron, "UTC")
    assert why in refused.value.message
    assert "5-field" not in refused.value.message or cron == "0 7 * *"


def test_the_last_weekday_of_the_month_is_supported_as_the_readme_says() -> None:
    validate_schedule("0 7 * * 5L", "Europe/London")
    after = datetime(2026, 12, 6, tzinfo=UTC)
    assert next_run("0 7 * * 5L", "UTC", after) == datetime(2026, 12, 25, 7, 0, tzinfo=UTC)  # the last Friday
    assert next_run("0 7 * * 0L", "UTC", after) == next_run("0 7 * * 7L", "UTC", after)  # Sunday as 0 or 7
    assert next_run("0 7 * * 0L", "UTC", after) == datetime(2026, 12, 27, 7, 0, tzinfo=UTC)


def test_a_cron_naming_only_a_time_the_clocks_skip_is_refused_for_that_zone_only() -> None:
    # 02:30 on the second Sunday of March: the hour New York skips every year; London changes its clocks on another
    # Sunday at 01:00, so there it fires. Before, working out the next run searched to the year 9999 and was a 500.
    with pytest.raises(BadRequest) as refused:
        validate_schedule("30 2 * 3 0#2", "America/New_York")
    assert "never fires in America/New_York" in refused.value.message
    validate_schedule("30 2 * 3 0#2", "Europe/London")
    validate_schedule("0 7 L * *", "UTC")  # the last day of each month stays allowed

"""Report days in a time zone, and row timestamps in every common form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from phi.workflows.timeframes import TimestampError, parse_timestamp, report_day, yesterday, zone

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_report_day_runs_from_local_midnight_to_local_midnight() -> None:
    day = report_day(date(2026, 11, 20), "America/New_York")
    assert day.start == datetime(2026, 11, 20, 5, tzinfo=UTC)
    assert day.end == datetime(2026, 11, 21, 5, tzinfo=UTC)
    assert day.contains(datetime(2026, 11, 21, 4, 59, 59, tzinfo=UTC))
    assert not day.contains(datetime(2026, 11, 21, 5, tzinfo=UTC))
    # the query window holds the day, whatever zone a database might read zone-less values in
    assert day.query_start == datetime(2026, 11, 18, 23, 59, 59, tzinfo=UTC)
    assert day.query_end == datetime(2026, 11, 22, tzinfo=UTC)
    for offset in range(-12, 15):  # the day's wall-clock bounds read in any UTC offset
        shift = timezone(timedelta(hours=offset))
        assert day.in_window(datetime(2026, 11, 20, tzinfo=shift))
        assert day.in_window(datetime(2026, 11, 20, 23, 59, 59, tzinfo=shift))


@pytest.mark.parametrize(
    ("day", "hours", "absent"),
    [(date(2026, 3, 29), 23, {1}), (date(2026, 10, 25), 25, set()), (date(2026, 11, 20), 24, set())],
)
def test_daylight_saving_days_are_23_or_25_hours_long(day: date, hours: int, absent: set[int]) -> None:
    report = report_day(day, "Europe/London")
    assert report.length_hours == hours
    assert set(range(24)) - report.local_hours() == absent  # London springs from 01:00 to 02:00


def test_yesterday_is_the_local_day_before_today() -> None:
    now = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)  # 22:00 on the 20th in New York
    assert yesterday("UTC", now) == date(2026, 11, 20)
    assert yesterday("America/New_York", now) == date(2026, 11, 19)
    assert yesterday("Asia/Tokyo", now) == date(2026, 11, 20)


def test_an_unknown_time_zone_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Leeds'"):
        zone("Europe/Leeds")
    for bad in ("../../etc/passwd", "America", "Etc", "zone.tab", "UTC\x00", "", "x" * 200):
        with pytest.raises(ValueError, match="unknown time zone"):
            report_day(date(2026, 11, 20), bad)


@pytest.mark.parametrize(
    ("value", "expected_utc"),
    [
        ("2026-11-20T08:00:00", "2026-11-20 07:00:00"),  # zone-less: Berlin wall clock (UTC+1)
        ("2026-11-20 08:00:00", "2026-11-20 07:00:00"),  # SQLite's own form
        ("2026-11-20 08:00", "2026-11-20 07:00:00"),
        ("2026-11-20T08:00:00.123456", "2026-11-20 07:00:00.123456"),
        ("2026-11-20", "2026-11-19 23:00:00"),  # a date alone: local midnight
        ("2026-11-20T08:00:00Z", "2026-11-20 08:00:00"),
        ("2026-11-20T08:00:00z", "2026-11-20 08:00:00"),
        ("2026-11-20 08:00:00 UTC", "2026-11-20 08:00:00"),
        ("2026-11-20T08:00:00+02:00", "2026-11-20 06:00:00"),
        ("2026-11-20 08:00:00+02", "2026-11-20 06:00:00"),  # psql's output form
        ("2026-11-20 08:00:00-0500", "2026-11-20 13:00:00"),
        ("  2026-11-20T08:00:00Z \n", "2026-11-20 08:00:00"),
        (datetime(2026, 11, 20, 8), "2026-11-20 07:00:00"),  # a native zone-less value (TIMESTAMP, DATETIME)
        (datetime(2026, 11, 20, 8, tzinfo=ZoneInfo("America/New_York")), "2026-11-20 13:00:00"),
        (date(2026, 11, 20), "2026-11-19 23:00:00"),
    ],
)
def test_timestamps_in_every_common_form_are_read_as_instants(value: object, expected_utc: str) -> None:
    moment = parse_timestamp(value, BERLIN)
    assert moment.tzinfo is UTC
    assert moment == datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("20/11/2026 08:00", "is not an ISO-8601 date or timestamp"),
        ("2026-11-20 8:00:00", "is not an ISO-8601 date or timestamp"),
        ("2026-11-20T08:00:00 CET", "is not an ISO-8601 date or timestamp"),
        ("", "empty text"),
        ("2026-11-20T08:00:00" + " " * 10 + "x" * 60, "too long for a timestamp"),
        (1763625600, "the number 1763625600 is not a timestamp"),
        (1763625600.5, "is not a timestamp"),
        (Decimal(5), "a Decimal is not a timestamp"),
        (True, "the number True is not a timestamp"),
    ],
)
def test_anything_else_is_refused_with_a_reason(value: object, reason: str) -> None:
    with pytest.raises(TimestampError, match=reason):
        parse_timestamp(value, BERLIN)

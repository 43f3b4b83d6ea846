"""Report days in a time zone, and row timestamps in every common form."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from phi.workflows.timeframes import (
    InfiniteTimestampError,
    NoDateError,
    TimestampError,
    end_of_local_day,
    local_period,
    parse_deadline,
    parse_event_time,
    parse_timestamp,
    report_day,
    yesterday,
    zone,
)

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_report_day_is_fixed_once_made_so_its_bounds_are_worked_out_once() -> None:
    # `contains` runs for every timestamp of every row; the day's UTC bounds are kept, so the day cannot change.
    day = report_day(date(2026, 10, 25), "Europe/London")  # 25 hours: the clocks go back at 02:00 BST
    with pytest.raises(ValidationError):
        day.start = datetime(2026, 10, 26, tzinfo=UTC)  # type: ignore[misc]
    assert day == report_day(date(2026, 10, 25), "Europe/London")
    london = ZoneInfo("Europe/London")
    first_one_am, second_one_am = (datetime(2026, 10, 25, 1, 30, fold=f, tzinfo=london) for f in (0, 1))
    assert day.contains(first_one_am) and day.contains(second_one_am)
    assert day.contains(datetime(2026, 10, 25, 23, 59, tzinfo=london))  # the 25th hour: 23:59 GMT
    assert not day.contains(datetime(2026, 10, 26, tzinfo=london))
    assert day.contains(datetime(2026, 10, 24, 23, tzinfo=UTC))  # local midnight (BST) is 23:00 UTC the day before
    assert not day.contains(datetime(2026, 10, 24, 22, 59, tzinfo=UTC))
    assert not day.contains(None)


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
    lengths = report.hour_lengths()
    assert set(range(24)) - set(lengths) == absent  # London springs from 01:00 to 02:00
    assert sum(lengths.values()) == hours and lengths.get(1, 0) in (0, 1, 2)  # autumn: 01:00 happens twice


@pytest.mark.parametrize(
    ("zone_name", "day", "hour", "length"),
    [
        ("Australia/Lord_Howe", date(2026, 10, 4), 2, 0.5),  # 02:00 → 02:30: half an hour
        ("Australia/Lord_Howe", date(2026, 4, 5), 1, 1.5),  # 02:00 → 01:30: 01:30-02:00 twice
        ("Pacific/Chatham", date(2026, 9, 27), 2, 0.75),  # 02:45 → 03:45
        ("Pacific/Chatham", date(2026, 9, 27), 3, 0.25),
    ],
)
def test_an_hour_a_partial_change_shortens_or_repeats_has_its_length(
    zone_name: str, day: date, hour: int, length: float
) -> None:
    lengths = report_day(day, zone_name).hour_lengths()
    assert lengths[hour] == length
    assert sum(lengths.values()) == report_day(day, zone_name).length_hours


def test_yesterday_is_the_local_day_before_today() -> None:
    now = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)  # 22:00 on the 20th in New York
    assert yesterday("UTC", now) == date(2026, 11, 20)
    assert yesterday("America/New_York", now) == date(2026, 11, 19)
    assert yesterday("Asia/Tokyo", now) == date(2026, 11, 20)


def test_a_time_zone_is_read_in_any_letter_case_but_never_the_machines_own() -> None:
    from phi.workflows.timeframes import check_timezone, known_timezones

    assert check_timezone("america/chicago") == "America/Chicago"
    assert check_timezone("UTC") == "UTC" and check_timezone("utc") == "UTC"
    for not_a_place in ("localtime", "Factory"):
        with pytest.raises(ValueError, match="unknown time zone"):
            check_timezone(not_a_place)
        assert not_a_place not in known_timezones()
    assert "Europe/London" in known_timezones()


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
        ("20/11/2026 08:00", r"is not a readable date or timestamp \(a slash date is ambiguous"),
        ("03/12/2026 14:05", "a slash date is ambiguous: 03/12/2026 is March or December"),
        ("11/20/2026 08:00 AM", "a slash date is ambiguous"),
        ("20/11/2026", "a slash date is ambiguous"),  # day first here, but 03/12/2026 in the same column is not
        ("2026-11-20T08:00:00 CET", "is not a readable date or timestamp"),  # CET is no offset: a guess
        (
            "garbage",
            r"not ISO-8601 \(nor a year-first date such as 2026/11/20 08:05\), RFC 2822, an English month name "
            r"or DD.MM.YYYY",
        ),
        ("", "empty text"),
        ("2026-11-20T08:00:00" + " " * 10 + "x" * 60, "too long for a timestamp"),
        (1763625600, "the number 1763625600 is not read as a timestamp: seconds since 1970, milliseconds, or an "),
        (1763625600.5, "is not read as a timestamp"),
        (46000.5, "Excel serial date cannot be told apart"),  # an Excel cell's serial date is a number too
        ("46000.5", r"\(a number: seconds since 1970, milliseconds, or an Excel serial date cannot be told apart\)"),
        (Decimal(5), "the number 5 is not read as a timestamp"),
        (True, r"a boolean \(True\) is not a timestamp"),
    ],
)
def test_anything_else_is_refused_with_a_reason(value: object, reason: str) -> None:
    with pytest.raises(TimestampError, match=reason):
        parse_timestamp(value, BERLIN)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        # Python's fromisoformat reads each of these as another instant: any character may part date and time,
        # and a basic date's trailing characters are dropped.
        ("2026-11-20-05:00", "a date with a UTC offset and no time of day"),  # xs:date: not 05:00 local
        ("2026-11-20+01:00", "a date with a UTC offset and no time of day"),
        ("2026-11-20Z", "a date with a UTC offset and no time of day"),
        ("2026112008", "digits alone: only YYYYMMDD is read as a date"),  # not 2026-11-20
        ("1776010532", "digits alone"),  # epoch seconds as text, not 1776-01-05
        ("1789020751554", "digits alone"),  # epoch milliseconds as text, not 1789-02-07 15:55
        ("20261120ab", "not ISO-8601"),
        ("2026-11-20x08:00", "not ISO-8601"),
        ("2026-W47", "not ISO-8601"),  # a week is not a day
        ("2026-11-20T08:00:00+01:00junk", "not ISO-8601"),
    ],
)
def test_lookalikes_that_fromisoformat_would_misread_are_refused(value: str, reason: str) -> None:
    with pytest.raises(TimestampError, match=reason):
        parse_timestamp(value, BERLIN)
    with pytest.raises(TimestampError, match=reason):
        parse_deadline(value, BERLIN)


@pytest.mark.parametrize(
    ("value", "expected_utc"),
    [
        ("20261120", "2026-11-19 23:00:00"),  # a basic date: local midnight
        ("20261120T0800", "2026-11-20 07:00:00"),
        ("20261120T080000Z", "2026-11-20 08:00:00"),
        ("2026-W47-5", "2026-11-19 23:00:00"),  # Friday of week 47
        ("2026-11-20T08", "2026-11-20 07:00:00"),
        ("2026-11-20T08:00:00,5+01:00", "2026-11-20 07:00:00.500000"),
        ("2026-11-20T08:00:00.123456789Z", "2026-11-20 08:00:00.123456"),
    ],
)
def test_the_other_iso_shapes_are_still_read(value: str, expected_utc: str) -> None:
    assert parse_timestamp(value, BERLIN) == datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00Z", "0001-01-01 00:00:00+00:00", datetime.min.replace(tzinfo=UTC)]
)
def test_an_instant_the_sites_zone_cannot_show_is_out_of_range(value: object) -> None:
    # 0001-01-01 00:00 UTC is a real instant, but in New York it would fall in year 0: a report could not name its day
    with pytest.raises(TimestampError, match="out of the range of instants"):
        parse_timestamp(value, ZoneInfo("America/New_York"))
    assert parse_timestamp(value, ZoneInfo("Asia/Tokyo")).year == 1


@pytest.mark.parametrize(
    ("value", "expected_utc"),
    [
        # RFC 2822 / HTTP dates: the zone or offset they carry decides
        ("Fri, 20 Nov 2026 08:05:00 +0100", "2026-11-20 07:05:00"),
        ("Fri, 20 Nov 2026 08:05:00 GMT", "2026-11-20 08:05:00"),
        ("20 Nov 2026 08:05 -0500", "2026-11-20 13:05:00"),
        ("Fri, 20 Nov 2026 08:05:00 UTC", "2026-11-20 08:05:00"),
        ("Fri, 20 Nov 2026 08:05:00 -0000", "2026-11-20 08:05:00"),  # RFC 2822: UTC, local zone unknown
        ("Fri, 20 Nov 2026 08:05:00 EST", "2026-11-20 13:05:00"),
        # English month names, zone-less: Berlin wall clock
        ("20 Nov 2026 08:05", "2026-11-20 07:05:00"),
        ("20 November 2026 08:05:30", "2026-11-20 07:05:30"),
        ("Nov 20, 2026 8:05 AM", "2026-11-20 07:05:00"),
        ("November 20, 2026 8:05 PM", "2026-11-20 19:05:00"),
        ("Nov 20, 2026 12:05 AM", "2026-11-19 23:05:00"),
        ("nov 20 2026 12:05 pm", "2026-11-20 11:05:00"),
        ("Friday, November 20, 2026 08:05", "2026-11-20 07:05:00"),
        ("Sept 3, 2026", "2026-09-02 22:00:00"),  # a date alone: local midnight (CEST)
        ("November 20 2026", "2026-11-19 23:00:00"),
        # dotted dates are day first
        ("20.11.2026 08:05", "2026-11-20 07:05:00"),
        ("03.12.2026 08:05:30", "2026-12-03 07:05:30"),
        ("3.12.2026", "2026-12-02 23:00:00"),
        # ISO-8601 forms fromisoformat does not read
        ("2026-324", "2026-11-19 23:00:00"),  # ordinal date: day 324 is 20 November
        ("2026-324T08:05:00Z", "2026-11-20 08:05:00"),
        ("2024-366", "2024-12-30 23:00:00"),  # a leap year's last day
        ("2026-11-20T24:00", "2026-11-20 23:00:00"),  # the end of the day: the next local midnight
        ("2026-11-20 24:00:00.000", "2026-11-20 23:00:00"),
        ("2026-11-20T24:00:00+01:00", "2026-11-20 23:00:00"),
        ("2026-11-20T24:00Z", "2026-11-21 00:00:00"),
        ("2026-11-20T08:05+01:00[Europe/Berlin]", "2026-11-20 07:05:00"),  # Java's ZonedDateTime
        ("2026-11-20T08:05:00Z[UTC]", "2026-11-20 08:05:00"),
        ("2026-11-20T08:05-05:00[America/New_York]", "2026-11-20 13:05:00"),
        ("2026-11-20T08:05[America/New_York]", "2026-11-20 13:05:00"),  # no offset: that zone's wall clock
        ("2026-11-20 08:05 America/New_York", "2026-11-20 13:05:00"),  # the zone ID after a space, as logs write it
        ("2026-07-20 08:05:00 Europe/London", "2026-07-20 07:05:00"),  # summer time there
        ("2026-11-20T08:05:00+01:00 Europe/Berlin", "2026-11-20 07:05:00"),
        ("2026-11-20 08:05 America/Argentina/Buenos_Aires", "2026-11-20 11:05:00"),
        # year first, loosely written: month then day is the only reading
        ("2026/11/20 08:00:00", "2026-11-20 07:00:00"),  # Japanese and Chinese exports
        ("2026/11/20", "2026-11-19 23:00:00"),
        ("2026/1/5 8:05", "2026-01-05 07:05:00"),
        ("2026/11/20 08:05:00.250 UTC", "2026-11-20 08:05:00.250"),
        ("2026/11/20 08:05+01:00", "2026-11-20 07:05:00"),
        ("2026-11-20 8:00:00", "2026-11-20 07:00:00"),  # a one-digit hour (.NET's default in many cultures)
        ("2026-11-20 2:05:00 PM", "2026-11-20 13:05:00"),  # a 12-hour clock after a year-first date
        ("2026-11-20 12:05 AM", "2026-11-19 23:05:00"),
        ("2026-11-20 12:30 p.m.", "2026-11-20 11:30:00"),
        # Oracle's default date form, with a four-digit year
        ("20-Nov-2026", "2026-11-19 23:00:00"),
        ("20-NOV-2026 14:05", "2026-11-20 13:05:00"),
        ("03-Dec-2026 02:05:30 PM", "2026-12-03 13:05:30"),
        # fractions of a second in every form that has seconds, to the microsecond (7 and 9 digits too)
        ("20.11.2026 08:05:30.250", "2026-11-20 07:05:30.250"),
        ("20.11.2026 08:05:30,123456789", "2026-11-20 07:05:30.123456"),
        ("Nov 20, 2026 8:05:00.1234567 AM", "2026-11-20 07:05:00.123456"),
        # a mail header's trailing comment, and RFC 822's Z
        ("Fri, 20 Nov 2026 08:05:00 +0000 (UTC)", "2026-11-20 08:05:00"),
        ("Fri, 20 Nov 2026 08:05:00 Z", "2026-11-20 08:05:00"),
    ],
)
def test_unambiguous_non_iso_forms_are_read(value: str, expected_utc: str) -> None:
    moment = parse_timestamp(value, BERLIN)
    assert moment.tzinfo is UTC
    assert moment == datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Thu, 20 Nov 2026 08:05:00 +0100", "2026-11-20 is a Friday, not a Thu"),
        ("Fri, 20 Nov 26 08:05:00 GMT", "is not a readable date or timestamp"),  # a two-digit year is a guess
        ("Fri, 20 Nov 2026 08:05:00 CET", "is not a readable date or timestamp"),  # not an RFC 2822 zone
        ("20 Noe 2026 08:05", "'Noe' is not an English month name"),
        ("20 Nov 2026 13:05 PM", "hour 13 with AM/PM"),
        ("31 Nov 2026", "is not a readable date or timestamp"),
        ("Funday, 20 Nov 2026", "'Funday' is not an English weekday name"),
        ("20.11.26 08:05", "is not a readable date or timestamp"),  # a two-digit year is a guess
        ("20-NOV-26", "is not a readable date or timestamp"),  # Oracle's RR year: a guess too
        ("2026/13/01 08:00", "2026-13-01 is not a date: there is no month 13"),
        ("2026/02/30", "2026-02-30 is not a date: February 2026 has 28 days"),
        ("2026-11-20 13:05 PM", "hour 13 with AM/PM"),
        ("2026-11-20 0:05 AM", "hour 0 with AM/PM"),
        ("2026/11-20", "is not a readable date or timestamp"),  # mixed separators: no known form
        ("2026/11/20 08:60", r"\(08:60 is not a time of day: minutes run"),  # not called an ambiguous slash date
        ("31.11.2026", "is not a readable date or timestamp"),
        ("20.11.2026 25:00", "is not a readable date or timestamp"),
        ("2026-367", "2026 has no day 367"),
        ("2026-000", "2026 has no day 0"),
        ("2026-11-20T24:01", "is not a readable date or timestamp"),  # only 24:00 exactly is the day's end
        ("2026-11-20T24:00:01Z", "is not a readable date or timestamp"),
        ("2026-11-20T08:05+01:00[Mars/Olympus]", "unknown time zone 'Mars/Olympus'"),
        ("2026-11-20[Europe/Berlin]", "a time zone without a time of day"),
        ("2026-11-20 08:05 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("2026-11-20 Europe/Berlin", "a time zone without a time of day"),
        ("infinity", "PostgreSQL's endless value\) is not a real instant"),
        ("-infinity", "is not a real instant"),
        ("0001-01-01", "is out of the range of instants"),  # before year 1 in UTC: not a crash
        ("Fri, 20 Nov 2026 08:05:00 +0100" + " " * 40 + "x", "too long for a timestamp"),
        # an offset's minutes past 59: Python read +05:60 as +06:00, email.utils +0099 as +01:39
        ("2026-11-20T08:05:00+05:60", "has an offset with 60 minutes"),
        ("2026-11-20 08:05:00-0599", "has an offset with 99 minutes"),
        ("Fri, 20 Nov 2026 08:05:00 +0099", "has an offset with 99 minutes"),
        ("2026-11-20T08:05+01:75[Europe/Berlin]", "has an offset with 75 minutes"),
    ],
)
def test_non_iso_lookalikes_are_refused_with_a_reason(value: str, reason: str) -> None:
    with pytest.raises(TimestampError, match=reason):
        parse_timestamp(value, BERLIN)


@pytest.mark.parametrize(
    "value", ["0000-00-00 00:00:00", "0000-00-00", " 0000-00-00T00:00:00.000000 ", "0000-00-00 00:00"]
)
def test_mysqls_zero_date_is_no_date_not_an_instant(value: str) -> None:
    with pytest.raises(NoDateError, match="MySQL's zero date, which stands for no date"):
        parse_timestamp(value, BERLIN)
    with pytest.raises(NoDateError):
        parse_deadline(value, BERLIN)


def test_infinity_is_its_own_error() -> None:
    with pytest.raises(InfiniteTimestampError):
        parse_timestamp(" Infinity ", BERLIN)


@pytest.mark.parametrize("value", ["2026-11-20", " 2026-11-20 ", date(2026, 11, 20), "20.11.2026", "Nov 20, 2026",
                                   "2026-324", "2026-W47-5", "20261120"])  # fmt: skip
def test_a_date_alone_is_a_deadline_for_the_whole_local_day(value: object) -> None:
    deadline = parse_deadline(value, BERLIN)
    assert deadline is not None and deadline.whole_day
    assert deadline.due == datetime(2026, 11, 19, 23, tzinfo=UTC)  # it falls due on that local day
    assert not deadline.missed_by(datetime(2026, 11, 20, 22, 59, 59, 999999, tzinfo=UTC))  # 23:59:59.999999
    assert deadline.missed_by(datetime(2026, 11, 20, 23, tzinfo=UTC))  # the next local midnight


def test_a_date_deadline_on_a_dst_day_ends_at_the_next_local_midnight() -> None:
    deadline = parse_deadline("2026-10-25", BERLIN)  # 25 hours long: CEST until 03:00, then CET
    assert deadline is not None
    assert deadline.due == datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert deadline.ends == datetime(2026, 10, 25, 23, tzinfo=UTC)
    assert not deadline.missed_by(datetime(2026, 10, 25, 22, 30, tzinfo=UTC))  # 23:30 CET on the day


@pytest.mark.parametrize(
    "value", ["2026-11-20T00:00:00", datetime(2026, 11, 20), "2026-11-20 09:00", "Fri, 20 Nov 2026 08:00:00 GMT"]
)
def test_a_timestamp_deadline_is_met_up_to_its_instant(value: object) -> None:
    deadline = parse_deadline(value, BERLIN)
    expected = parse_timestamp(value, BERLIN)
    assert deadline is not None and not deadline.whole_day
    assert deadline.due == deadline.ends == expected
    assert not deadline.missed_by(expected) and deadline.missed_by(expected + timedelta(microseconds=1))


@pytest.mark.parametrize("value", ["infinity", "-infinity", "+Infinity"])
def test_an_infinite_deadline_is_no_deadline(value: str) -> None:
    assert parse_deadline(value, BERLIN) is None


@pytest.mark.parametrize(("value", "reason"), [("9999-12-31", "out of the range"), ("garbage", "not a readable")])
def test_an_unreadable_deadline_is_refused_with_a_reason(value: str, reason: str) -> None:
    with pytest.raises(TimestampError, match=reason):
        parse_deadline(value, BERLIN)


def test_rows_still_open_keep_an_empty_value_and_mysqls_zero_date_alike() -> None:
    from phi.workflows.timeframes import rows_open_at

    rows = [["A", "0000-00-00 00:00:00"], ["B", None], ["C", "2026-11-20 09:00"], ["D", "2026-11-20 13:00"], ["E", "x"]]
    kept, closed, unreadable = rows_open_at(
        ["id", "closed_at"], rows, "closed_at", datetime(2026, 11, 20, 11, tzinfo=UTC), BERLIN
    )
    assert [row[0] for row in kept] == ["A", "B", "D"]  # 13:00 Berlin is 12:00 UTC, after the moment
    assert (closed, unreadable) == (1, 1)


# --- values at the ends of the calendar: refused naming the value, never an OverflowError ----------------


@pytest.mark.parametrize(
    ("value", "site"),
    [
        ("9999-12-31T24:00", "UTC"),  # the end of the last day is the first instant of year 10000
        ("99991231T24", "UTC"),
        ("9999/12/31 24:00", "UTC"),
        ("9999-12-31 24:00:00Z", "UTC"),
        ("9999-W52-7", "UTC"),  # 10000-01-02
        ("0000-06-01T08:00", "UTC"),  # year 0, before the first year a datetime holds
        ("0000-100", "UTC"),
        ("9999-12-31T23:00-05:00", "UTC"),  # an offset pushing it past 9999
        ("0001-01-01T00:00+05:00", "UTC"),  # … or before year 1
        ("Fri, 31 Dec 9999 23:59:59 -0100", "UTC"),
        ("31.12.9999 23:59", "America/New_York"),  # a wall clock whose UTC instant is in year 10000
        ("0001-01-01 08:00", "Asia/Tokyo"),  # … or in year 0
    ],
)
def test_an_instant_past_the_calendars_ends_is_refused_naming_the_value(value: str, site: str) -> None:
    for parse in (parse_timestamp, parse_deadline):
        with pytest.raises(TimestampError, match=rf"^'{re.escape(value)}' is out of the range of instants$"):
            parse(value, ZoneInfo(site))


def test_a_row_past_the_calendars_ends_is_counted_unreadable_by_the_table_functions() -> None:
    from phi.workflows.timeframes import rows_open_at, rows_within_period

    rows = [["A", "9999-12-31T24:00"], ["B", "2026-11-20 09:00"], ["C", "0001-01-01T00:00+05:00"]]
    kept, outside, unreadable = rows_within_period(
        ["id", "at"], rows, "at", local_period(date(2026, 11, 20), date(2026, 11, 20), "Europe/Berlin")
    )
    assert ([row[0] for row in kept], outside, unreadable) == (["B"], 0, 2)
    kept, closed, unreadable = rows_open_at(["id", "at"], rows, "at", datetime(2026, 11, 20, 11, tzinfo=UTC), BERLIN)
    assert ([row[0] for row in kept], closed, unreadable) == ([], 1, 2)


@pytest.mark.parametrize(
    "make",
    [
        lambda: report_day(date(9999, 12, 31)),
        lambda: report_day(date(9999, 12, 30)),  # its query window closes two days later
        lambda: report_day(date(1, 1, 1), "Asia/Tokyo"),  # its local midnight is in year 0 in UTC
        lambda: local_period(date(9999, 12, 1), date(9999, 12, 31)),
        lambda: end_of_local_day(date(9999, 12, 31)),
    ],
)
def test_a_report_day_at_the_calendars_ends_is_refused_in_words(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="is too near the ends of the calendar"):
        make()


# --- what is wrong with a value of a known form, said in words ----------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-02-29", "2026-02-29 is not a date: February 2026 has 28 days"),
        ("2026-02-29T08:00:00Z", "2026-02-29 is not a date: February 2026 has 28 days"),
        ("20260229", "2026-02-29 is not a date: February 2026 has 28 days"),
        ("2026-04-31 08:00", "2026-04-31 is not a date: April 2026 has 30 days"),
        ("2026-13-01", "2026-13-01 is not a date: there is no month 13"),
        ("2026-00-10", "2026-00-10 is not a date: there is no month 0"),
        ("29.02.2026 08:00", "2026-02-29 is not a date: February 2026 has 28 days"),
        ("31 Feb 2026", "2026-02-31 is not a date: February 2026 has 28 days"),
        ("2026-W54-1", "2026-W54-1 is not a date: 2026 has 53 weeks"),
        ("2026-W47-8", "2026-W47-8 is not a date: a week's days run from 1 \\(Monday\\) to 7 \\(Sunday\\)"),
        ("2026-11-20T24:30", "24:30 is past 24:00, the end of the day"),
        ("2026-11-20T24:00:00.5", "24:00:00.5 is past 24:00, the end of the day"),
        ("2026-11-20T25:00", "25:00 is not a time of day: hours run from 00 to 23, and 24:00 ends the day"),
        ("2026-11-20T08:61", "08:61 is not a time of day: minutes run from 00 to 59"),
        ("2026-11-20 08:05:61", "08:05:61 is not a time of day: seconds run from 00 to 59 \\(60 in a leap second\\)"),
        ("20.11.2026 25:00", "25:00 is not a time of day"),
        ("Nov 20, 2026 08:75", "08:75 is not a time of day"),
        ("2026-11-20T08:00+25:00", "\\+25:00 is not a UTC offset: offsets are less than 24 hours"),
        ("2026-11-20T08:00-2400", "-2400 is not a UTC offset"),
    ],
)
def test_a_date_or_time_that_does_not_exist_is_refused_saying_what_is_wrong(value: str, reason: str) -> None:
    with pytest.raises(TimestampError, match=rf"^'{re.escape(value)}' is not a readable date or timestamp \({reason}"):
        parse_timestamp(value, BERLIN)


@pytest.mark.parametrize(
    ("value", "expected_utc"),
    [
        ("2016-12-31T23:59:60Z", "2016-12-31 23:59:59.999999"),  # the last leap second so far
        ("2016-12-31T23:59:60.5Z", "2016-12-31 23:59:59.999999"),
        ("20161231T235960Z", "2016-12-31 23:59:59.999999"),
        ("2017-01-01 00:59:60+01:00", "2016-12-31 23:59:59.999999"),  # the same second, on Berlin's clock
        ("Sat, 31 Dec 2016 23:59:60 +0000", "2016-12-31 23:59:59.999999"),
        ("01.01.2017 00:59:60", "2016-12-31 23:59:59.999999"),
        ("Jan 1, 2017 00:59:60", "2016-12-31 23:59:59.999999"),
    ],
)
def test_a_leap_second_is_the_last_microsecond_of_its_minute(value: str, expected_utc: str) -> None:
    # Python cannot hold 23:59:60; its minute's last microsecond keeps it on its day and before the next second.
    assert parse_timestamp(value, BERLIN) == datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)


# --- when something happened: a date alone is its local day, its time of day unknown --------------------------


@pytest.mark.parametrize("value", ["2026-11-20", date(2026, 11, 20), "20.11.2026", "Nov 20, 2026", "2026-W47-5"])
def test_an_event_on_a_date_alone_is_its_local_day_with_no_time_of_day(value: object) -> None:
    event = parse_event_time(value, BERLIN)
    assert not event.time_known
    assert event.at == datetime(2026, 11, 19, 23, tzinfo=UTC)  # local midnight: on its day
    assert event.latest == datetime(2026, 11, 20, 22, 59, 59, 999999, tzinfo=UTC)  # the day's last microsecond


def test_an_event_on_a_date_alone_spans_its_whole_dst_day() -> None:
    event = parse_event_time("2026-10-25", BERLIN)  # 25 hours long
    assert (event.at, event.latest) == (
        datetime(2026, 10, 24, 22, tzinfo=UTC),
        datetime(2026, 10, 25, 22, 59, 59, 999999, tzinfo=UTC),
    )


@pytest.mark.parametrize("value", ["2026-11-20T00:00:00", datetime(2026, 11, 20), "2026-11-20 09:00", "20261120T08"])
def test_an_event_with_a_time_of_day_is_its_instant(value: object) -> None:
    event = parse_event_time(value, BERLIN)
    assert event.time_known and event.at == event.latest == parse_timestamp(value, BERLIN)


@pytest.mark.parametrize(
    ("shipped", "promised", "late"),
    [
        ("2026-11-20", "2026-11-20T10:00", None),  # 09:00 or 17:00: the date alone cannot tell
        ("2026-11-20", "2026-11-21T00:00", False),  # every instant of the 20th is before midnight
        ("2026-11-21", "2026-11-21T00:00", None),  # at 00:00 exactly it would be on time
        ("2026-11-21", "2026-11-20T23:59", True),
        ("2026-11-19", "2026-11-20T10:00", False),
        ("2026-11-20", "2026-11-20", False),  # a whole-day promise: the dates always decide
        ("2026-11-21", "2026-11-20", True),
        ("2026-11-20 10:00", "2026-11-20T10:00", False),
        ("2026-11-20 10:01", "2026-11-20T10:00", True),
    ],
)
def test_an_event_missed_a_promise_only_when_its_time_or_its_date_decides(
    shipped: str, promised: str, late: bool | None
) -> None:
    promise = parse_deadline(promised, BERLIN)
    assert promise is not None
    assert parse_event_time(shipped, BERLIN).missed(promise) is late


@pytest.mark.parametrize(
    ("value", "site"), [("9999-12-31", "UTC"), (date(9999, 12, 31), "UTC"), ("0001-01-01", "Asia/Tokyo")]
)
def test_an_event_on_a_day_at_the_calendars_ends_is_out_of_range(value: object, site: str) -> None:
    with pytest.raises(TimestampError, match="is out of the range of instants"):
        parse_event_time(value, ZoneInfo(site))

"""Schedules across daylight saving time, as EventBridge Scheduler runs them: a wall-clock time the clocks skip
does not fire that day, one the clocks repeat fires once (the first time). The embedded stack's clock and the
API's "next run" both follow phi.definitions.schedule_times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from phi.definitions.schedule_times import latest_fire, next_fire, to_eventbridge
from phi.embedded.scheduler import LocalScheduler
from phi.services.schedules import next_run

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def fired_by_the_embedded_clock(cron: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    """What the embedded clock's rule (fire when the latest due time is newer than the last one fired) fires,
    ticking every minute from `start` to `end`."""
    schedule = {"ScheduleExpression": to_eventbridge(cron), "ScheduleExpressionTimezone": zone}
    last, fired, now = start, [], start
    while now <= end:
        due = LocalScheduler._latest_due(schedule, now)
        if due > last:
            last = due
            fired.append(due)
        now += timedelta(minutes=1)
    return fired


def test_a_time_in_the_repeated_hour_fires_once_the_first_time() -> None:
    # 1 November 2026, New York: 01:00-01:59 happens at 05:xx UTC (EDT), then again at 06:xx UTC (EST).
    fired = fired_by_the_embedded_clock("30 1 * * *", "America/New_York", utc(2026, 11, 1, 4), utc(2026, 11, 1, 9))
    assert fired == [utc(2026, 11, 1, 5, 30)]
    assert latest_fire("30 1 * * *", NEW_YORK, utc(2026, 11, 1, 6, 40)) == utc(2026, 11, 1, 5, 30)
    assert next_fire("30 1 * * *", NEW_YORK, utc(2026, 11, 1, 5, 30)) == utc(2026, 11, 2, 6, 30)
    assert next_run("30 1 * * *", "America/New_York", utc(2026, 11, 1, 5, 0)) == utc(2026, 11, 1, 5, 30)


def test_a_frequent_schedule_is_not_repeated_through_the_repeated_hour() -> None:
    fired = fired_by_the_embedded_clock(
        "*/20 * * * *", "America/New_York", utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 7, 30)
    )
    local = [f"{t.astimezone(NEW_YORK):%H:%M %Z}" for t in fired]
    assert local == ["00:40 EDT", "01:00 EDT", "01:20 EDT", "01:40 EDT", "02:00 EST", "02:20 EST"]


def test_a_time_the_clocks_skip_does_not_fire_that_day() -> None:
    # 8 March 2026, New York: 02:00 EST becomes 03:00 EDT; 02:30 does not exist that day.
    fired = fired_by_the_embedded_clock("30 2 * * *", "America/New_York", utc(2026, 3, 7, 12), utc(2026, 3, 9, 12))
    assert fired == [utc(2026, 3, 9, 6, 30)]
    assert next_run("30 2 * * *", "America/New_York", utc(2026, 3, 7, 12)) == utc(2026, 3, 9, 6, 30)
    # A time just after the gap is untouched.
    assert next_run("0 3 * * *", "America/New_York", utc(2026, 3, 7, 12)) == utc(2026, 3, 8, 7, 0)


@pytest.mark.parametrize(
    ("cron", "zone", "after", "expected"),
    [
        ("0 7 * * *", "Europe/London", utc(2026, 7, 1, 12), utc(2026, 7, 2, 6)),  # BST
        ("0 7 * * *", "Europe/London", utc(2026, 12, 1, 12), utc(2026, 12, 2, 7)),  # GMT
        ("30 1 * * *", "Europe/London", utc(2026, 10, 24, 12), utc(2026, 10, 25, 0, 30)),  # repeated: the first
        ("30 1 * * *", "Europe/London", utc(2026, 3, 28, 12), utc(2026, 3, 30, 0, 30)),  # skipped on 29 March
        ("15 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 3, 0), utc(2026, 10, 4, 15, 15)),  # skipped: 30 min
        ("0 9 * * 1-5", "UTC", utc(2026, 12, 4, 10), utc(2026, 12, 7, 9)),
    ],
)
def test_next_run_in_ordinary_and_changing_zones(cron: str, zone: str, after: datetime, expected: datetime) -> None:
    assert next_run(cron, zone, after) == expected
    assert latest_fire(cron, ZoneInfo(zone), expected) == expected
    assert latest_fire(cron, ZoneInfo(zone), expected - timedelta(seconds=1)) < expected


def test_one_unreadable_or_failing_schedule_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    # The scheduler API is replaced here by a list (moto's is exercised in tests/integration/test_schedules.py)
    good = {"Name": "good", "ScheduleExpression": to_eventbridge("*/5 * * * *"), "ScheduleExpressionTimezone": "UTC"}
    broken = {"Name": "broken", "ScheduleExpression": "rate(5 minutes)", "ScheduleExpressionTimezone": "UTC"}
    flaky = {"Name": "flaky", "ScheduleExpression": to_eventbridge("*/5 * * * *"), "ScheduleExpressionTimezone": "UTC"}
    clock = LocalScheduler("group")
    started: list[str] = []
    failures = {"flaky": 2}

    def fire(schedule: dict[str, object]) -> None:
        name = str(schedule["Name"])
        if failures.get(name, 0) > 0:
            failures[name] -= 1
            raise RuntimeError("StartExecution throttled")
        started.append(name)

    monkeypatch.setattr(clock, "_schedules", lambda: [broken, good, flaky])
    monkeypatch.setattr(clock, "_fire", fire)
    due = clock._started + timedelta(minutes=5)

    # the unreadable one is skipped, the good one fires, the flaky one's failed start is tried again at the next
    # ticks until it starts (a run counts once its execution started)
    assert clock.tick(due) == ["good"]
    assert clock.tick(due) == []
    assert clock.tick(due) == ["flaky"]
    assert clock.tick(due) == [] and started == ["good", "flaky"]


def test_a_schedule_fires_only_at_times_after_it_was_made_or_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    # As EventBridge does: a schedule made (or enabled again, or given a new expression) at 07:05 had fired its
    # 07:00 run at once on the embedded stack, whose clock counted every due time since the stack started.
    clock = LocalScheduler("group")
    due = clock._started + timedelta(minutes=5)
    every_five = to_eventbridge("*/5 * * * *")
    made_after = {"Name": "late", "ScheduleExpression": every_five, "ScheduleExpressionTimezone": "UTC"}
    made_before = {"Name": "early", "ScheduleExpression": every_five, "ScheduleExpressionTimezone": "UTC"}
    made_after["LastModificationDate"] = clock._latest_due(made_after, due) + timedelta(seconds=30)
    made_before["LastModificationDate"] = clock._started
    started: list[str] = []
    monkeypatch.setattr(clock, "_schedules", lambda: [made_after, made_before])
    monkeypatch.setattr(clock, "_fire", lambda schedule: started.append(str(schedule["Name"])))
    now = clock._latest_due(made_after, due) + timedelta(minutes=1)

    assert clock.tick(now) == ["early"]
    assert clock.tick(now + timedelta(minutes=5)) == ["late", "early"]  # its next time comes after the change

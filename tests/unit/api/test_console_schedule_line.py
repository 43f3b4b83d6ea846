"""How the workflows page states a schedule's next run: in the schedule's own zone, with UTC beside it only when
UTC reads differently."""

from __future__ import annotations

from datetime import UTC, datetime

from phi.api.console.workflow_pages import schedule_line
from phi.services.schedules import ScheduleView


def _schedule(timezone: str, next_run_at: datetime | None, enabled: bool = True) -> ScheduleView:
    return ScheduleView(
        workflow_type="DAILY_WAREHOUSE_REPORT",
        cron="0 7 * * *",
        timezone=timezone,
        input={},
        enabled=enabled,
        overlap_policy="SKIP",
        next_run_at=next_run_at,
        last_fired_at=None,
        scheduler_name="s",
    )


def test_the_next_run_is_said_in_the_schedule_s_zone_and_in_utc_only_where_utc_differs() -> None:
    at = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    in_utc = schedule_line(_schedule("UTC", at))
    assert (in_utc.next_local, in_utc.next_utc) == ("Mon 2026-12-07 07:00 UTC", None)  # not "07:00 UTC (07:00 UTC)"
    london_in_winter = schedule_line(_schedule("Europe/London", at))
    assert london_in_winter.next_utc is None
    tokyo = schedule_line(_schedule("Asia/Tokyo", at))
    assert (tokyo.next_local, tokyo.next_utc) == ("Mon 2026-12-07 16:00 Asia/Tokyo", "07:00 UTC")
    auckland = schedule_line(_schedule("Pacific/Auckland", datetime(2026, 12, 7, 12, 0, tzinfo=UTC)))
    assert (auckland.next_local, auckland.next_utc) == (
        "Tue 2026-12-08 01:00 Pacific/Auckland",
        "Mon 2026-12-07 12:00 UTC",
    )
    assert schedule_line(_schedule("UTC", None, enabled=False)).paused

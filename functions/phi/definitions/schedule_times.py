"""When a schedule's cron fires in its time zone, as EventBridge Scheduler reads it across daylight saving time:
a wall-clock time the clocks skip (going forward) does not fire that day, and one that occurs twice (the hour
repeated going back) fires once, the first time. croniter walking aware times fires the repeated hour twice and
moves a skipped time to the hour after; here the cron walks naive wall-clock times instead, each then placed in
the zone. The embedded stack's clock fires by these times and the API shows the next one, so both agree with AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

# Wider than any zone's clock change (one hour almost everywhere; never more than two since 1945).
_CLOCK_CHANGE_MARGIN = timedelta(hours=3)
# A cron that matches nothing but skipped wall times for this many tries is broken, not busy: a clock change skips
# an hour or two, at most 120 matches in a row of a cron firing every minute; a cron that names only a skipped time
# (02:30 on the second Sunday of March) is found out after this many years, in a fraction of a second.
_MAX_TRIES = 1_000


def _instant(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """The first instant a naive wall-clock time names in the zone; None when the clocks skip it."""
    aware = wall.replace(tzinfo=zone, fold=0)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return aware.astimezone(UTC)


def next_fire(cron: str, zone: ZoneInfo, after: datetime) -> datetime:
    """The first firing strictly after `after` (aware), in UTC."""
    walls = croniter(cron, after.astimezone(zone).replace(tzinfo=None) - _CLOCK_CHANGE_MARGIN)
    for _ in range(_MAX_TRIES):
        instant = _instant(walls.get_next(datetime), zone)
        if instant is not None and instant > after:
            return instant
    raise ValueError(f"the cron {cron!r} never fires in {zone.key}")


def latest_fire(cron: str, zone: ZoneInfo, now: datetime) -> datetime:
    """The last firing at or before `now` (aware), in UTC."""
    walls = croniter(cron, now.astimezone(zone).replace(tzinfo=None) + _CLOCK_CHANGE_MARGIN)
    for _ in range(_MAX_TRIES):
        instant = _instant(walls.get_prev(datetime), zone)
        if instant is not None and instant <= now:
            return instant
    raise ValueError(f"the cron {cron!r} never fired in {zone.key}")

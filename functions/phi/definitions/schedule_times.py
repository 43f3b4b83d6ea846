"""When a schedule's cron fires in its time zone, as EventBridge Scheduler reads it across daylight saving time:
a wall-clock time the clocks skip (going forward) does not fire that day, and one that occurs twice (the hour
repeated going back) fires once, the first time. croniter walking aware times fires the repeated hour twice and
moves a skipped time to the hour after; here the cron walks naive wall-clock times instead, each then placed in
the zone. The embedded stack's clock fires by these times and the API shows the next one, so both agree with AWS."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from phi.errors import BadRequest

# Wider than any zone's clock change (one hour almost everywhere; never more than two since 1945).
_CLOCK_CHANGE_MARGIN = timedelta(hours=3)
# A cron that matches nothing but skipped wall times for this many tries is broken, not busy: a clock change skips
# an hour or two, at most 120 matches in a row of a cron firing every minute; a cron that names only a skipped time
# (02:30 on the second Sunday of March) is found out after this many years, in a fraction of a second.
_MAX_TRIES = 1_000


# The last given weekday of the month: `5L` (the last Friday) in standard cron and in EventBridge, `L5` in croniter.
_LAST_WEEKDAY = re.compile(r"([0-7])L", re.IGNORECASE)


def croniter_expression(cron: str) -> str:
    """The cron as croniter reads it: the same five fields, a day of the week `5L` written `L5`."""
    fields = cron.split()
    if len(fields) == 5 and _LAST_WEEKDAY.fullmatch(fields[4]):
        fields[4] = "L" + fields[4][0]
    return " ".join(fields)


def _instant(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """The first instant a naive wall-clock time names in the zone; None when the clocks skip it."""
    aware = wall.replace(tzinfo=zone, fold=0)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return aware.astimezone(UTC)


def next_fire(cron: str, zone: ZoneInfo, after: datetime) -> datetime:
    """The first firing strictly after `after` (aware), in UTC."""
    walls = croniter(croniter_expression(cron), after.astimezone(zone).replace(tzinfo=None) - _CLOCK_CHANGE_MARGIN)
    for _ in range(_MAX_TRIES):
        instant = _instant(walls.get_next(datetime), zone)
        if instant is not None and instant > after:
            return instant
    raise ValueError(f"the cron {cron!r} never fires in {zone.key}")


def latest_fire(cron: str, zone: ZoneInfo, now: datetime) -> datetime:
    """The last firing at or before `now` (aware), in UTC."""
    walls = croniter(croniter_expression(cron), now.astimezone(zone).replace(tzinfo=None) + _CLOCK_CHANGE_MARGIN)
    for _ in range(_MAX_TRIES):
        instant = _instant(walls.get_prev(datetime), zone)
        if instant is not None and instant <= now:
            return instant
    raise ValueError(f"the cron {cron!r} never fired in {zone.key}")


# --- EventBridge Scheduler's cron expressions ------------------------------------------------------------------

_EVENTBRIDGE_CRON_PREFIX = "cron("


def to_eventbridge(cron: str) -> str:
    """5-field cron → EventBridge `cron(min hour dom month dow year)`; one of dom/dow must be '?',
    and EventBridge numbers weekdays 1-7 from Sunday where cron uses 0-6."""
    minute, hour, dom, month, dow = cron.split()
    if dom != "*" and dow != "*":
        raise BadRequest(f"Schedule {cron!r} restricts both day-of-month and day-of-week; EventBridge allows one")
    dow = "?" if dow == "*" else _shift_weekdays(dow, +1)
    if dom == "*" and dow != "?":
        dom = "?"
    return f"{_EVENTBRIDGE_CRON_PREFIX}{minute} {hour} {dom} {month} {dow} *)"


def from_eventbridge(expression: str) -> str:
    minute, hour, dom, month, dow, _year = expression.removeprefix(_EVENTBRIDGE_CRON_PREFIX).rstrip(")").split()
    return " ".join([minute, hour, "*" if dom == "?" else dom, month, "*" if dow == "?" else _shift_weekdays(dow, -1)])


def _shift_weekdays(field: str, offset: int) -> str:
    """Renumbers the day-of-week field between cron (0-7, Sunday 0 or 7) and EventBridge (1-7 from Sunday):
    plain days, range ends, the day of `5#2` (second Friday) and of `5L` (the last Friday); names (MON-FRI) mean
    the same in both."""

    def shift(token: str) -> str:
        day, nth = token.partition("#")[::2]
        last = "L" if day[-1:] in ("L", "l") else ""
        day = day.removesuffix(day[-1:]) if last else day
        if not day.isdigit():
            return token
        shifted = int(day) % 7 + 1 if offset > 0 else int(day) - 1
        return str(shifted) + last + (f"#{nth}" if nth else "")

    parts = []
    for part in field.split(","):
        span, _, step = part.partition("/")
        ends = span.split("-")
        if offset > 0 and len(ends) == 2 and ends[1] == "7" and ends[0].isdigit():
            # Cron's Sunday 7 is EventBridge's 1, which would turn the range around (6-7 → 7-1, which
            # EventBridge refuses): Sunday joins as a day of its own.
            if step:
                raise BadRequest(f"Schedule day-of-week {field!r}: write Sunday as 0 in a range with a step")
            parts += ([f"{shift(ends[0])}-7"] if ends[0] != "6" else ["7"]) + ["1"]
            continue
        parts.append("-".join(shift(token) for token in ends) + (f"/{step}" if step else ""))
    return ",".join(parts)

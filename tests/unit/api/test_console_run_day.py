"""The day "Run a test task" proposes is yesterday at the warehouse, by the API's own rule, not yesterday in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from phi.api.console.agent_pages import default_run_day
from phi.domain.models import Agent

# The reviewer's example: at 07:25 UTC on 6 December it is 20:25 on 5 December in Pago Pago (UTC-11).
MORNING = datetime(2026, 12, 6, 7, 25, tzinfo=UTC)
# At 12:00 UTC on 6 December it is 02:00 on 7 December in Kiritimati (UTC+14).
NOON = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "now", "day"),
    [
        ("Pacific/Pago_Pago", MORNING, date(2026, 12, 4)),  # UTC's yesterday, 5 December, is today there
        ("Pacific/Kiritimati", NOON, date(2026, 12, 6)),  # UTC's yesterday is the day before yesterday there
        ("Europe/London", MORNING, date(2026, 12, 5)),
        (None, MORNING, date(2026, 12, 5)),  # an agent without a zone is on UTC, as the API takes it
    ],
)
def test_the_test_task_day_is_yesterday_in_the_agents_time_zone(zone: str | None, now: datetime, day: date) -> None:
    agent = Agent.model_construct(config={"warehouse_timezone": zone} if zone else {})
    assert default_run_day(agent, now) == day

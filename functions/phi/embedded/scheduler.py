"""The embedded stack's stand-in for EventBridge Scheduler's clock: it reads the same schedule definitions
(from the scheduler API, on moto) and starts the state machine with each schedule's own target input."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from phi.aws import client
from phi.db import schedules as schedules_repo
from phi.db.connection import transaction
from phi.definitions.schedule_times import from_eventbridge, latest_fire

log = logging.getLogger("phi.embedded.scheduler")
ENDED_EXECUTION_CHECK_SECONDS = 30.0
# Starts of one due run tried before it is given up (as EventBridge Scheduler retries a target, then drops it).
FIRE_ATTEMPTS = 3


def _last_changed(schedule: dict[str, Any]) -> datetime:
    """When the schedule was created or last changed (enabled again, a new expression): as EventBridge does, it
    fires only at times after that. Without this a schedule made at 07:05 had fired its 07:00 run at once."""
    changed = schedule.get("LastModificationDate") or schedule.get("CreationDate")
    if not isinstance(changed, datetime):
        return datetime.min.replace(tzinfo=UTC)
    return changed if changed.tzinfo else changed.replace(tzinfo=UTC)


class LocalScheduler:
    def __init__(self, group: str, interval_seconds: float = 1.0) -> None:
        self.group = group
        self.interval_seconds = interval_seconds
        self._started = datetime.now(UTC)
        self._last_fired: dict[str, datetime] = {}
        self._failed_starts: dict[tuple[str, datetime], int] = {}
        self._stop = threading.Event()

    def tick(self, now: datetime | None = None) -> list[str]:
        """Fires every enabled schedule whose latest due time is past and not yet fired; returns their names. One
        schedule that cannot be read or started is logged and skipped: the others still fire. A run counts as fired
        once its execution started; a failed start is tried again at the next ticks, FIRE_ATTEMPTS in all."""
        now = now or datetime.now(UTC)
        fired = []
        for schedule in self._schedules():
            name = schedule.get("Name", "?")
            try:
                due = self._latest_due(schedule, now)
            except Exception:
                log.exception("schedule %s cannot be read; skipped", name)
                continue
            if due <= max(self._last_fired.get(name, self._started), _last_changed(schedule)):
                continue
            try:
                self._fire(schedule)
                fired.append(name)
            except Exception:
                attempts = self._failed_starts.get((name, due), 0) + 1
                self._failed_starts[(name, due)] = attempts
                if attempts < FIRE_ATTEMPTS:
                    log.warning("schedule %s: its run of %s did not start (attempt %d)", name, due, attempts)
                    continue
                log.exception("schedule %s: its run of %s did not start after %d attempts", name, due, attempts)
            self._failed_starts.pop((name, due), None)
            self._last_fired[name] = due
        return fired

    def run(self) -> None:
        from phi.documents.sweeper import sweep_documents
        from phi.workflows.sweeper import (
            fail_overdue_tasks,
            fail_tasks_never_started,
            fail_tasks_whose_execution_ended,
            prune_ended_checkpoints,
        )

        last_execution_check = 0.0
        while not self._stop.wait(self.interval_seconds):
            try:
                self.tick()
                fail_overdue_tasks()
                # Asks Step Functions about each RUNNING task: as often as the AWS sweeper, not every tick.
                if time.monotonic() - last_execution_check >= ENDED_EXECUTION_CHECK_SECONDS:
                    last_execution_check = time.monotonic()
                    fail_tasks_whose_execution_ended()
                    fail_tasks_never_started()
                    prune_ended_checkpoints()
                sweep_documents()
            except Exception:  # the clock must keep ticking through a transient outage
                log.exception("scheduler tick failed")

    def stop(self) -> None:
        self._stop.set()

    def _schedules(self) -> list[dict[str, Any]]:
        scheduler = client("scheduler")
        names = [s["Name"] for s in scheduler.list_schedules(GroupName=self.group).get("Schedules", [])]
        schedules = [scheduler.get_schedule(Name=name, GroupName=self.group) for name in names]
        return [s for s in schedules if s.get("State") == "ENABLED"]

    @staticmethod
    def _latest_due(schedule: dict[str, Any], now: datetime) -> datetime:
        zone = ZoneInfo(schedule.get("ScheduleExpressionTimezone") or "UTC")
        return latest_fire(from_eventbridge(schedule["ScheduleExpression"]), zone, now)

    @staticmethod
    def _fire(schedule: dict[str, Any]) -> None:
        target = schedule["Target"]
        # EventBridge Scheduler names its executions itself; moto needs one given.
        client("stepfunctions").start_execution(
            stateMachineArn=target["Arn"], input=target["Input"], name=f"schedule-{uuid.uuid4()}"
        )
        payload = json.loads(target["Input"])
        with transaction() as conn:
            schedules_repo.mark_fired(conn, UUID(payload["agent_id"]), UUID(payload["org_id"]), payload["type"])
        log.info("schedule %s fired (%s for agent %s)", schedule["Name"], payload["type"], payload["agent_id"])

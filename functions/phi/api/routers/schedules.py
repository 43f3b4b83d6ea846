"""An agent's workflow schedules, and running a scheduled workflow now."""

from __future__ import annotations

from fastapi import APIRouter, status

from phi.api.deps import CallerAgent, Conn, CurrentUser
from phi.api.routers.tasks import RunTaskResponse
from phi.errors import NotFound
from phi.services.schedules import ScheduleView, list_schedules
from phi.services.tasks import run_task

router = APIRouter(tags=["schedules"])


@router.get(
    "/agents/{agent_id}/schedules",
    response_model=list[ScheduleView],
    summary="The agent's workflow schedules, each with its next run (any member)",
)
def list_for_agent(agent: CallerAgent, conn: Conn) -> list[ScheduleView]:
    return list_schedules(conn, agent)


@router.post(
    "/agents/{agent_id}/schedules/{workflow_type}/run",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunTaskResponse,
    summary="Run a scheduled workflow now, with the schedule's input (any member)",
)
def run_now(workflow_type: str, agent: CallerAgent, conn: Conn, user: CurrentUser) -> RunTaskResponse:
    schedule = next((s for s in list_schedules(conn, agent) if s.workflow_type == workflow_type), None)
    if schedule is None:
        raise NotFound(f"The agent has no schedule for {workflow_type}.")
    task = run_task(conn, agent, user.id, workflow_type, schedule.input, trigger="run_now")
    return RunTaskResponse(task_id=str(task.id), status=task.status.value, execution_arn=task.execution_arn)

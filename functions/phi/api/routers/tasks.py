"""Running tasks and following them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from phi.api.deps import CallerAgent, CallerTask, Conn, CurrentUser
from phi.db import tasks as tasks_repo
from phi.domain.models import Task, TaskEvent
from phi.services.tasks import run_task

router = APIRouter(tags=["tasks"])


class RunTaskRequest(BaseModel):
    type: str = Field(examples=["DAILY_WAREHOUSE_REPORT"])
    input: dict[str, Any] = Field(default_factory=dict, examples=[{"date": "2026-11-21"}])


class RunTaskResponse(BaseModel):
    task_id: str
    status: str
    execution_arn: str | None


class TaskDetail(Task):
    events: list[TaskEvent]


@router.post("/agents/{agent_id}/run-task", status_code=status.HTTP_202_ACCEPTED, response_model=RunTaskResponse)
def run(body: RunTaskRequest, agent: CallerAgent, user: CurrentUser) -> RunTaskResponse:
    task = run_task(agent, user.id, body.type, body.input, trigger="api")
    return RunTaskResponse(task_id=str(task.id), status=task.status.value, execution_arn=task.execution_arn)


@router.get("/tasks/{task_id}", response_model=TaskDetail)
def get(task: CallerTask, conn: Conn) -> TaskDetail:
    events = tasks_repo.list_events(conn, task.id, task.org_id)
    return TaskDetail(**task.model_dump(), events=events)

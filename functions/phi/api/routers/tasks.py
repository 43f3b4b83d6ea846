"""Running tasks and following them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from phi.api.deps import LIST_HEADERS, TOTAL_COUNT_HEADER, CallerAgent, CallerOrg, CallerTask, Conn, CurrentUser, Page
from phi.db import llm_calls as llm_calls_repo
from phi.db import tasks as tasks_repo
from phi.domain.models import LlmCall, Task, TaskEvent, TaskStatus
from phi.domain.request_body import RequestBody
from phi.services.tasks import ExecutionEvent, cancel_task, run_task, task_history

router = APIRouter(tags=["tasks"])
StatusFilter = Annotated[TaskStatus | None, Query(alias="status", description="Only tasks in this status")]
TypeFilter = Annotated[str | None, Query(alias="type", max_length=100, examples=["DAILY_WAREHOUSE_REPORT"])]


class RunTaskRequest(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"type": "DAILY_WAREHOUSE_REPORT", "input": {"date": "2026-11-21"}}]}
    )

    type: str = Field(max_length=100, examples=["DAILY_WAREHOUSE_REPORT"])
    input: dict[str, Any] = Field(default_factory=dict, examples=[{"date": "2026-11-21"}])


class RunTaskResponse(BaseModel):
    task_id: str
    status: str = Field(examples=["PENDING"])
    execution_arn: str | None


class CancelTaskRequest(RequestBody):
    reason: str | None = Field(
        default=None, max_length=500, description="Why, recorded on the task", examples=["Started by mistake"]
    )


class TaskSummary(BaseModel):
    """A task without its (possibly large) output: what a list shows."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    org_id: UUID
    agent_id: UUID
    type: str
    trigger: str
    status: TaskStatus
    error: dict[str, Any] | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class TaskDetail(Task):
    events: list[TaskEvent]
    execution_history: list[ExecutionEvent] | None = Field(
        default=None,
        description="The Step Functions execution's state history, oldest first: its newest 200 events (when it "
        "can be read, and unless `history=false` was asked)",
    )
    execution_history_complete: bool | None = Field(
        default=None, description="False when older events of a long execution were left out of execution_history"
    )
    llm_calls: list[LlmCall] = Field(
        default_factory=list, description="Every request the task made to an LLM route, fallbacks included"
    )


@router.post(
    "/agents/{agent_id}/run-task",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunTaskResponse,
    summary="Start a task (any member)",
    description="409 when the agent is disabled.",
)
def run(body: RunTaskRequest, agent: CallerAgent, conn: Conn, user: CurrentUser) -> RunTaskResponse:
    task = run_task(conn, agent, user.id, body.type, body.input, trigger="api")
    return RunTaskResponse(task_id=str(task.id), status=task.status.value, execution_arn=task.execution_arn)


@router.get(
    "/agents/{agent_id}/tasks",
    response_model=list[TaskSummary],
    responses=LIST_HEADERS,
    summary="The agent's tasks, newest first",
)
def list_for_agent(
    agent: CallerAgent,
    conn: Conn,
    page: Page,
    response: Response,
    status_filter: StatusFilter = None,
    type_filter: TypeFilter = None,
) -> list[Task]:
    where = tasks_repo.TaskFilter(
        agent_id=agent.id, status=status_filter, type=type_filter, limit=page.limit, offset=page.offset
    )
    tasks, total = tasks_repo.list_tasks(conn, agent.org_id, where)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return tasks


@router.get(
    "/orgs/{org_id}/tasks",
    response_model=list[TaskSummary],
    responses=LIST_HEADERS,
    summary="The organisation's tasks, newest first (including those of deleted agents)",
)
def list_for_org(
    org: CallerOrg,
    conn: Conn,
    page: Page,
    response: Response,
    status_filter: StatusFilter = None,
    type_filter: TypeFilter = None,
    agent_id: Annotated[UUID | None, Query()] = None,
) -> list[Task]:
    where = tasks_repo.TaskFilter(
        agent_id=agent_id, status=status_filter, type=type_filter, limit=page.limit, offset=page.offset
    )
    tasks, total = tasks_repo.list_tasks(conn, org.id, where)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return tasks


HistoryChoice = Annotated[
    bool,
    Query(
        description="false: leave out the Step Functions history (a read of the workflow engine, rate-limited per "
        "account on AWS): what a client waiting for the task to finish asks each time, the history once at the end"
    ),
]


@router.get("/tasks/{task_id}", response_model=TaskDetail, summary="A task with its output and events")
def get(task: CallerTask, conn: Conn, history: HistoryChoice = True) -> TaskDetail:
    events = tasks_repo.list_events(conn, task.id, task.org_id)
    execution = task_history(task) if history else None
    llm_calls = llm_calls_repo.list_for_task(conn, task.id, task.org_id)
    return TaskDetail(
        **task.model_dump(),
        events=events,
        execution_history=execution.events if execution else None,
        execution_history_complete=execution.complete if execution else None,
        llm_calls=llm_calls,
    )


@router.post(
    "/tasks/{task_id}/cancel",
    response_model=TaskSummary,
    summary="Cancel a pending or running task (any member)",
    description="Ends the task as CANCELLED (with who cancelled and why as an event; a pending approval of the task "
    "is cancelled too), then stops its Step Functions execution. Cancelling a cancelled task again answers it "
    "unchanged; 409 when the task has already finished otherwise.",
)
def cancel(task: CallerTask, conn: Conn, user: CurrentUser, body: CancelTaskRequest | None = None) -> Task:
    return cancel_task(conn, task, user, body.reason if body else None)

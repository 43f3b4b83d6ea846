"""The one registry of workflow types: each type's input model and the graph that runs it.

A type's graph is named by an import path ("module:function") and resolved only by the Think step, so this
module stays importable by the API without LangGraph. A type backed by a stored definition (§8) uses the
generic compiler; a built-in type names its own graph builder."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, ValidationError

from phi.errors import BadRequest

DAILY_WAREHOUSE_REPORT = "DAILY_WAREHOUSE_REPORT"


def _known_timezone(name: str) -> str:
    from phi.workflows.timeframes import check_timezone

    return check_timezone(name)


TimezoneName = Annotated[str, Field(min_length=1, max_length=64, examples=["Europe/London"]),
                         AfterValidator(_known_timezone)]  # fmt: skip


class DailyReportInput(BaseModel):
    date: dt.date | None = Field(
        default=None, description="Report day (YYYY-MM-DD) in the warehouse's time zone; defaults to yesterday there"
    )
    warehouse: str | None = Field(default=None, max_length=200, examples=["Leeds DC"])
    timezone: TimezoneName | None = Field(
        default=None,
        description=(
            "IANA time zone of the warehouse (the day runs from local midnight to local midnight, and timestamps "
            "stored without an offset are read as local times); defaults to the agent's warehouse_timezone, else UTC"
        ),
    )


@dataclass(frozen=True)
class WorkflowType:
    key: str
    input_model: type[BaseModel]
    graph: str  # "module:function" returning an uncompiled langgraph StateGraph
    description: str = ""

    def load_graph_builder(self) -> Callable[[], Any]:
        module, _, name = self.graph.partition(":")
        builder: Callable[[], Any] = getattr(importlib.import_module(module), name)
        return builder


WORKFLOW_TYPES: dict[str, WorkflowType] = {}


def register(workflow_type: WorkflowType) -> WorkflowType:
    if workflow_type.key in WORKFLOW_TYPES:
        raise ValueError(f"workflow type {workflow_type.key} is registered twice")
    WORKFLOW_TYPES[workflow_type.key] = workflow_type
    return workflow_type


register(
    WorkflowType(
        key=DAILY_WAREHOUSE_REPORT,
        input_model=DailyReportInput,
        graph="phi.workflows.daily_report:build_graph",
        description="Yesterday's warehouse KPIs, anomalies with SOP citations and an optional LLM analysis",
    )
)


def get_type(task_type: str) -> WorkflowType:
    found = WORKFLOW_TYPES.get(task_type)
    if found is None:
        raise BadRequest(f"Unknown task type {task_type!r}; known: {', '.join(sorted(WORKFLOW_TYPES))}")
    return found


def validate_task_input(task_type: str, task_input: dict[str, Any]) -> dict[str, Any]:
    model = get_type(task_type).input_model
    try:
        return model.model_validate(task_input).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise BadRequest(f"Invalid input for {task_type}: {problems}") from exc

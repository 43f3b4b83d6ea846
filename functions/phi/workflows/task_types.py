"""Task types and their input models. Kept free of LangGraph so the API imports it cheaply."""

from __future__ import annotations

import datetime as dt
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


INPUT_MODELS: dict[str, type[BaseModel]] = {DAILY_WAREHOUSE_REPORT: DailyReportInput}


def validate_task_input(task_type: str, task_input: dict[str, Any]) -> dict[str, Any]:
    model = INPUT_MODELS.get(task_type)
    if model is None:
        raise BadRequest(f"Unknown task type {task_type!r}; known: {', '.join(sorted(INPUT_MODELS))}")
    try:
        return model.model_validate(task_input).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise BadRequest(f"Invalid input for {task_type}: {problems}") from exc

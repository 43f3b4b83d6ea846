"""Which workflow types exist and what input each takes: the template catalogue's workflows
(phi.definitions.templates), each run by the generic compiler from its definition. An agent's own stored
version of a workflow takes precedence (phi.definitions.document.task_input_for); a type neither stored nor in
the catalogue is refused naming the known ones."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field

from phi.errors import BadRequest

DAILY_WAREHOUSE_REPORT = "DAILY_WAREHOUSE_REPORT"
# The task type of a request's one-off pipeline (DESIGN §9, execute lane; trigger "request"). It has no entry in
# the template catalogue: its definition is kept with the request (agent_requests.pipeline), compiled like one.
AD_HOC = "AD_HOC"


def _known_timezone(name: str) -> str:
    from phi.workflows.timeframes import check_timezone

    return check_timezone(name)


TimezoneName = Annotated[str, Field(min_length=1, max_length=64, examples=["Europe/London"]),
                         AfterValidator(_known_timezone)]  # fmt: skip


def known_types() -> list[str]:
    from phi.definitions.templates import catalogue

    return sorted(t.workflow_key for t in catalogue().values())


def template_definition(task_type: str) -> dict[str, Any]:
    """The catalogue's definition of a workflow type, or BadRequest naming the known types."""
    from phi.definitions.templates import template_for_workflow

    found = template_for_workflow(task_type)
    if found is None:
        raise BadRequest(f"Unknown task type {task_type!r}; known: {', '.join(known_types())}")
    return found.definition


def validate_task_input(task_type: str, task_input: dict[str, Any]) -> dict[str, Any]:
    """A task input checked against the catalogue's definition of the type (relative dates kept for run time)."""
    from phi.definitions.document import parse_stored, validate_inputs

    return validate_inputs(parse_stored(template_definition(task_type)), task_input)

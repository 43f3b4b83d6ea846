"""Console pages of an agent's workflow definitions: the list, one workflow with its versions, the editor
(validation errors shown next to the definition, each naming its node and field), diffs between versions and
roll-back. Reading is open to members; saving and rolling back to owners and admins (the API's rules)."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request, Response
from pydantic import BaseModel

from phi.api.console.rendering import form_json, redirect, render
from phi.api.console.session import ConsoleConn, ConsoleUser, CsrfChecked
from phi.api.deps import admin_agent, agent_of_caller, org_of_caller
from phi.db.connection import rollback
from phi.domain.models import is_manager_role
from phi.errors import Conflict, PhiError
from phi.services import workflows as service
from phi.services.schedules import ScheduleView, list_schedules
from phi.services.workflows import NewVersion, Rollback
from phi.workflows.timeframes import zone

router = APIRouter(prefix="/console", include_in_schema=False)
MAX_DEFINITION_CHARS = 200_000


@router.get("/agents/{agent_id}/workflows")
def workflows_page(request: Request, agent_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    org = org_of_caller(agent.org_id, conn, user)
    workflows = service.list_workflows(conn, agent)
    schedules = {s.workflow_type: schedule_line(s) for s in list_schedules(conn, agent)}
    return render(
        request,
        "workflows.html",
        title=f"Workflows · {agent.name}",
        user=user,
        org=org,
        agent=agent,
        workflows=workflows,
        schedules=schedules,
        other_schedules=[s for key, s in schedules.items() if key not in {w.key for w in workflows}],
        can_manage=is_manager_role(org.role),
    )


class ScheduleLine(BaseModel):
    """A schedule as the workflows page says it: when it runs next, in its own time zone and in UTC, or that it
    is paused (the agent is disabled: its schedules fire no task until it is enabled again)."""

    workflow_type: str
    cron: str
    timezone: str
    paused: bool
    next_local: str | None
    next_utc: str | None


def schedule_line(schedule: ScheduleView) -> ScheduleLine:
    next_run = schedule.next_run_at
    if next_run is None:
        local_text = utc_text = None
    else:
        local = next_run.astimezone(zone(schedule.timezone))
        utc = next_run.astimezone(UTC)
        local_text = f"{local:%a %Y-%m-%d %H:%M} {schedule.timezone}"
        # The UTC time alone when it falls on the same date; with its own date when it does not; nothing when the
        # schedule's zone says the same time (UTC itself, or a zone at UTC's offset then).
        if local.utcoffset() == utc.utcoffset():
            utc_text = None
        else:
            utc_text = f"{utc:%H:%M} UTC" if utc.date() == local.date() else f"{utc:%a %Y-%m-%d %H:%M} UTC"
    return ScheduleLine(
        workflow_type=schedule.workflow_type,
        cron=schedule.cron,
        timezone=schedule.timezone,
        paused=not schedule.enabled,
        next_local=local_text,
        next_utc=utc_text,
    )


def _workflow_context(conn: Any, agent: Any, key: str) -> dict[str, Any]:
    view = service.get_workflow(conn, agent, key)
    versions = service.list_versions(conn, agent, key, 100, 0)
    schedule = next((s for s in list_schedules(conn, agent) if s.workflow_type == key), None)
    return {"workflow": view, "versions": versions, "schedule": schedule_line(schedule) if schedule else None}


@router.get("/agents/{agent_id}/workflows/{key}")
def workflow_page(
    request: Request,
    agent_id: UUID,
    key: str,
    conn: ConsoleConn,
    user: ConsoleUser,
    version: Annotated[int | None, Query(ge=1)] = None,
    saved: Annotated[int | None, Query(ge=1)] = None,  # a number: the notice never shows words from a link
) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    org = org_of_caller(agent.org_id, conn, user)
    context = _workflow_context(conn, agent, key)
    shown = service.get_version(conn, agent, key, version) if version else None
    return render(
        request,
        "workflow.html",
        title=f"{key} · workflow",
        user=user,
        org=org,
        agent=agent,
        shown=shown,
        can_manage=is_manager_role(org.role),
        notice=saved,
        **context,
    )


@router.get("/agents/{agent_id}/workflows/{key}/edit")
def edit_page(request: Request, agent_id: UUID, key: str, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = admin_agent(agent_of_caller(agent_id, conn, user), conn, user)
    org = org_of_caller(agent.org_id, conn, user)
    view = service.get_workflow(conn, agent, key)
    return render(
        request,
        "workflow_edit.html",
        title=f"Edit {key}",
        user=user,
        org=org,
        agent=agent,
        workflow=view,
        text=json.dumps(view.definition, indent=2, ensure_ascii=False),
        reason="",
        errors=[],
        message=None,
        based_on=view.current_version,
    )


@router.post("/agents/{agent_id}/workflows/{key}/edit", dependencies=[CsrfChecked])
def save_edit(
    request: Request,
    agent_id: UUID,
    key: str,
    conn: ConsoleConn,
    user: ConsoleUser,
    definition: Annotated[str, Form(max_length=MAX_DEFINITION_CHARS)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    based_on: Annotated[int | None, Form(ge=1)] = None,
) -> Response:
    agent = admin_agent(agent_of_caller(agent_id, conn, user), conn, user)
    org = org_of_caller(agent.org_id, conn, user)
    errors: list[dict[str, Any]] = []
    message: str | None = None
    newer: dict[str, Any] | None = None
    try:
        parsed = form_json(definition)
        if not isinstance(parsed, dict):
            raise ValueError("the definition must be a JSON object")
    except ValueError as exc:
        errors = [{"node": None, "field": "definition", "message": f"Not valid JSON: {exc}"}]
        parsed = None
    if parsed is not None:
        try:
            saved = service.add_version(
                conn, agent, key, NewVersion(definition=parsed, reason=reason or None, based_on=based_on), user.id
            )
            return redirect(request, f"/agents/{agent.id}/workflows/{key}?saved={saved.current_version}")
        except PhiError as exc:
            rollback(conn)
            current = exc.details.get("current_version") if isinstance(exc, Conflict) else None
            if based_on is not None and isinstance(current, int) and current > based_on:
                newer = _newer_versions(conn, agent, key, based_on, current)
            else:
                message = exc.message
                errors = list(exc.details.get("errors") or [])
    view = service.get_workflow(conn, agent, key)
    return render(
        request,
        "workflow_edit.html",
        409 if newer else 400,
        title=f"Edit {key}",
        user=user,
        org=org,
        agent=agent,
        workflow=view,
        text=definition,
        reason=reason,
        errors=errors,
        message=message,
        newer=newer,
        # After the user has been shown what changed, the form carries the version it now knows of: saving again
        # is their choice to put their text on top of it. Left at the old one, every retry would be refused alike.
        based_on=newer["current"] if newer else (based_on or view.current_version),
    )


MAX_CHANGES_SHOWN = 8


def _newer_versions(conn: Any, agent: Any, key: str, since: int, current: int) -> dict[str, Any]:
    """What was saved since the version the editor was opened on: who saved the newest version and why, its first
    changes (JSON pointers) and the link to the whole diff, for the stale-edit notice."""
    latest = service.get_version(conn, agent, key, current)
    changes = service.compare(conn, agent, key, since, current).changes
    return {
        "since": since,
        "current": current,
        "author": latest.author_email,
        "reason": latest.reason,
        "changes": changes[:MAX_CHANGES_SHOWN],
        "more_changes": max(0, len(changes) - MAX_CHANGES_SHOWN),
        "diff_path": f"/agents/{agent.id}/workflows/{key}/diff?from={since}&to={current}",
    }


@router.get("/agents/{agent_id}/workflows/{key}/diff")
def diff_page(
    request: Request,
    agent_id: UUID,
    key: str,
    conn: ConsoleConn,
    user: ConsoleUser,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    org = org_of_caller(agent.org_id, conn, user)
    changes = service.compare(conn, agent, key, from_version, to_version)
    return render(
        request,
        "workflow_diff.html",
        title=f"{key}: v{from_version} → v{to_version}",
        user=user,
        org=org,
        agent=agent,
        key=key,
        diff=changes,
    )


@router.post("/agents/{agent_id}/workflows/{key}/rollback", dependencies=[CsrfChecked])
def rollback_workflow(
    request: Request,
    agent_id: UUID,
    key: str,
    conn: ConsoleConn,
    user: ConsoleUser,
    to_version: Annotated[int, Form(ge=1)],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    agent = admin_agent(agent_of_caller(agent_id, conn, user), conn, user)
    saved = service.rollback(conn, agent, key, Rollback(to_version=to_version, reason=reason or None), user.id)
    return redirect(request, f"/agents/{agent.id}/workflows/{key}?saved={saved.current_version}")

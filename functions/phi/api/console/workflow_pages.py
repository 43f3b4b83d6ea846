"""Console pages of an agent's workflow definitions: the list, one workflow with its versions, the editor
(validation errors shown next to the definition, each naming its node and field), diffs between versions and
roll-back. Reading is open to members; saving and rolling back to owners and admins (the API's rules)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request, Response

from phi.api.console.rendering import form_json, redirect, render
from phi.api.console.session import ConsoleConn, ConsoleUser, CsrfChecked
from phi.api.deps import admin_agent, agent_of_caller, org_of_caller
from phi.db.connection import rollback
from phi.domain.models import is_manager_role
from phi.errors import PhiError
from phi.services import workflows as service
from phi.services.workflows import NewVersion, Rollback

router = APIRouter(prefix="/console", include_in_schema=False)
MAX_DEFINITION_CHARS = 200_000


@router.get("/agents/{agent_id}/workflows")
def workflows_page(request: Request, agent_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    org = org_of_caller(agent.org_id, conn, user)
    return render(
        request,
        "workflows.html",
        title=f"Workflows · {agent.name}",
        user=user,
        org=org,
        agent=agent,
        workflows=service.list_workflows(conn, agent),
        can_manage=is_manager_role(org.role),
    )


def _workflow_context(conn: Any, agent: Any, key: str) -> dict[str, Any]:
    view = service.get_workflow(conn, agent, key)
    versions = service.list_versions(conn, agent, key, 100, 0)
    return {"workflow": view, "versions": versions}


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
            message = exc.message
            errors = list(exc.details.get("errors") or [])
    view = service.get_workflow(conn, agent, key)
    return render(
        request,
        "workflow_edit.html",
        400,
        title=f"Edit {key}",
        user=user,
        org=org,
        agent=agent,
        workflow=view,
        text=definition,
        reason=reason,
        errors=errors,
        message=message,
        based_on=based_on or view.current_version,
    )


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

"""Console pages of the two lanes (DESIGN §9): the agent's request box, and each request with its lane and
outcome — a result table with its CSV download, or a proposed workflow change to approve or reject.

The same services and checks as the API: any member may ask and read; approving, rejecting or rebasing a
proposal is for owners and admins (`admin_agent`)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response

from phi.api.console.rendering import TERMINAL_STATUSES, form_json, redirect, render
from phi.api.console.session import ConsoleConn, ConsoleUser, CsrfChecked
from phi.api.deps import admin_agent, agent_of_caller, org_of_caller
from phi.db import orgs as orgs_repo
from phi.db.connection import DbConnection, rollback
from phi.domain.models import Agent, OrgRole, User, is_manager_role
from phi.errors import InvalidDefinition, NotFound, PhiError
from phi.services import proposals as proposals_service
from phi.services import requests as requests_service
from phi.services import workflows as workflows_service
from phi.services.proposals import Decision
from phi.services.requests import NewRequest
from phi.settings import get_settings

router = APIRouter(prefix="/console", include_in_schema=False)
REQUEST_POLL_SECONDS = 2
MAX_JSON_CHARS = 100_000


def _role(conn: DbConnection, org_id: UUID, user: User) -> OrgRole | None:
    org = orgs_repo.get_org_for_user(conn, org_id, user.id)
    return org.role if org else None


def _box_context(conn: DbConnection, agent: Agent) -> dict[str, Any]:
    requests, total = requests_service.list_requests(conn, agent, 20, 0)
    return {
        "requests": requests,
        "total": total,
        "workflows": workflows_service.list_workflows(conn, agent),
        "running": any(r.status not in TERMINAL_STATUSES and r.outcome == "task" for r in requests),
        "poll": REQUEST_POLL_SECONDS,
        # Said before anything is sent: without a model, a request in plain words can only be refused.
        "llm_available": bool(get_settings().llm_routing()),
    }


@router.get("/agents/{agent_id}/requests")
def request_box(request: Request, agent_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    org = org_of_caller(agent.org_id, conn, user)
    return render(
        request,
        "requests.html",
        title=f"Ask · {agent.name}",
        user=user,
        org=org,
        agent=agent,
        errors={},
        problems={},
        values={},
        **_box_context(conn, agent),
    )


@router.get("/agents/{agent_id}/requests/list")
def request_list(request: Request, agent_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    return render(request, "_request_rows.html", agent=agent, **_box_context(conn, agent))


def _parse_json(text: str, field: str, errors: dict[str, str], kind: type) -> Any:
    if not text.strip():
        return None
    try:
        value = form_json(text)
    except ValueError as exc:
        errors[field] = f"Not valid JSON: {exc}"
        return None
    if not isinstance(value, kind):
        errors[field] = f"Must be a JSON {'object' if kind is dict else 'array'}."
        return None
    return value


@router.post("/agents/{agent_id}/requests", dependencies=[CsrfChecked])
def submit_request(
    request: Request,
    agent_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    prompt: Annotated[str, Form(max_length=4000)] = "",
    lane: Annotated[str, Form(max_length=20)] = "",
    pipeline: Annotated[str, Form(max_length=MAX_JSON_CHARS)] = "",
    patch: Annotated[str, Form(max_length=MAX_JSON_CHARS)] = "",
    workflow: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    org = org_of_caller(agent.org_id, conn, user)
    values = {"prompt": prompt, "lane": lane, "pipeline": pipeline, "patch": patch, "workflow": workflow}
    errors: dict[str, str] = {}
    refused_details: dict[str, list[dict[str, Any]]] = {}
    if not prompt.strip():
        errors["prompt"] = "Say what you need."
    parsed_pipeline = _parse_json(pipeline, "pipeline", errors, dict)
    parsed_patch = _parse_json(patch, "patch", errors, list)
    workflows = workflows_service.list_workflows(conn, agent)
    errors.update(_choice_errors(values, [w.key for w in workflows]))
    if not errors:
        try:
            body = NewRequest.model_validate(
                {
                    "prompt": prompt.strip(),
                    "lane": lane or None,
                    "pipeline": parsed_pipeline,
                    "patch": parsed_patch,
                    "workflow": workflow or None,
                }
            )
            made = requests_service.submit(conn, agent, user.id, org.role, body)
            return redirect(request, f"/agents/{agent.id}/requests/{made.id}")
        except PhiError as exc:
            rollback(conn)  # the service has already committed the refused request, which the page then shows
            refused_id = exc.details.get("request_id")
            at_field = _field_of_refusal(exc, values)
            if at_field:
                # What the user wrote themselves is wrong: shown at its field with the form kept (the refusal is
                # still recorded, as the API records it, and listed below).
                errors[at_field] = exc.message
                problems = exc.details.get("errors")
                if isinstance(problems, list):
                    refused_details[at_field] = [p for p in problems if isinstance(p, dict)][:MAX_PROBLEMS_SHOWN]
            elif refused_id:
                return redirect(request, f"/agents/{agent.id}/requests/{refused_id}")
            else:
                errors["form"] = exc.message
        except ValueError as exc:  # pydantic's ValidationError
            errors["form"] = str(exc).splitlines()[-1] if str(exc) else "The request is not valid."
    return render(
        request,
        "requests.html",
        400,
        title=f"Ask · {agent.name}",
        user=user,
        org=org,
        agent=agent,
        errors=errors,
        problems=refused_details,
        values=values,
        **_box_context(conn, agent),
    )


MAX_PROBLEMS_SHOWN = 10


def _choice_errors(values: dict[str, str], workflow_keys: list[str]) -> dict[str, str]:
    """The form's choices that cannot go together, said at their field before anything is sent: the API would
    refuse each (and keep a refused request) with the same rule in its own words."""
    pipeline, patch, lane, chosen = (values[k].strip() for k in ("pipeline", "patch", "lane", "workflow"))
    if pipeline and patch:
        return {"patch": "Give a pipeline or a patch, not both: clear one of them."}
    if patch and lane == "execute":
        return {"lane": "A patch changes a workflow: choose the patch lane, or clear the patch."}
    if pipeline and lane == "patch":
        return {"lane": "A pipeline runs once: choose the execute lane, or clear the pipeline."}
    if chosen and chosen not in workflow_keys:
        return {"workflow": "The agent has no such workflow any more: choose one of the list."}
    if patch and not chosen and len(workflow_keys) > 1:
        return {"workflow": "Choose the workflow to change."}
    return {}


def _field_of_refusal(error: PhiError, values: dict[str, str]) -> str | None:
    """The field a refusal is about when it is about what the user wrote there: an invalid pipeline or patch of
    their own (not one a model wrote, nor a missing model, a role or a disabled agent, which the request's own
    page explains)."""
    if not isinstance(error, InvalidDefinition):
        return None
    for field in ("pipeline", "patch"):
        if values[field].strip():
            return field
    return None


def _request_context(conn: DbConnection, agent: Agent, request_id: UUID, user: User) -> dict[str, Any]:
    view = requests_service.get_request(conn, agent, request_id)
    proposal = proposals_service.get_proposal(conn, agent, view.proposal_id) if view.proposal_id else None
    role = _role(conn, agent.org_id, user)
    return {
        "req": view,
        "proposal": proposal,
        "can_decide": is_manager_role(role),
        "running": view.outcome == "task" and view.status not in TERMINAL_STATUSES,
        "poll": REQUEST_POLL_SECONDS,
    }


@router.get("/agents/{agent_id}/requests/{request_id}")
def request_page(request: Request, agent_id: UUID, request_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    org = org_of_caller(agent.org_id, conn, user)
    context = _request_context(conn, agent, request_id, user)
    title = f"{_shortened(context['req'].prompt)} · request"  # a tab or a bookmark tells requests apart
    return render(request, "request.html", title=title, user=user, org=org, agent=agent, **context)


def _shortened(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@router.get("/agents/{agent_id}/requests/{request_id}/live")
def request_live(request: Request, agent_id: UUID, request_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    return render(request, "_request_live.html", agent=agent, **_request_context(conn, agent, request_id, user))


@router.post("/agents/{agent_id}/proposals/{proposal_id}/{decision}", dependencies=[CsrfChecked])
def decide_proposal(
    request: Request,
    agent_id: UUID,
    proposal_id: UUID,
    decision: str,
    conn: ConsoleConn,
    user: ConsoleUser,
    reason: Annotated[str, Form(max_length=500)] = "",
    request_id: Annotated[UUID | None, Form()] = None,
    base_version: Annotated[int | None, Form(ge=1)] = None,  # the version the page showed: approve what was seen
) -> Response:
    agent = admin_agent(agent_of_caller(agent_id, conn, user), conn, user)
    body = Decision(reason=reason or None, base_version=base_version)
    if decision == "approve":
        proposals_service.approve(conn, agent, proposal_id, user.id, body)
    elif decision == "reject":
        proposals_service.reject(conn, agent, proposal_id, user.id, body)
    elif decision == "rebase":
        proposals_service.rebase(conn, agent, proposal_id)
    else:
        raise NotFound("This page does not exist.")
    if request_id:
        return redirect(request, f"/agents/{agent.id}/requests/{request_id}")
    return redirect(request, f"/agents/{agent.id}/requests")

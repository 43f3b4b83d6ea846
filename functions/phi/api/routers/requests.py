"""Talking to an agent (DESIGN §9): requests, their lanes and outcomes, and the patch lane's proposals.

Any member may make a request and read requests and proposals (a one-off pipeline that sends a webhook or
POSTs is for owners and admins); approving, rejecting and rebasing a proposal is for owners and admins.
Another organisation's ids answer 404."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from phi.api.deps import (
    LIST_HEADERS,
    TOTAL_COUNT_HEADER,
    AdminAgent,
    CallerAgent,
    CallerAgentRole,
    CallerOrg,
    Conn,
    CurrentUser,
    Page,
)
from phi.services import proposals as proposals_service
from phi.services import requests as service
from phi.services.proposals import Decision, ProposalStatus, ProposalView
from phi.services.requests import NewRequest, RequestSummary, RequestView

router = APIRouter(tags=["requests"])

_PIPELINE_EXAMPLE: dict[str, Any] = {
    "prompt": "the five carriers with the most shipments",
    "pipeline": {
        "nodes": [
            {"id": "shipments", "kind": "local_tool",
             "settings": {"tool": "db.query", "sql": "SELECT carrier, shipment_id FROM shipments"}},
            {"id": "top", "kind": "table", "settings": {"input": "shipments", "ops": [
                {"op": "group_by", "keys": ["carrier"], "aggs": {"shipments": {"fn": "count"}}},
                {"op": "top_k", "k": 5, "by": "shipments"}]}},
        ],
        "edges": [["shipments", "top"]],
        "output": "top",
    },
}  # fmt: skip
_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Refused in words (`llm_required`: no LLM and no explicit pipeline or patch; "
        "`invalid_definition` / `invalid_patch`: what does not validate, in `error.details.errors`). "
        "The refused request is kept: `error.details.request_id`."
    },
    403: {
        "description": "A member's one-off pipeline sends a webhook or POSTs (`http` method POST): owner or admin "
        "only. Kept as a refused request."
    },
    409: {"description": "The agent is disabled, has no workflow to change, or the patch's base is stale"},
}


@router.post(
    "/agents/{agent_id}/requests",
    status_code=status.HTTP_201_CREATED,
    response_model=RequestView,
    responses=_REFUSALS,
    summary="Ask the agent something: a one-off (execute lane) or a permanent change (patch lane) (any member)",
    description="The lane is the caller's (`lane`), implied by an explicit `pipeline` or `patch`, or "
    "classified: by the LLM (purpose classification) when one is configured, else by rules that say so in "
    "`decision.reason`. Execute: the pipeline (given, or planned by the LLM) is validated like a workflow and "
    "runs as a task (type AD_HOC, trigger request); follow it with GET …/requests/{id}. E-mail goes only to the "
    "recipients of the agent's email tool; webhooks and POSTs need an owner or admin. Patch: the JSON Patch "
    "(given, or written by the LLM) is applied to a copy of the current definition, validated and stored as a "
    "proposal for an owner or admin to approve.",
    openapi_extra={"requestBody": {"content": {"application/json": {"example": _PIPELINE_EXAMPLE}}}},
)
def create(body: NewRequest, agent: CallerAgent, role: CallerAgentRole, conn: Conn, user: CurrentUser) -> RequestView:
    return service.submit(conn, agent, user.id, role, body)


@router.get(
    "/agents/{agent_id}/requests",
    response_model=list[RequestSummary],
    responses=LIST_HEADERS,
    summary="The agent's requests, newest first, with lane and outcome (any member)",
)
def list_requests(agent: CallerAgent, conn: Conn, page: Page, response: Response) -> list[RequestSummary]:
    items, total = service.list_requests(conn, agent, page.limit, page.offset)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return items


@router.get(
    "/agents/{agent_id}/requests/{request_id}",
    response_model=RequestView,
    summary="One request: its lane, outcome, result preview, CSV download and metadata (any member)",
    description="For an execute-lane request: `result.preview` (the first rows), `result.csv.url` (a pre-signed "
    "download of the full result) and `metadata` (rows, bytes, model, tokens, run time, tool calls).",
)
def get_request(request_id: UUID, agent: CallerAgent, conn: Conn) -> RequestView:
    return service.get_request(conn, agent, request_id)


StatusFilter = Annotated[ProposalStatus | None, Query(alias="status", description="Only proposals in this status")]


@router.get(
    "/agents/{agent_id}/proposals",
    response_model=list[ProposalView],
    responses=LIST_HEADERS,
    summary="The agent's proposed workflow changes, newest first (any member)",
)
def list_agent_proposals(
    agent: CallerAgent, conn: Conn, page: Page, response: Response, status_filter: StatusFilter = None
) -> list[ProposalView]:
    items, total = proposals_service.list_proposals(
        conn, agent.org_id, agent.id, status_filter, page.limit, page.offset
    )
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return items


@router.get(
    "/orgs/{org_id}/proposals",
    response_model=list[ProposalView],
    responses=LIST_HEADERS,
    summary="The organisation's proposed workflow changes, newest first (any member)",
)
def list_org_proposals(
    org: CallerOrg, conn: Conn, page: Page, response: Response, status_filter: StatusFilter = None
) -> list[ProposalView]:
    items, total = proposals_service.list_proposals(conn, org.id, None, status_filter, page.limit, page.offset)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return items


@router.get(
    "/agents/{agent_id}/proposals/{proposal_id}",
    response_model=ProposalView,
    summary="One proposal: summary, patch, changes, warnings, the workflow as it would be (any member)",
)
def get_proposal(proposal_id: UUID, agent: CallerAgent, conn: Conn) -> ProposalView:
    return proposals_service.get_proposal(conn, agent, proposal_id)


_STALE: dict[int | str, dict[str, Any]] = {
    409: {"description": "Already decided, or made against an older version (rebase it first), in words"}
}


@router.post(
    "/agents/{agent_id}/proposals/{proposal_id}/approve",
    response_model=ProposalView,
    responses=_STALE,
    summary="Approve: the change becomes the workflow's new version (owner, admin)",
    description="Source `patch`; schedules resync after the commit. A proposal made against an older version "
    "answers 409 until rebased; of two approvals on the same base, one wins and the other answers 409. Send the "
    "`base_version` you reviewed: if the proposal was rebased since, the approval answers 409 instead.",
)
def approve(
    proposal_id: UUID, agent: AdminAgent, conn: Conn, user: CurrentUser, body: Decision | None = None
) -> ProposalView:
    return proposals_service.approve(conn, agent, proposal_id, user.id, body or Decision())


@router.post(
    "/agents/{agent_id}/proposals/{proposal_id}/reject",
    response_model=ProposalView,
    responses=_STALE,
    summary="Reject a proposed change (owner, admin)",
)
def reject(
    proposal_id: UUID, agent: AdminAgent, conn: Conn, user: CurrentUser, body: Decision | None = None
) -> ProposalView:
    return proposals_service.reject(conn, agent, proposal_id, user.id, body or Decision())


@router.post(
    "/agents/{agent_id}/proposals/{proposal_id}/rebase",
    response_model=ProposalView,
    responses=_STALE,
    summary="Re-apply a stale proposal's patch on the current version, validated again (owner, admin)",
)
def rebase(proposal_id: UUID, agent: AdminAgent, conn: Conn) -> ProposalView:
    return proposals_service.rebase(conn, agent, proposal_id)

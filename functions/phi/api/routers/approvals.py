"""Approvals that running workflows wait for: the organisation's list, one approval, approve and reject."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from phi.api.deps import LIST_HEADERS, TOTAL_COUNT_HEADER, CallerOrg, Conn, CurrentUser, Page
from phi.db import approvals as approvals_repo
from phi.db import orgs as orgs_repo
from phi.domain.models import Approval, ApprovalStatus, OrgRole
from phi.domain.request_body import RequestBody
from phi.errors import NotFound
from phi.services.approvals import decide, may_decide

router = APIRouter(tags=["approvals"])


class ApprovalApprovers(BaseModel):
    roles: list[OrgRole] = Field(examples=[["OWNER", "ADMIN"]])
    emails: list[str] = Field(examples=[["ops.lead@example.com"]])


class ApprovalView(BaseModel):
    """An approval a running workflow waits for, or its recorded decision (the task token is never shown)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b6f4c1e-3c1d-4d59-9d55-8f2a7f0c1a10",
                    "status": "PENDING",
                    "node_id": "approve_send",
                    "title": "Send the late-shipments report to carriers?",
                }
            ]
        }
    )

    id: UUID
    org_id: UUID
    agent_id: UUID
    task_id: UUID
    node_id: str
    title: str
    summary: str
    approvers: ApprovalApprovers
    on_timeout: Literal["fail", "skip"]
    status: ApprovalStatus
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None = Field(default=None, description="The decider's e-mail")
    decided_at: datetime | None = None
    comment: str | None = None
    can_decide: bool = Field(description="Whether the caller may approve or reject it now")

    @classmethod
    def of(cls, approval: Approval, *, can_decide: bool) -> ApprovalView:
        return cls(
            id=approval.id,
            org_id=approval.org_id,
            agent_id=approval.agent_id,
            task_id=approval.task_id,
            node_id=approval.node_id,
            title=approval.title,
            summary=approval.summary,
            approvers=ApprovalApprovers(roles=approval.approver_roles, emails=approval.approver_emails),
            on_timeout=approval.on_timeout,
            status=approval.status,
            requested_at=approval.requested_at,
            expires_at=approval.expires_at,
            decided_by=approval.decided_by_email,
            decided_at=approval.decided_at,
            comment=approval.comment,
            can_decide=can_decide and approval.status == ApprovalStatus.PENDING,
        )


class DecisionRequest(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"comment": "Checked the figures."}]})

    comment: str | None = Field(default=None, max_length=2000)


@router.get(
    "/orgs/{org_id}/approvals",
    response_model=list[ApprovalView],
    responses=LIST_HEADERS,
    summary="The organisation's approvals, newest first (status=PENDING: what awaits a decision)",
)
def list_for_org(
    org: CallerOrg,
    conn: Conn,
    user: CurrentUser,
    page: Page,
    response: Response,
    status_filter: Annotated[ApprovalStatus | None, Query(alias="status")] = None,
    agent_id: Annotated[UUID | None, Query()] = None,
    task_id: Annotated[UUID | None, Query()] = None,
) -> list[ApprovalView]:
    where = approvals_repo.ApprovalFilter(
        status=status_filter, agent_id=agent_id, task_id=task_id, limit=page.limit, offset=page.offset
    )
    approvals, total = approvals_repo.list_approvals(conn, org.id, where)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [ApprovalView.of(a, can_decide=may_decide(a, org.role, user.email)) for a in approvals]


@router.get("/approvals/{approval_id}", response_model=ApprovalView, summary="One approval")
def get(approval_id: UUID, conn: Conn, user: CurrentUser) -> ApprovalView:
    approval = approvals_repo.get_for_user(conn, approval_id, user.id)
    if approval is None:
        raise NotFound("Approval not found.")
    org = orgs_repo.get_org_for_user(conn, approval.org_id, user.id)
    return ApprovalView.of(approval, can_decide=may_decide(approval, org.role if org else None, user.email))


def _decide(approval_id: UUID, body: DecisionRequest, conn: Conn, user: CurrentUser, decision: str) -> ApprovalView:
    approval = decide(conn, approval_id, user, "approve" if decision == "approve" else "reject", body.comment)
    return ApprovalView.of(approval, can_decide=False)


@router.post(
    "/approvals/{approval_id}/approve",
    response_model=ApprovalView,
    summary="Approve: the waiting task resumes (an approver only)",
    description="403 when the caller is not one of its approvers; 409 when it was decided already, timed out, "
    "was cancelled with its task, or has expired.",
)
def approve(approval_id: UUID, body: DecisionRequest, conn: Conn, user: CurrentUser) -> ApprovalView:
    return _decide(approval_id, body, conn, user, "approve")


@router.post(
    "/approvals/{approval_id}/reject",
    response_model=ApprovalView,
    summary="Reject: the waiting task fails, or goes on as its node says (an approver only)",
    description="403 when the caller is not one of its approvers; 409 when it was decided already, timed out, "
    "was cancelled with its task, or has expired.",
)
def reject(approval_id: UUID, body: DecisionRequest, conn: Conn, user: CurrentUser) -> ApprovalView:
    return _decide(approval_id, body, conn, user, "reject")

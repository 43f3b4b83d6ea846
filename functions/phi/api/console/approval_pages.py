"""The console's approvals page: the approvals that running workflows wait for, approved or rejected by their
approvers (the service's `may_decide`, as in the API), refreshed while open."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request, Response

from phi.api.console.rendering import redirect, render
from phi.api.console.session import ConsoleConn, ConsoleUser, CsrfChecked
from phi.api.deps import org_of_caller
from phi.api.routers.approvals import ApprovalView
from phi.db import approvals as approvals_repo
from phi.db import orgs as orgs_repo
from phi.db.connection import DbConnection
from phi.domain.models import ApprovalStatus, User
from phi.errors import NotFound
from phi.services.approvals import decide, may_decide

router = APIRouter(prefix="/console", include_in_schema=False)
APPROVAL_POLL_SECONDS = 5


def _approvals(conn: DbConnection, org_id: UUID, user: User, status: ApprovalStatus | None) -> list[ApprovalView]:
    org = orgs_repo.get_org_for_user(conn, org_id, user.id)
    role = org.role if org else None
    where = approvals_repo.ApprovalFilter(status=status, limit=100, offset=0)
    approvals, _ = approvals_repo.list_approvals(conn, org_id, where)
    return [ApprovalView.of(a, can_decide=may_decide(a, role, user.email)) for a in approvals]


@router.get("/orgs/{org_id}/approvals")
def approvals_page(
    request: Request,
    org_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    show: Annotated[str, Query(pattern="^(pending|all)$")] = "pending",
    decided: Annotated[UUID | None, Query(description="The approval just decided: confirmed at the top")] = None,
) -> Response:
    org = org_of_caller(org_id, conn, user)
    status = ApprovalStatus.PENDING if show == "pending" else None
    just_decided = approvals_repo.get(conn, decided, org.id) if decided else None  # this organisation's only
    return render(
        request,
        "approvals.html",
        title=f"Approvals · {org.name}",
        user=user,
        org=org,
        show=show,
        approvals=_approvals(conn, org.id, user, status),
        decided=just_decided if just_decided and just_decided.status != ApprovalStatus.PENDING else None,
        poll=APPROVAL_POLL_SECONDS,
        error=None,
    )


@router.get("/orgs/{org_id}/approvals/pending-count")
def pending_count(request: Request, org_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    """The number beside Approvals in the menu: the organisation's approvals waiting for a decision."""
    org = org_of_caller(org_id, conn, user)
    where = approvals_repo.ApprovalFilter(status=ApprovalStatus.PENDING, limit=1, offset=0)
    _, waiting = approvals_repo.list_approvals(conn, org.id, where)
    return render(request, "_pending_count.html", waiting=waiting)


@router.get("/orgs/{org_id}/approvals/rows")
def approval_rows(
    request: Request,
    org_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    show: Annotated[str, Query(pattern="^(pending|all)$")] = "pending",
) -> Response:
    org = org_of_caller(org_id, conn, user)
    status = ApprovalStatus.PENDING if show == "pending" else None
    return render(
        request,
        "_approval_rows.html",
        org=org,
        show=show,
        approvals=_approvals(conn, org.id, user, status),
        poll=APPROVAL_POLL_SECONDS,
        error=None,
    )


@router.post("/orgs/{org_id}/approvals/{approval_id}/{decision}", dependencies=[CsrfChecked])
def decide_approval(
    request: Request,
    org_id: UUID,
    approval_id: UUID,
    decision: str,
    conn: ConsoleConn,
    user: ConsoleUser,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    org = org_of_caller(org_id, conn, user)
    if decision not in ("approve", "reject"):
        raise NotFound("This page does not exist.")
    found = approvals_repo.get_for_user(conn, approval_id, user.id)
    if found is None or found.org_id != org.id:
        raise NotFound("Approval not found.")
    decide(conn, approval_id, user, "approve" if decision == "approve" else "reject", comment or None)
    return redirect(request, f"/orgs/{org.id}/approvals?decided={approval_id}")

"""Approvals inside running workflows (DESIGN §9), the API's side: who may decide, deciding once, and completing the
execution's task token (SendTaskSuccess / SendTaskFailure) after the decision is committed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from phi.approval_tokens import complete_token
from phi.db import approvals as approvals_repo
from phi.db import orgs as orgs_repo
from phi.db import tasks as tasks_repo
from phi.db.connection import DbConnection, after_commit
from phi.domain.models import Approval, ApprovalStatus, EventType, OrgRole, User
from phi.errors import Conflict, Forbidden, NotFound

Decision = Literal["approve", "reject"]


def may_decide(approval: Approval, role: OrgRole | None, email: str) -> bool:
    """A member with one of the approval's roles, or one of the people it names."""
    if role is None:
        return False
    return role in approval.approver_roles or email.lower() in approval.approver_emails


def decide(conn: DbConnection, approval_id: UUID, user: User, decision: Decision, comment: str | None) -> Approval:
    """Records the decision once (a second one, or one after the deadline, is a 409) and, after the commit,
    completes the task token so the execution resumes."""
    approval = approvals_repo.get_for_user(conn, approval_id, user.id)
    if approval is None:
        raise NotFound("Approval not found.")
    org = orgs_repo.get_org_for_user(conn, approval.org_id, user.id)
    if not may_decide(approval, org.role if org else None, user.email):
        who = ", ".join([*approval.approver_roles, *approval.approver_emails])
        raise Forbidden(f"Only these may decide this approval: {who}.")
    status = ApprovalStatus.APPROVED if decision == "approve" else ApprovalStatus.REJECTED
    decided = approvals_repo.decide(
        conn, approval.id, approval.org_id, status=status, user_id=user.id, email=user.email, comment=comment
    )
    if decided is None:
        current = approvals_repo.get(conn, approval.id, approval.org_id) or approval
        if current.status != ApprovalStatus.PENDING:
            state, why = current.status.value, f"it is {current.status.value}"
        elif current.expires_at <= datetime.now(UTC):
            state, why = "expired", "it is expired"
        else:  # pending, in time, but its task has ended (failed, cancelled) without it
            state, why = "task_finished", "its task has finished"
        raise Conflict(f"This approval can no longer be decided: {why}.", details={"status": state})
    tasks_repo.add_event(
        conn,
        decided.task_id,
        decided.org_id,
        EventType.APPROVAL_APPROVED if decision == "approve" else EventType.APPROVAL_REJECTED,
        f"{decided.node_id}: {status.value.lower()} by {user.email}" + (f": {comment}" if comment else ""),
        {
            "approval_id": str(decided.id),
            "node": decided.node_id,
            "decided_by": user.email,
            "decided_at": decided.decided_at.isoformat() if decided.decided_at else None,
            "comment": comment,
        },
    )
    after_commit(conn, lambda: complete_token(decided))
    return Approval.model_validate(decided.model_dump(exclude={"task_token"}))

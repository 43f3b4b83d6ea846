"""Approvals inside running workflows (DESIGN §9), the task loop's side: Step Functions' human-approval pattern.

Think answers `{"status": "approval", "approval": …}` when an `approval` node asks for a decision; the state
machine's AwaitApproval step invokes the await-approval function with `.waitForTaskToken`, which records the
request with its task token (`open_approval`) and returns; the execution then waits until the API completes the
token (SendTaskSuccess on approve, SendTaskFailure on reject) or the step's TimeoutSeconds passes. Either way the
next Think resumes the graph with the outcome the database records (`resume_approval`): the recorded decision is
the truth, the state machine's result only tells a timeout or a failure of the step itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from phi.approval_tokens import complete_token
from phi.db import approvals as approvals_repo
from phi.db import members as members_repo
from phi.db import tasks as tasks_repo
from phi.db.connection import after_commit, transaction
from phi.domain.models import Approval, ApprovalStatus, ApprovalWithToken, EventType
from phi.wording import error_cause_text, readable
from phi.workflows.contracts import ApprovalOut, ApprovalOutcome, TaskContext
from phi.workflows.tool_results import MAX_CAUSE_CHARS, error_name

TIMEOUT_ERRORS = frozenset({"States.Timeout", "States.HeartbeatTimeout"})


def open_approval(ctx: TaskContext, approval: ApprovalOut, task_token: str) -> Approval:
    """Records what awaits a decision and by whom, with the token the execution waits on."""
    task_id, org_id = UUID(ctx.task_id), UUID(ctx.org_id)
    new = approvals_repo.NewApproval(
        org_id=org_id,
        agent_id=UUID(ctx.agent_id),
        task_id=task_id,
        step=approval.step,
        node_id=approval.node_id,
        title=approval.title,
        summary=approval.summary,
        approver_roles=list(approval.approvers.roles),
        approver_emails=[e.lower() for e in approval.approvers.emails],
        on_timeout=approval.on_timeout,
        task_token=task_token,
        expires_at=datetime.now(UTC) + timedelta(seconds=approval.timeout_seconds),
    )
    with transaction() as conn:
        row, created = approvals_repo.create(conn, new)
        if row.status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED):
            # A retried step (a new token) after someone decided: the decision completed the old token, which
            # nothing waits on any more; this one would wait out the whole timeout. Wake the execution now.
            decided = ApprovalWithToken(**row.model_dump(), task_token=task_token)
            after_commit(conn, lambda: complete_token(decided))
        if created:
            who = ", ".join([*approval.approvers.roles, *approval.approvers.emails])
            # Named people alone decide when no role is given: say so when none of them is a member (yet: one
            # invited may still join), rather than let the task wait out its timeout without a word.
            nobody = not approval.approvers.roles and not any(
                members_repo.is_member_email(conn, org_id, email) for email in approval.approvers.emails
            )
            warning = "; none of them is a member of the organisation, so nobody can decide it until one joins"
            tasks_repo.add_event(
                conn,
                task_id,
                org_id,
                EventType.APPROVAL_REQUESTED,
                f"{approval.node_id}: waiting for approval ({who}){warning if nobody else ''}: {approval.title}",
                {
                    "approval_id": str(row.id),
                    "node": approval.node_id,
                    "step": approval.step,
                    "approvers": approval.approvers.model_dump(),
                    "expires_at": row.expires_at.isoformat(),
                },
            )
    return row


def approval_outcome(row: Approval | None, step_result: dict[str, Any]) -> ApprovalOutcome:
    """What the workflow is resumed with: the recorded decision, else what the AwaitApproval step reported."""
    # The step's own error, or a Lambda's error object: its name and message only, as text a page can show (never
    # the stack trace, which names the server's files).
    error = error_name(step_result.get("Error") or "Approval.Error")
    cause = readable(error_cause_text(step_result.get("Cause")), MAX_CAUSE_CHARS)
    if row is None:
        return ApprovalOutcome(decision="error", error=error, cause=cause or "no approval was recorded")
    decided = {
        "approval_id": str(row.id),
        "decided_by": row.decided_by_email,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "comment": row.comment,
    }
    if row.status == ApprovalStatus.APPROVED:
        return ApprovalOutcome(decision="approved", **decided)
    if row.status == ApprovalStatus.REJECTED:
        return ApprovalOutcome(decision="rejected", **decided)
    if row.status == ApprovalStatus.TIMED_OUT or (row.status == ApprovalStatus.PENDING and error in TIMEOUT_ERRORS):
        return ApprovalOutcome(decision="timed_out", approval_id=str(row.id))
    if row.status == ApprovalStatus.CANCELLED:
        return ApprovalOutcome(decision="error", approval_id=str(row.id), error="Approval.Cancelled", cause=cause)
    return ApprovalOutcome(
        decision="error", approval_id=str(row.id), error=error, cause=cause or "the approval step ended undecided"
    )


def resume_approval(ctx: TaskContext, step_result: dict[str, Any]) -> ApprovalOutcome:
    """Closes the task's open approval (a timeout is recorded as such) and returns the workflow's outcome."""
    task_id, org_id = UUID(ctx.task_id), UUID(ctx.org_id)
    with transaction() as conn:
        row = approvals_repo.open_for_task(conn, task_id, org_id)
        outcome = approval_outcome(row, step_result)
        if row is None:
            return outcome
        if row.status == ApprovalStatus.PENDING:
            closed = ApprovalStatus.TIMED_OUT if outcome.decision == "timed_out" else ApprovalStatus.CANCELLED
            approvals_repo.close_pending(conn, row.id, org_id, closed)
            if closed == ApprovalStatus.TIMED_OUT:
                tasks_repo.add_event(
                    conn,
                    task_id,
                    org_id,
                    EventType.APPROVAL_TIMED_OUT,
                    f"{row.node_id}: no decision by {row.expires_at.isoformat()} (on timeout: {row.on_timeout})",
                    {"approval_id": str(row.id), "node": row.node_id, "on_timeout": row.on_timeout},
                )
        approvals_repo.mark_resumed(conn, row.id, org_id)
    return outcome

"""A retried AwaitApproval step (Step Functions retries the function on a Lambda service error, each attempt with a
new task token) that finds the decision already taken wakes the execution at once with the new token, instead of
leaving it to wait out the approval's whole timeout. The database is the embedded stack's; the Step Functions call
is recorded in place of being made (the tokens here belong to no execution)."""

from __future__ import annotations

from typing import Any

import pytest

from phi.domain.models import ApprovalWithToken
from phi.workflows import approvals as workflow_approvals
from phi.workflows.contracts import ApprovalOut, Approvers, TaskContext
from tests.integration.api.tenant_fixtures import insert_task
from tests.support.api import ApiSession


def _context(session: ApiSession, agent: dict[str, Any], task_id: str) -> TaskContext:
    return TaskContext(
        task_id=task_id,
        org_id=str(session.org_id),
        agent_id=agent["id"],
        type="pay_supplier",
        queue_url="q",
        max_steps=10,
        tool_timeout_seconds=60,
        tool_heartbeat_seconds=30,
    )


APPROVAL = ApprovalOut(
    node_id="sign_off", title="Pay?", approvers=Approvers(roles=["OWNER"]), timeout_seconds=3_600, step=2
)


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_retried_step_after_the_decision_completes_its_new_token(
    new_user: ApiSession, monkeypatch: pytest.MonkeyPatch, decision: str
) -> None:
    completed: list[ApprovalWithToken] = []
    monkeypatch.setattr(workflow_approvals, "complete_token", completed.append)
    agent = new_user.create_agent()
    ctx = _context(new_user, agent, insert_task(new_user.org_id, agent["id"], status="RUNNING"))

    # Given the step's first attempt recorded the approval, and the owner decided
    first = workflow_approvals.open_approval(ctx, APPROVAL, "token-of-the-first-attempt")
    assert completed == []  # nothing decided yet: the execution waits for a person
    new_user.ok("POST", f"/approvals/{first.id}/{decision}", json={})

    # When the step is retried with a new token
    again = workflow_approvals.open_approval(ctx, APPROVAL, "token-of-the-retry")

    # Then the same approval, and the new token is completed with the recorded decision
    assert again.id == first.id and again.status.value == ("APPROVED" if decision == "approve" else "REJECTED")
    assert [(c.id, c.task_token, c.status) for c in completed] == [(first.id, "token-of-the-retry", again.status)]
    events = new_user.ok("GET", f"/tasks/{ctx.task_id}")["events"]
    assert [e["type"] for e in events].count("APPROVAL_REQUESTED") == 1


def test_an_approval_that_names_only_people_who_are_not_members_says_nobody_can_decide_it(
    new_user: ApiSession,
) -> None:
    # Saved and opened without a word, it had left its task waiting out the whole timeout (up to 23 hours).
    agent = new_user.create_agent()
    assert new_user.org_id
    member_email = new_user.ok("GET", "/me")["user"]["email"]
    messages = {}
    for emails in (["stranger@example.com"], ["stranger@example.com", member_email.upper()]):
        task_id = insert_task(new_user.org_id, agent["id"], "pay_supplier", status="RUNNING")
        approval = APPROVAL.model_copy(update={"approvers": Approvers(roles=[], emails=emails)})
        workflow_approvals.open_approval(_context(new_user, agent, task_id), approval, "token-never-sent")
        [requested] = [
            e for e in new_user.ok("GET", f"/tasks/{task_id}")["events"] if e["type"] == "APPROVAL_REQUESTED"
        ]
        messages[len(emails)] = requested["message"]

    assert "none of them is a member of the organisation, so nobody can decide it" in messages[1]
    assert "none of them" not in messages[2]

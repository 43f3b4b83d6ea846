"""Approvals inside running workflows, end to end through the real state machine file on the embedded stack:
the execution pauses on AwaitApproval's task token, the API's approve / reject completes it (SendTaskSuccess /
SendTaskFailure), and a timeout fails or skips as the node says."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from phi.db.connection import transaction
from phi.workflows.sweeper import fail_overdue_tasks
from tests.conftest import apply_settings
from tests.support.api import ApiSession
from tests.support.e2e import event_types
from tests.support.invitations import invite_and_accept
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def _flow(**approval: Any) -> dict[str, Any]:
    return {
        "key": "pay_supplier",
        "name": "Pay a supplier",
        "inputs": {"amount": {"type": "integer", "required": True}},
        "nodes": [
            {"id": "large", "kind": "condition", "settings": {"expression": {">": [{"var": "inputs.amount"}, 100]}}},
            {
                "id": "approve",
                "kind": "approval",
                "settings": {
                    "title": "Pay {{ inputs.amount }} EUR?",
                    "summary": "Over the limit: {{ large.value }}",
                    "timeout_seconds": 600,
                    **approval,
                },
            },
            {
                "id": "report",
                "kind": "render",
                "settings": {"template": "sections", "title": "Paid {{ inputs.amount }}"},
            },
        ],
        "edges": [["large", "approve"], ["approve", "report"]],
    }


def _start(session: ApiSession, **approval: Any) -> tuple[dict[str, Any], str]:
    agent = session.create_agent()
    session.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": _flow(**approval)})
    run = session.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "pay_supplier", "input": {"amount": 250}})
    return agent, run["task_id"]


def _pending(session: ApiSession, task_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        listed = session.ok(
            "GET", f"/orgs/{session.org_id}/approvals", params={"status": "PENDING", "task_id": task_id}
        )
        return listed[0] if listed else None

    found: dict[str, Any] = wait_until(find, timeout=120, interval=0.2)
    return found


def _member(api_url: str, owner: ApiSession, role: str) -> ApiSession:
    member = ApiSession(api_url)
    member.sign_up(f"member-{uuid.uuid4().hex[:12]}@example.com")
    invite_and_accept(owner, str(owner.org_id), member, role)
    return member


def test_an_approval_pauses_the_task_until_an_approver_approves(new_user: ApiSession, api_url: str) -> None:
    # Given a workflow whose approval node waits for owners and admins
    agent, task_id = _start(new_user)

    # When the task reaches it, the execution waits and the organisation's pending list shows what awaits whom
    pending = _pending(new_user, task_id)
    assert pending["title"] == "Pay 250 EUR?" and pending["summary"] == "Over the limit: True"
    assert pending["approvers"] == {"roles": ["OWNER", "ADMIN"], "emails": []}
    assert pending["agent_id"] == agent["id"] and pending["can_decide"] is True
    assert "task_token" not in str(new_user.ok("GET", f"/approvals/{pending['id']}"))
    assert new_user.ok("GET", f"/tasks/{task_id}")["status"] == "RUNNING"

    # Then a plain member may not decide, and another organisation does not see it
    member = _member(api_url, new_user, "MEMBER")
    assert member.ok("GET", f"/approvals/{pending['id']}")["can_decide"] is False
    refused = member.request("POST", f"/approvals/{pending['id']}/approve", json={})
    assert refused.status_code == 403, refused.text
    stranger = ApiSession(api_url)
    stranger.sign_up(f"stranger-{uuid.uuid4().hex[:12]}@example.com")
    assert stranger.request("GET", f"/approvals/{pending['id']}").status_code == 404
    assert stranger.request("POST", f"/approvals/{pending['id']}/approve", json={}).status_code == 404

    # When an admin approves, the task resumes from its checkpoint with the decision in its state
    admin = _member(api_url, new_user, "ADMIN")
    decided = admin.ok("POST", f"/approvals/{pending['id']}/approve", json={"comment": "Checked the invoice."})
    assert decided["status"] == "APPROVED" and decided["decided_by"].startswith("member-")
    task = new_user.wait_for_task(task_id, timeout=180)
    assert task["status"] == "SUCCEEDED", task
    assert task["output"]["workflow"]["ran"] == ["large", "approve", "report"]
    assert "Checked the invoice." in task["output"]["markdown"]
    types = event_types(task)
    assert types.index("APPROVAL_REQUESTED") < types.index("APPROVAL_APPROVED") < types.index("TASK_COMPLETED")
    approved = next(e for e in task["events"] if e["type"] == "APPROVAL_APPROVED")
    assert (
        approved["data"]["comment"] == "Checked the invoice."
        and approved["data"]["decided_by"] == decided["decided_by"]
    )

    # And it is decided once
    again = new_user.request("POST", f"/approvals/{pending['id']}/reject", json={})
    assert again.status_code == 409, again.text
    assert (
        new_user.ok("GET", f"/orgs/{new_user.org_id}/approvals", params={"task_id": task_id})[0]["status"] == "APPROVED"
    )


def test_a_rejection_fails_the_task_with_who_and_why(new_user: ApiSession) -> None:
    _, task_id = _start(new_user)
    pending = _pending(new_user, task_id)

    new_user.ok("POST", f"/approvals/{pending['id']}/reject", json={"comment": "Wrong supplier."})

    task = new_user.wait_for_task(task_id, timeout=180)
    assert task["status"] == "FAILED", task
    assert task["error"]["error"] == "Approval.Rejected"
    assert "Wrong supplier." in task["error"]["cause"]
    assert "APPROVAL_REJECTED" in event_types(task)


def test_a_timeout_fails_the_task_when_the_node_says_fail(new_user: ApiSession) -> None:
    _, task_id = _start(new_user, timeout_seconds=2)

    task = new_user.wait_for_task(task_id, timeout=180)

    assert task["status"] == "FAILED", task
    assert task["error"]["error"] == "Approval.TimedOut"
    [approval] = new_user.ok("GET", f"/orgs/{new_user.org_id}/approvals", params={"task_id": task_id})
    assert approval["status"] == "TIMED_OUT" and approval["can_decide"] is False
    late = new_user.request("POST", f"/approvals/{approval['id']}/approve", json={})
    assert late.status_code == 409, late.text
    assert "APPROVAL_TIMED_OUT" in event_types(task)


def test_a_timeout_skips_the_node_and_what_needs_it_when_the_node_says_skip(new_user: ApiSession) -> None:
    _, task_id = _start(new_user, timeout_seconds=2, on_timeout="skip")

    task = new_user.wait_for_task(task_id, timeout=180)

    assert task["status"] == "SUCCEEDED", task
    assert task["output"]["workflow"]["ran"] == ["large"]
    assert task["output"]["workflow"]["skipped"] == ["approve", "report"]
    assert "APPROVAL_TIMED_OUT" in event_types(task)


def test_waiting_for_a_decision_does_not_count_against_the_task_deadline(
    new_user: ApiSession, settings_override: dict[str, str]
) -> None:
    # Given a one-hour task deadline and a task waiting for a decision (ten minutes at most)
    apply_settings({"PHI_TASK_DEADLINE_SECONDS": "3600"})
    _, task_id = _start(new_user)
    pending = _pending(new_user, task_id)
    with transaction() as conn:
        started_at = conn.execute("SELECT started_at FROM tasks WHERE id = %s", (UUID(task_id),)).fetchone()
    started, expires = started_at["started_at"], datetime.fromisoformat(pending["expires_at"])

    # When the sweeper runs an hour and five minutes after the start, the waiting time is not held against it
    fail_overdue_tasks(now=started + timedelta(seconds=3900))
    assert new_user.ok("GET", f"/tasks/{task_id}")["status"] == "RUNNING"

    # When it runs an hour after the approval expired, the task is failed and its approval cancelled
    fail_overdue_tasks(now=expires + timedelta(seconds=3601))
    task = new_user.ok("GET", f"/tasks/{task_id}")
    assert task["status"] == "FAILED" and task["error"]["error"] == "Task.DeadlineExceeded"
    assert new_user.ok("GET", f"/approvals/{pending['id']}")["status"] == "CANCELLED"

"""The `approval` node with fake ports: approved, rejected, timed out (fail or skip), the live port's interrupt,
and the outcome Think resumes a workflow with, read from the recorded approval."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from phi.definitions.document import validate_definition
from phi.domain.models import Approval, ApprovalStatus, EventType, OrgRole
from phi.errors import InvalidDefinition
from phi.services.approvals import may_decide
from phi.workflows.approvals import approval_outcome
from phi.workflows.compiler import compile_definition
from phi.workflows.contracts import ApprovalOutcome, ApprovalRequest, ToolOutcome, ToolRequest
from phi.workflows.live_ports import APPROVAL_INTERRUPT_KEY, PersonApprovals
from phi.workflows.ports import graph_config
from tests.support.fake_ports import FakeApprovals, FakeEvents, fake_ports, snapshot

START = {"task_id": "t", "org_id": "o", "agent_id": "a"}
DECIDED_AT = "2026-11-21T07:05:00+00:00"


def _payment(approval_settings: dict[str, Any] | None = None, when: Any = None) -> dict[str, Any]:
    return {
        "key": "pay_supplier",
        "name": "Pay a supplier",
        "inputs": {"amount": {"type": "integer", "required": True}, "payee": {"type": "string", "default": "ACME"}},
        "nodes": [
            {"id": "large", "kind": "condition", "settings": {"expression": {">": [{"var": "inputs.amount"}, 100]}}},
            {
                "id": "approve",
                "kind": "approval",
                "settings": {
                    "title": "Pay {{ inputs.amount }} EUR to {{ inputs.payee }}?",
                    "summary": "Large payment: {{ large.value }}",
                    "timeout_seconds": 600,
                    **(approval_settings or {}),
                },
            },
            {"id": "paid", "kind": "condition", "settings": {"expression": {"var": "inputs.amount"}}},
        ],
        "edges": [["large", "approve"], {"from": "approve", "to": "paid", **({"when": when} if when else {})}],
    }


def _no_tools(request: ToolRequest) -> ToolOutcome:
    raise AssertionError("no tool is called")


def _decision(decision: str, **extra: Any) -> Any:
    def answer(request: ApprovalRequest) -> ApprovalOutcome:
        return ApprovalOutcome(decision=decision, **extra)  # type: ignore[arg-type]

    return answer


def _run(document: dict[str, Any], answer: Any) -> tuple[dict[str, Any], Any]:
    ports = fake_ports(snapshot(task_type="pay_supplier", task_input={"amount": 250}), _no_tools, approvals=answer)
    graph = compile_definition(validate_definition(document)).compile()
    return graph.invoke(START, graph_config("t", ports)), ports


def test_an_approved_node_records_who_when_and_why_and_the_graph_goes_on() -> None:
    values, ports = _run(
        _payment(),
        _decision("approved", decided_by="boss@example.com", decided_at=DECIDED_AT, comment="fine"),
    )
    assert values["failure"] is None
    assert values["results"]["approve"] == {
        "decision": "approved",
        "decided_by": "boss@example.com",
        "decided_at": DECIDED_AT,
        "comment": "fine",
    }
    assert values["ran"] == ["large", "approve", "paid"]
    assert isinstance(ports.approvals, FakeApprovals)
    [request] = ports.approvals.requests
    assert request.title == "Pay 250 EUR to ACME?" and request.summary == "Large payment: True"
    assert request.approvers.roles == ["OWNER", "ADMIN"] and request.approvers.emails == []
    assert request.timeout_seconds == 600 and request.on_timeout == "fail"


def test_named_approvers_alone_decide_when_no_role_is_given() -> None:
    _, ports = _run(
        _payment({"approvers": {"emails": ["cfo@example.com"]}}),
        _decision("approved", decided_by="cfo@example.com", decided_at=DECIDED_AT),
    )
    [request] = ports.approvals.requests
    assert request.approvers.roles == [] and request.approvers.emails == ["cfo@example.com"]


def test_a_rejection_fails_the_task_with_the_comment_by_default() -> None:
    values, _ = _run(_payment(), _decision("rejected", decided_by="boss@example.com", comment="too much"))
    assert values["failure"] == {
        "error": "Approval.Rejected",
        "cause": "Node approve: rejected by boss@example.com: too much",
    }
    assert "paid" not in values["ran"]


def test_a_rejection_can_steer_edges_instead() -> None:
    approved_only = {"==": [{"var": "approve.decision"}, "approved"]}
    values, _ = _run(_payment({"on_reject": "continue"}, when=approved_only), _decision("rejected"))
    assert values["failure"] is None
    assert values["results"]["approve"]["decision"] == "rejected"
    assert values["skipped"] == ["paid"]
    assert values["output"]["workflow"]["ran"] == ["large", "approve"]


def test_a_timeout_fails_or_skips_as_the_node_says() -> None:
    failed, _ = _run(_payment(), _decision("timed_out"))
    assert failed["failure"] == {"error": "Approval.TimedOut", "cause": "Node approve: no decision within 600 s"}

    skipped, ports = _run(_payment({"on_timeout": "skip"}), _decision("timed_out"))
    assert skipped["failure"] is None
    assert skipped["skipped"] == ["approve", "paid"]  # what needs the approval is skipped with it
    assert "approve" not in skipped["results"]
    assert isinstance(ports.events, FakeEvents)
    assert (EventType.NODE_SKIPPED, "approve skipped: no decision within 600 s", {"node": "approve"}) in (
        ports.events.recorded
    )


def test_a_failed_approval_step_fails_the_node_with_its_error() -> None:
    values, _ = _run(_payment(), _decision("error", error="Approval.Cancelled", cause="the task was stopped"))
    assert values["failure"]["error"] == "Approval.Cancelled"


def test_without_an_approvals_port_the_node_fails_saying_so() -> None:
    ports = fake_ports(snapshot(task_type="pay_supplier", task_input={"amount": 250}), _no_tools)
    graph = compile_definition(validate_definition(_payment())).compile()
    values = graph.invoke(START, graph_config("t", ports))
    assert values["failure"]["error"] == "Approval.Unavailable"


def test_the_live_port_suspends_the_graph_until_think_resumes_it_with_the_decision() -> None:
    ports = fake_ports(snapshot(task_type="pay_supplier", task_input={"amount": 250}), _no_tools)
    ports.approvals = PersonApprovals()
    graph = compile_definition(validate_definition(_payment())).compile(checkpointer=InMemorySaver())
    config = graph_config("approval", ports)
    graph.invoke(START, config)
    [pending] = graph.get_state(config).interrupts
    request = ApprovalRequest.model_validate(pending.value[APPROVAL_INTERRUPT_KEY])
    assert request.node_id == "approve" and request.title == "Pay 250 EUR to ACME?"
    assert graph.get_state(config).values["ran"] == ["large"]  # checkpointed before the approval

    outcome = ApprovalOutcome(decision="approved", decided_by="boss@example.com", decided_at=DECIDED_AT)
    graph.invoke(Command(resume=outcome.model_dump()), config)
    state = graph.get_state(config)
    assert not state.interrupts
    assert state.values["results"]["approve"]["decided_by"] == "boss@example.com"
    assert state.values["ran"] == ["large", "approve", "paid"]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({}, "timeout_seconds"),
        ({"timeout_seconds": 24 * 3600}, "timeout_seconds"),
        ({"timeout_seconds": 60, "on_timeout": "approve"}, "on_timeout"),
        ({"timeout_seconds": 60, "approvers": {"roles": ["BOSS"]}}, "approvers"),
        ({"timeout_seconds": 60, "approvers": {"emails": ["not an e-mail"]}}, "approvers"),
    ],
)
def test_approval_settings_are_validated(settings: dict[str, Any], field: str) -> None:
    document = _payment()
    document["nodes"][1]["settings"] = settings
    with pytest.raises(InvalidDefinition) as raised:
        validate_definition(document)
    assert field in str(raised.value.details)


def _recorded(status: ApprovalStatus, **extra: Any) -> Approval:
    now = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
    return Approval(
        id=uuid4(),
        org_id=uuid4(),
        agent_id=uuid4(),
        task_id=uuid4(),
        step=2,
        node_id="approve",
        title="t",
        summary="",
        approver_roles=[OrgRole.OWNER],
        approver_emails=["cfo@example.com"],
        on_timeout="fail",
        status=status,
        requested_at=now,
        expires_at=now + timedelta(minutes=10),
        **extra,
    )


def test_think_resumes_with_the_recorded_decision_not_with_what_the_step_returned() -> None:
    decided_at = datetime(2026, 11, 21, 7, 5, tzinfo=UTC)
    approved = _recorded(
        ApprovalStatus.APPROVED, decided_by_email="cfo@example.com", decided_at=decided_at, comment="ok"
    )
    outcome = approval_outcome(approved, {"Error": "States.Timeout"})  # decided just before the step timed out
    assert (outcome.decision, outcome.decided_by, outcome.comment) == ("approved", "cfo@example.com", "ok")
    assert outcome.decided_at == decided_at.isoformat()
    assert approval_outcome(_recorded(ApprovalStatus.REJECTED), {"Error": "Approval.Rejected"}).decision == "rejected"
    assert approval_outcome(_recorded(ApprovalStatus.PENDING), {"Error": "States.Timeout"}).decision == "timed_out"
    lost = approval_outcome(_recorded(ApprovalStatus.PENDING), {"Error": "Lambda.Unknown", "Cause": "boom"})
    assert (lost.decision, lost.error, lost.cause) == ("error", "Lambda.Unknown", "boom")
    never = approval_outcome(None, {"Error": "States.TaskFailed", "Cause": "database down"})
    assert (never.decision, never.error) == ("error", "States.TaskFailed")
    assert approval_outcome(_recorded(ApprovalStatus.CANCELLED), {}).error == "Approval.Cancelled"


def test_who_may_decide() -> None:
    approval = _recorded(ApprovalStatus.PENDING)
    assert may_decide(approval, OrgRole.OWNER, "someone@example.com")
    assert not may_decide(approval, OrgRole.ADMIN, "someone@example.com")
    assert may_decide(approval, OrgRole.MEMBER, "CFO@example.com")
    assert not may_decide(approval, None, "cfo@example.com")  # not a member of the organisation


def test_an_approval_step_s_lambda_error_reaches_the_workflow_without_its_stack_trace() -> None:
    cause = json.dumps({"errorMessage": "bad \ud800 title", "errorType": "DataError", "stackTrace": ["/var/task/x"]})
    outcome = approval_outcome(None, {"Error": "DataError", "Cause": cause})
    assert (outcome.error, outcome.cause) == ("DataError", "bad   title")

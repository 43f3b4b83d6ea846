"""What a definition may do outside the platform, through the API on the embedded stack: e-mail goes only to
the recipients of the agent's email tool (checked when the definition is validated for the agent — a request's
pipeline, a saved workflow, a proposal — and again when the notify node sends), and in a one-off request a
webhook or an `http` POST needs an owner or admin; refusals are kept like any refused request."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.api.tenant_fixtures import signed_up
from tests.support.api import ApiSession
from tests.support.invitations import invite_and_accept

OPS = "ops@example.com"


@dataclass
class Org:
    owner: ApiSession
    admin: ApiSession
    member: ApiSession


@pytest.fixture(scope="module")
def org(api_url: str) -> Org:
    owner, admin, member = (signed_up(api_url, p) for p in ("owner", "admin", "member"))
    org_id = owner.create_org("Sender Ltd")
    for session, role in ((admin, "ADMIN"), (member, "MEMBER")):
        invite_and_accept(owner, org_id, session, role)
    return Org(owner=owner, admin=admin, member=member)


def _agent(org: Org, recipients: list[str] | None) -> str:
    tools: dict[str, Any] = {"db": {}}
    if recipients is not None:
        tools["email"] = {"recipients": recipients}
    return str(org.owner.create_agent(tools=tools)["id"])


def _mail(to: list[str], node_id: str = "mail") -> dict[str, Any]:
    settings = {"channel": "email", "to": to, "subject": "Invoice from Sender Ltd", "body": "Pay to XX"}
    return {"id": node_id, "kind": "notify", "settings": settings}


def _one_node(node: dict[str, Any]) -> dict[str, Any]:
    return {"nodes": [node], "edges": [], "output": node["id"]}


def _ask(session: ApiSession, agent_id: str, pipeline: dict[str, Any]) -> Any:
    return session.request("POST", f"/agents/{agent_id}/requests", json={"prompt": "one-off", "pipeline": pipeline})


def _sent_to(session: ApiSession, address: str) -> list[dict[str, Any]]:
    outbox = session.ok("GET", f"/orgs/{session.org_id}/outbox", params={"channel": "email", "limit": 200})
    return [m for m in outbox if address in m["recipients"] and m["status"] in ("CAPTURED", "SENT")]


def _kept_refusal(session: ApiSession, agent_id: str, response: Any) -> dict[str, Any]:
    request_id = response.json()["error"]["details"]["request_id"]
    kept: dict[str, Any] = session.ok("GET", f"/agents/{agent_id}/requests/{request_id}")
    assert kept["outcome"] == "refused" and kept["status"] == "REFUSED"
    return kept


def test_a_member_mails_only_the_configured_recipients_whatever_the_case(org: Org) -> None:
    agent_id = _agent(org, [OPS, "Night.Shift@Example.com"])
    refused = _ask(org.member, agent_id, _one_node(_mail([OPS, "attacker@evil.example"])))

    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_definition"
    assert "node 'mail', nodes[0].settings.to: attacker@evil.example is not among the recipients" in error["message"]
    assert _kept_refusal(org.member, agent_id, refused)["refusal"]["code"] == "invalid_definition"
    assert _sent_to(org.owner, "attacker@evil.example") == []

    created = _ask(org.member, agent_id, _one_node(_mail(["night.shift@EXAMPLE.com"])))
    assert created.status_code == 201, created.text
    task = org.member.wait_for_task(created.json()["task_id"], timeout=120)
    assert task["status"] == "SUCCEEDED", task
    [message] = org.member.ok("GET", f"/orgs/{org.member.org_id}/outbox", params={"task_id": task["id"]})
    assert message["status"] == "CAPTURED" and message["recipients"] == ["night.shift@EXAMPLE.com"]


def test_an_agent_without_the_email_tool_sends_no_email(org: Org) -> None:
    agent_id = _agent(org, None)
    address = "someone@no-tool.example"
    for session in (org.member, org.owner):
        refused = _ask(session, agent_id, _one_node(_mail([address])))
        assert refused.status_code == 400, refused.text
        assert "nodes[0].settings.to: the agent has no email tool" in refused.json()["error"]["message"]
        _kept_refusal(session, agent_id, refused)
    assert _sent_to(org.owner, address) == []


def test_a_saved_workflow_whose_recipient_was_removed_fails_its_delivery_and_sends_nothing(org: Org) -> None:
    address = "removed-later@example.com"
    agent_id = _agent(org, [address])
    definition = {"key": "mail_ops", "name": "Mail ops", **_one_node(_mail([address]))}
    org.admin.ok("POST", f"/agents/{agent_id}/workflows", json={"definition": definition})
    org.owner.ok("PATCH", f"/agents/{agent_id}", json={"tools": {"db": {}, "email": {"recipients": [OPS]}}})

    started = org.member.ok("POST", f"/agents/{agent_id}/run-task", json={"type": "mail_ops", "input": {}})
    task = org.member.wait_for_task(started["task_id"], timeout=120)

    assert task["status"] == "SUCCEEDED", task  # on_error note (the default): the failure is a note
    assert task["output"]["status"] == "FAILED"
    assert f"{address} is not among the recipients of the agent's email tool ({OPS})" in task["output"]["error"]
    assert "the email was not delivered" in task["output"]["note"]
    [message] = org.member.ok("GET", f"/orgs/{org.member.org_id}/outbox", params={"task_id": task["id"]})
    assert message["status"] == "FAILED" and "not among the recipients" in message["error"]
    assert _sent_to(org.owner, address) == []


def test_saving_a_workflow_proposing_or_approving_a_change_that_mails_an_unlisted_address_is_refused(
    org: Org,
) -> None:
    second = "second@example.com"
    agent_id = _agent(org, [OPS, second])
    refused = org.admin.request(
        "POST",
        f"/agents/{agent_id}/workflows",
        json={"definition": {"key": "leak", "name": "Leak", **_one_node(_mail(["boss@elsewhere.example"]))}},
    )
    assert refused.status_code == 400, refused.text
    assert "nodes[0].settings.to: boss@elsewhere.example" in refused.json()["error"]["message"]

    definition = {"key": "mail_ops", "name": "Mail ops", **_one_node(_mail([OPS]))}
    org.admin.ok("POST", f"/agents/{agent_id}/workflows", json={"definition": definition})
    patch = [{"op": "add", "path": "/nodes/0/settings/to/-", "value": "boss@elsewhere.example"}]
    body = {"prompt": "also mail the boss", "patch": patch, "workflow": "mail_ops"}
    proposal = org.member.request("POST", f"/agents/{agent_id}/requests", json=body)
    assert proposal.status_code == 400, proposal.text
    assert "nodes[0].settings.to: boss@elsewhere.example" in proposal.json()["error"]["message"]

    # valid when proposed, no longer when approved: the recipient was removed in between
    patch = [{"op": "add", "path": "/nodes/0/settings/to/-", "value": second}]
    body = {"prompt": "also mail the second shift", "patch": patch, "workflow": "mail_ops"}
    proposal_id = org.member.ok("POST", f"/agents/{agent_id}/requests", json=body)["proposal_id"]
    org.owner.ok("PATCH", f"/agents/{agent_id}", json={"tools": {"db": {}, "email": {"recipients": [OPS]}}})
    approval = org.admin.request("POST", f"/agents/{agent_id}/proposals/{proposal_id}/approve", json={})
    assert approval.status_code == 409, approval.text
    assert f"nodes[0].settings.to: {second} is not among the recipients" in approval.json()["error"]["message"]


WEBHOOK = {
    "id": "hook",
    "kind": "notify",
    "settings": {"channel": "webhook", "url": "https://hooks.example.com/in", "payload": {"pay": "XX"}},
}
POST = {
    "id": "push",
    "kind": "http",
    "settings": {"url": "https://api.example.com/orders", "method": "POST", "body": {"cancel": "all"}},
}


@pytest.mark.parametrize(("node", "field"), [(WEBHOOK, "settings.channel"), (POST, "settings.method")])
def test_a_members_one_off_webhook_or_post_is_forbidden_an_admins_is_accepted(
    org: Org, node: dict[str, Any], field: str
) -> None:
    agent_id = _agent(org, [OPS])

    refused = _ask(org.member, agent_id, _one_node(node))
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "forbidden"
    assert f"Node {node['id']!r} (nodes[0].{field})" in error["message"] and "owner or admin" in error["message"]
    assert _kept_refusal(org.member, agent_id, refused)["refusal"]["code"] == "forbidden"

    for session in (org.admin, org.owner):
        accepted = _ask(session, agent_id, _one_node(node))
        assert accepted.status_code == 201, accepted.text
    # what a member keeps: reading from a partner's API, and e-mail to the configured recipients
    read = {"id": "read", "kind": "http", "settings": {"url": "https://api.example.com/orders"}}
    assert _ask(org.member, agent_id, _one_node(read)).status_code == 201
    assert _ask(org.member, agent_id, _one_node(_mail([OPS]))).status_code == 201


def test_a_members_pipeline_with_a_recipient_built_to_backtrack_is_refused_at_once(org: Org) -> None:
    # The e-mail pattern backtracks quadratically: 80 KB of `a.a.a…` as a recipient held this request's worker
    # for 32 s of CPU (a 256 KiB pipeline, minutes) before the field's length was looked at.
    agent_id = _agent(org, [OPS])
    started = time.monotonic()
    refused = _ask(org.member, agent_id, _one_node(_mail(["a@" + "a." * 40_000 + "@"])))
    assert time.monotonic() - started < 5.0
    assert refused.status_code == 400, refused.text[:500]
    assert "nodes[0].settings.to[0]" in refused.json()["error"]["message"]
    assert "is too long" in refused.json()["error"]["message"]
    assert _kept_refusal(org.member, agent_id, refused)["refusal"]["code"] == "invalid_definition"

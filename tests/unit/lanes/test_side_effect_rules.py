"""The checks on what a definition may do outside the platform: e-mail only to the recipients of the agent's
email tool (case-insensitively, naming the node and `nodes[i].settings.to`), and which nodes are webhooks or
POSTs (for an owner or admin only in a one-off request)."""

from __future__ import annotations

import itertools
from typing import Any
from uuid import uuid4

import pytest

from phi.definitions.document import validate_definition
from phi.definitions.patching import AgentScope, email_problems, outbound_side_effects, validate_for_agent
from phi.domain.models import AgentTool
from phi.domain.recipients import EmailRecipients
from phi.errors import InvalidDefinition

OPS = EmailRecipients(configured=frozenset({"ops@example.com", "leads@example.com"}))


def _email(node_id: str, to: list[str]) -> dict[str, Any]:
    return {"id": node_id, "kind": "notify",
            "settings": {"channel": "email", "to": to, "subject": "Late", "body": "7 late orders"}}  # fmt: skip


def _definition(*nodes: dict[str, Any]) -> dict[str, Any]:
    """The nodes one after the other (a definition's nodes must be connected)."""
    edges = [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]
    return {"key": "alerts", "name": "Alerts", "nodes": list(nodes), "edges": edges}


def test_recipients_come_from_the_email_tool_only() -> None:
    email = AgentTool(tool_id=uuid4(), key="email", config={"recipients": ["Ops@Example.com"]})
    db = AgentTool(tool_id=uuid4(), key="db", config={})
    assert EmailRecipients.of_tools([db, email]).configured == frozenset({"ops@example.com"})
    assert EmailRecipients.of_tools([db]).configured is None


def test_an_address_the_email_tool_does_not_list_is_named_at_its_field() -> None:
    definition = validate_definition(
        _definition(_email("fine", ["ops@example.com"]), _email("leak", ["ops@example.com", "x@evil.example"]))
    )
    [problem] = email_problems(definition, OPS)
    assert (problem.node, problem.field) == ("leak", "nodes[1].settings.to")
    assert "x@evil.example is not among the recipients" in problem.message
    assert "leads@example.com, ops@example.com" in problem.message


def test_addresses_compare_case_insensitively() -> None:
    definition = validate_definition(_definition(_email("alert", ["OPS@example.COM", "Leads@Example.com"])))
    assert email_problems(definition, OPS) == []


def test_an_agent_without_the_email_tool_may_send_no_email() -> None:
    definition = validate_definition(_definition(_email("alert", ["ops@example.com"])))
    [problem] = email_problems(definition, EmailRecipients(configured=None))
    assert problem.field == "nodes[0].settings.to" and "has no email tool" in problem.message


def test_validate_for_agent_refuses_with_the_node_and_field() -> None:
    scope = AgentScope(operations=frozenset({"db.query"}), email=OPS)
    with pytest.raises(InvalidDefinition) as refused:
        validate_for_agent(_definition(_email("mail", ["attacker@evil.example"])), scope)
    assert "node 'mail', nodes[0].settings.to: attacker@evil.example" in refused.value.message
    assert refused.value.details["errors"][0]["field"] == "nodes[0].settings.to"
    # the default scope has no email tool: a caller that forgets the recipients refuses, never allows
    with pytest.raises(InvalidDefinition, match="no email tool"):
        validate_for_agent(_definition(_email("mail", ["ops@example.com"])), AgentScope(operations=frozenset()))
    definition, _ = validate_for_agent(_definition(_email("mail", ["ops@example.com"])), scope)
    assert definition.nodes[0].id == "mail"


def test_webhooks_and_posts_are_outbound_side_effects_gets_and_email_are_not() -> None:
    definition = validate_definition(
        _definition(
            _email("mail", ["ops@example.com"]),
            {"id": "hook", "kind": "notify", "settings": {"channel": "webhook", "url": "https://hooks.example.com/x"}},
            {"id": "push", "kind": "http", "settings": {"url": "https://api.example.com/orders", "method": "POST"}},
            {"id": "read", "kind": "http", "settings": {"url": "https://api.example.com/orders"}},
            {"id": "read2", "kind": "http", "settings": {"url": "https://api.example.com/orders", "method": "GET"}},
        )
    )
    found = outbound_side_effects(definition)
    assert [(p.node, p.field) for p in found] == [
        ("hook", "nodes[1].settings.channel"),
        ("push", "nodes[2].settings.method"),
    ]

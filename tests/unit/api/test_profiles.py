"""Profile parsing (LLM answers) and the template profile."""

from __future__ import annotations

import json
import uuid

import pytest

from phi.db.documents import ProfileSource
from phi.domain.models import Industry, RoleTemplate, Tool
from phi.services.profiles import (
    AgentProfile,
    ProfileContext,
    ProfileParseError,
    parse_profile,
    role_templates,
    template_profile,
)

VALID = {
    "system_prompt": "You are a warehouse analyst. Compute KPIs in code and cite the SOPs you rely on.",
    "capabilities": ["Compute KPIs"],
    "example_workflows": [{"name": "Daily report", "trigger": "07:00", "steps": ["Fetch data", "Write report"]}],
    "tool_usage_rules": ["Read-only SQL"],
    "safety_constraints": ["Never invent numbers"],
}


def _context(**overrides: object) -> ProfileContext:
    industry = Industry(id=uuid.uuid4(), key="logistics", name="Logistics & Warehousing")
    role = RoleTemplate(
        id=uuid.uuid4(),
        industry_id=industry.id,
        industry_key="logistics",
        key="warehouse_analyst",
        name="Warehouse analyst",
        description="Analyses daily warehouse operations.",
        default_capabilities=["Compute daily warehouse KPIs"],
        default_tools=["db"],
        default_workflows=[{"type": "DAILY_WAREHOUSE_REPORT", "schedule": "0 7 * * *", "timezone": "UTC"}],
    )
    db = Tool(
        id=uuid.uuid4(),
        key="db",
        name="Warehouse database",
        description="SQL",
        runs_on="LOCAL",
        operations=["db.query"],
        config_schema={},
        available=True,
    )
    values: dict[str, object] = {
        "agent_name": "Leeds analyst",
        "industry": industry,
        "role": role,
        "tools": [db],
        "sources": [],
        "templates": role_templates(role),
    }
    values.update(overrides)
    if "role" in overrides:
        values["templates"] = role_templates(overrides["role"])  # type: ignore[arg-type]
    return ProfileContext.model_validate(values)


@pytest.mark.parametrize(
    "text",
    [json.dumps(VALID), f"```json\n{json.dumps(VALID)}\n```", f"  ```\n{json.dumps(VALID, indent=2)}\n```  "],
)
def test_a_json_answer_parses_with_or_without_a_code_fence(text: str) -> None:
    assert parse_profile(text) == AgentProfile.model_validate(VALID)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Sure! Here is the profile: {", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({**VALID, "capabilities": []}), "capabilities"),
        (json.dumps({**VALID, "system_prompt": "short"}), "system_prompt"),
        (json.dumps({**VALID, "secret_backdoor": "x"}), "secret_backdoor"),
        (json.dumps({k: v for k, v in VALID.items() if k != "safety_constraints"}), "safety_constraints"),
    ],
)
def test_unusable_answers_are_rejected_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ProfileParseError, match=reason):
        parse_profile(text)


def test_the_template_profile_uses_the_role_tools_documents_and_instructions() -> None:
    source = ProfileSource(filename="sop-picking.md", source_type="SOP", heading="Picking", text="Pick fast.")
    profile = template_profile(_context(sources=[source], instructions="Two shifts."))

    assert profile.system_prompt.startswith("You are Leeds analyst, a warehouse analyst in logistics & warehousing.")
    assert "sop-picking.md" in profile.system_prompt and "Two shifts." in profile.system_prompt
    assert "db.query" in profile.system_prompt
    assert profile.capabilities == ["Compute daily warehouse KPIs"]
    assert profile.example_workflows[0].trigger == "Schedule 0 7 * * * (UTC)"
    # proposed from the template catalogue: the daily warehouse report, its steps its nodes
    assert profile.example_workflows[0].name == "Daily warehouse report"
    assert "All figures of the day, in code" in " ".join(profile.example_workflows[0].steps)
    assert profile.tool_usage_rules[0].startswith("Query the warehouse database only through db.query")
    assert any("Never invent figures" in rule for rule in profile.safety_constraints)


def test_the_template_profile_without_a_role_is_still_valid() -> None:
    profile = template_profile(_context(role=None, industry=None, tools=[]))
    assert profile.capabilities and profile.example_workflows == [] and profile.tool_usage_rules == []


def test_the_profile_model_is_given_the_roles_workflow_catalogue_to_propose_from() -> None:
    from phi.services.profiles import profile_messages

    system, user = profile_messages(_context())
    facts = json.loads(user.content)
    assert [w["template"] for w in facts["workflow_catalogue"]] == ["daily_warehouse_report"]
    assert facts["workflow_catalogue"][0]["trigger"] == "Schedule 0 7 * * * (UTC)"
    assert "from the workflow catalogue" in system.content
    assert profile_messages(_context(role=None))[1].content.count("daily_warehouse_report") == 0

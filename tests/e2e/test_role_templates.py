"""The catalogue's templates for the other seeded roles, end to end on the embedded stack: the ops_manager's
shift handover and the safety_officer's weekly incident summary, run through the API with a real local agent
(a separate process) on the sample SQLite warehouse, their SOPs uploaded and ingested, every figure compared
with SQL written independently in tests/support/role_reference.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phi.definitions.document import to_document, validate_definition
from phi.definitions.templates import get_template
from tests.support.api import ApiSession
from tests.support.e2e import REPORT_DAY, StartAgent, event_types
from tests.support.role_reference import handover_reference, weekly_reference
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def _agent_with(session: ApiSession, role: str, template: str) -> dict[str, Any]:
    """An agent of the role (with just the database tool): the role template names the catalogue's workflow,
    stored as the agent's version 1 with the template's schedule in the site's time zone."""
    role_tools = next(r for r in session.ok("GET", "/role-templates") if r["key"] == role)["default_tools"]
    assert "db" in role_tools
    agent = session.ok(
        "POST",
        f"/orgs/{session.org_id}/agents",
        json={"role_key": role, "tools": {"db": {"url_env": "PHI_WAREHOUSE_DB_URL"}}},
    )
    workflow_key = get_template(template).workflow_key
    assert [w["type"] for w in agent["config"]["workflows"]] == [workflow_key]
    stored = session.ok("GET", f"/agents/{agent['id']}/workflows/{workflow_key}")
    as_stored = to_document(validate_definition(get_template(template).definition))
    # the template's schedule, at its hour on the site's clock (the agent's warehouse time zone)
    site = {**as_stored["schedule"], "timezone": agent["config"]["warehouse_timezone"]}
    assert stored["version"]["source"] == "template" and stored["definition"] == {**as_stored, "schedule": site}
    return agent


def _teach(session: ApiSession, agent: dict[str, Any], name: str, data: bytes) -> None:
    uploaded = session.ok(
        "POST", f"/agents/{agent['id']}/documents", files={"file": (name, data)}, data={"source_type": "SOP"}
    )
    wait_until(
        lambda: session.ok("GET", f"/agents/{agent['id']}/documents/{uploaded['id']}")["status"] == "READY",
        timeout=300,
    )


def _run(session: ApiSession, agent: dict[str, Any], task_type: str, task_input: dict[str, Any]) -> dict[str, Any]:
    run = session.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": task_type, "input": task_input})
    return session.wait_for_task(run["task_id"], timeout=300)


def test_shift_handover_figures_match_independent_sql(
    new_user: ApiSession, warehouse_db: Path, start_local_agent: StartAgent
) -> None:
    from phi.embedded.sample_sops import SHIPPING_SOP, shipping_sop_docx

    # Given an operations manager with the shift handover, the shipping SOP, and a local agent by the database
    agent = _agent_with(new_user, "ops_manager", "shift_handover")
    _teach(new_user, agent, "SOP-OUT-04.docx", shipping_sop_docx())
    start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")
    day = REPORT_DAY.replace(day=14)  # seed 7's late-spike day: a carrier missed its pickups from 13:00

    # When the late shift of that day is handed over
    task = _run(new_user, agent, "SHIFT_HANDOVER", {"date": day.isoformat(), "shift": "late"})

    # Then every figure is the database's own
    assert task["status"] == "SUCCEEDED", task["error"]
    figures, expected = task["output"]["figures"], handover_reference(warehouse_db, day, "late")
    assert figures["backlog"]["orders"] == expected["backlog"]["orders"] > 0
    assert figures["backlog"]["express"] == expected["backlog"]["express"]
    assert figures["backlog"]["past_promise"] == expected["backlog"]["past_promise"]
    assert figures["backlog"]["oldest_created_at"] == expected["backlog"]["oldest"]
    assert figures["late"]["by_carrier"] == expected["by_carrier"]
    kinds = figures["exceptions"]["by_kind"].items()
    assert {k: v["raised_this_shift"] for k, v in kinds if v["raised_this_shift"]} == expected["raised_by_kind"]
    assert {k: v["open_at_handover"] for k, v in kinds if v["open_at_handover"]} == expected["open_by_kind"]
    assert figures["exceptions"]["open_ids"] == expected["open_ids"]
    assert expected["raised_by_kind"]["missed_pickup"] == 3  # the 16:00, 19:00 and 21:30 waves
    # And the note cites the uploaded SOP's own words, the task ran the version stored, through the local agent
    markdown = task["output"]["markdown"]
    sop_text = " ".join(text for _, text in SHIPPING_SOP)
    assert task["output"]["citations"], markdown
    for citation in task["output"]["citations"]:
        assert citation["document"] == "SOP-OUT-04.docx"
        assert citation["text"].split("\n")[-1][:80] in sop_text
    for carrier, c in expected["by_carrier"].items():
        assert f"| {carrier} | {c['due']} | {c['late']} |" in markdown
    assert task["workflow_version_id"] is not None
    types = event_types(task)
    assert types.count("TOOL_REQUESTED") == types.count("TOOL_COMPLETED") == 4
    assert types[-1] == "TASK_COMPLETED"


def test_weekly_incident_summary_figures_match_independent_sql(
    new_user: ApiSession, warehouse_db: Path, start_local_agent: StartAgent
) -> None:
    from phi.embedded.sample_sops import SAFETY_SOP

    # Given a safety officer with the weekly summary, the incident SOP, and a local agent by the database
    agent = _agent_with(new_user, "safety_officer", "weekly_incident_summary")
    _teach(new_user, agent, "SOP-SAF-01.md", SAFETY_SOP.encode())
    start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")

    # When the week ending on the sample's last day is summarised
    task = _run(
        new_user,
        agent,
        "WEEKLY_INCIDENT_SUMMARY",
        {"week_ending": REPORT_DAY.isoformat(), "timezone": "Europe/London"},
    )

    # Then the counts by type and zone and the overdue actions are the database's own
    assert task["status"] == "SUCCEEDED", task["error"]
    figures, expected = task["output"]["figures"], weekly_reference(warehouse_db, REPORT_DAY)
    assert figures["incidents"] == expected["incidents"] > 0
    assert figures["by_type"] == expected["by_type"]
    assert figures["by_zone"] == expected["by_zone"]
    assert sorted(figures["overdue_action_ids"]) == sorted(expected["overdue"]) != []
    assert figures["overdue_by_owner"] == expected["overdue_by_owner"]
    markdown = task["output"]["markdown"]
    for action_id, days in expected["overdue"].items():
        assert f"| {action_id} |" in markdown and f"| {days} |" in markdown
    # And it cites the SOP on overdue actions (the search ran on the uploaded document)
    cited = task["output"]["citations"]
    assert cited and {c["document"] for c in cited} == {"SOP-SAF-01.md"}
    assert any("overdue" in c["text"] for c in cited), cited
    assert "Narrative analysis needs an LLM" in markdown

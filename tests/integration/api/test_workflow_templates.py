"""The workflow template catalogue through the API, and what a new agent gets from it: its role's templates
stored as version 1 (source template) in the same unit of work, with the schedules the definitions carry."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from phi.definitions.templates import TEMPLATES_DIR
from tests.integration.api.tenant_fixtures import sql
from tests.support.api import ApiSession


def _file(key: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((TEMPLATES_DIR / f"{key}.json").read_text())
    return loaded


def test_the_catalogue_lists_and_shows_templates_to_any_signed_in_user(new_user: ApiSession, api_url: str) -> None:
    listed = new_user.ok("GET", "/workflow-templates")
    by_key = {t["key"]: t for t in listed}
    assert by_key["daily_warehouse_report"]["workflow_key"] == "DAILY_WAREHOUSE_REPORT"
    assert by_key["daily_warehouse_report"]["role"] == "warehouse_analyst"
    assert "definition" not in by_key["daily_warehouse_report"]
    analysts = new_user.ok("GET", "/workflow-templates", params={"role_key": "warehouse_analyst"})
    assert {t["role"] for t in analysts} == {"warehouse_analyst"}
    assert new_user.ok("GET", "/workflow-templates", params={"industry_key": "no_such_industry"}) == []

    shown = new_user.ok("GET", "/workflow-templates/daily_warehouse_report")
    assert shown["definition"] == _file("daily_warehouse_report")["definition"]
    nodes = {n["id"]: n for n in shown["definition"]["nodes"]}
    assert "FROM orders o" in nodes["orders"]["settings"]["sql"]  # the SQL is visible
    missing = new_user.request("GET", "/workflow-templates/no_such_template")
    assert missing.status_code == 404
    anonymous = ApiSession(api_url).request("GET", "/workflow-templates")
    assert anonymous.status_code == 401


def test_a_new_agent_gets_its_roles_templates_as_version_1(new_user: ApiSession) -> None:
    agent = new_user.ok("POST", f"/orgs/{new_user.org_id}/agents", json={"role_key": "warehouse_analyst"})
    base = f"/agents/{agent['id']}/workflows"

    [summary] = new_user.ok("GET", base)
    assert (summary["key"], summary["current_version"]) == ("DAILY_WAREHOUSE_REPORT", 1)
    view = new_user.ok("GET", f"{base}/DAILY_WAREHOUSE_REPORT")
    assert view["version"]["source"] == "template"
    assert view["version"]["reason"] == "Created from the template daily_warehouse_report"
    assert view["version"]["author_email"] == new_user.ok("GET", "/me")["user"]["email"]
    template = _file("daily_warehouse_report")["definition"]
    assert [n["id"] for n in view["definition"]["nodes"]] == [n["id"] for n in template["nodes"]]
    # the schedule is the definition's, and the config's entry says the same
    [schedule] = new_user.ok("GET", f"/agents/{agent['id']}/schedules")
    assert (schedule["workflow_type"], schedule["cron"], schedule["timezone"]) == (
        "DAILY_WAREHOUSE_REPORT",
        template["schedule"]["cron"],
        template["schedule"]["timezone"],
    )
    assert agent["config"]["workflows"][0]["schedule"] == template["schedule"]["cron"]


def test_workflows_given_at_creation_keep_their_schedule_and_a_patch_adds_a_version(new_user: ApiSession) -> None:
    workflow = {"type": "DAILY_WAREHOUSE_REPORT", "schedule": "0 6 * * *", "timezone": "Europe/Berlin"}
    agent = new_user.create_agent(workflows=[workflow])
    base = f"/agents/{agent['id']}/workflows/DAILY_WAREHOUSE_REPORT"
    first = new_user.ok("GET", base)
    assert first["definition"]["schedule"]["cron"] == "0 6 * * *"
    assert first["definition"]["schedule"]["timezone"] == "Europe/Berlin"

    # When the agent's workflows change the schedule, the definition gets a new version with it
    new_user.ok("PATCH", f"/agents/{agent['id']}", json={"workflows": [{**workflow, "schedule": "30 5 * * 1-5"}]})
    second = new_user.ok("GET", base)
    assert second["current_version"] == 2 and second["version"]["source"] == "patch"
    assert second["version"]["author_email"] == new_user.ok("GET", "/me")["user"]["email"]
    assert second["definition"]["schedule"]["cron"] == "30 5 * * 1-5"
    assert [s["cron"] for s in new_user.ok("GET", f"/agents/{agent['id']}/schedules")] == ["30 5 * * 1-5"]

    # And when the workflows no longer name it, it stays runnable but unscheduled
    new_user.ok("PATCH", f"/agents/{agent['id']}", json={"workflows": []})
    assert "schedule" not in new_user.ok("GET", base)["definition"]
    assert new_user.ok("GET", f"/agents/{agent['id']}/schedules") == []


def test_an_agent_created_before_the_catalogue_runs_the_template_itself(new_user: ApiSession) -> None:
    # Given an agent whose stored workflows are gone (as for agents created before templates were stored)
    agent = new_user.create_agent()
    sql("DELETE FROM workflows WHERE agent_id = %s", (UUID(agent["id"]),))

    # When the report is asked for, the input is checked against the template and the task records no version
    bad = new_user.request(
        "POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT", "input": {"date": "x"}}
    )
    assert bad.status_code == 400 and "date" in bad.text
    run = new_user.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT", "input": {}})
    assert new_user.ok("GET", f"/tasks/{run['task_id']}")["workflow_version_id"] is None

"""Catalog, agents (create by ids or keys, change, disable, delete), lists with pagination, tasks, config export."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from tests.integration.api.tenant_fixtures import insert_task
from tests.support.api import ApiSession


def _catalog(session: ApiSession) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    industry = next(i for i in session.ok("GET", "/industries") if i["key"] == "logistics")
    roles = session.ok("GET", "/role-templates", params={"industry_key": "logistics"})
    tools = {t["key"]: t for t in session.ok("GET", "/tools")}
    return industry, next(r for r in roles if r["key"] == "ops_manager"), tools


def test_the_catalog_lists_industries_roles_and_tools_with_config_schemas(new_user: ApiSession) -> None:
    industry, role, tools = _catalog(new_user)
    none_for_other = new_user.ok("GET", "/role-templates", params={"industry_key": "aerospace"})

    assert role["industry_id"] == industry["id"] and "email" in role["default_tools"]
    assert {"db", "file", "cctv", "email"} <= set(tools)
    assert "required" not in tools["file"]["config_schema"]  # the local agent decides the folder by default
    assert tools["cctv"]["available"] is False
    assert none_for_other == []


def test_create_by_catalog_ids_validates_and_defaults_each_tool_config(new_user: ApiSession) -> None:
    industry, role, tools = _catalog(new_user)
    body = {
        "name": "Ops manager",
        "industry_id": industry["id"],
        "role_template_id": role["id"],
        "tool_ids": [tools["file"]["id"], tools["email"]["id"]],
        "tool_config": {tools["file"]["id"]: {"base_dir": "/exports"}, "email": {"recipients": ["ops@example.com"]}},
    }
    agent = new_user.ok("POST", f"/orgs/{new_user.org_id}/agents", json=body)

    configs = {t["key"]: t["config"] for t in agent["tools"]}
    assert (agent["industry_key"], agent["role_key"]) == ("logistics", "ops_manager")
    assert configs == {
        "email": {"recipients": ["ops@example.com"]},
        "file": {"base_dir": "/exports", "max_rows": 100000},
    }


def test_a_role_template_is_all_an_agent_needs(new_user: ApiSession) -> None:
    # The README's walkthrough: no name, no tools, no workflows given
    agent = new_user.ok("POST", f"/orgs/{new_user.org_id}/agents", json={"role_key": "warehouse_analyst"})
    config = yaml.safe_load(new_user.ok("GET", f"/agents/{agent['id']}/config"))

    assert agent["name"] == "Warehouse analyst" and agent["role_key"] == "warehouse_analyst"
    assert {t["key"]: t["config"] for t in agent["tools"]} == {
        "db": {"url_env": "PHI_WAREHOUSE_DB_URL", "statement_timeout_seconds": 30, "max_rows": 100000},
        "file": {"max_rows": 100000},  # no folder: the local agent decides it
    }
    assert [w["type"] for w in agent["config"]["workflows"]] == ["DAILY_WAREHOUSE_REPORT"]
    assert [t["key"] for t in config["tools"]] == ["db.query", "file.read"]
    # The local agent uploads large results only where the cloud says they go: the stack's bucket and S3 endpoint
    cloud = config["cloud"]
    assert cloud["results_bucket"] and cloud["results_endpoint_url"] == cloud["aws_endpoint_url"] is not None
    missing_role = new_user.request("POST", f"/orgs/{new_user.org_id}/agents", json={"name": "Analyst"})
    assert missing_role.status_code == 422, missing_role.text
    assert "role_key" in missing_role.json()["error"]["message"]


def test_a_roles_defaults_skip_tools_not_available_yet_and_name_the_configuration_they_need(
    new_user: ApiSession,
) -> None:
    url = f"/orgs/{new_user.org_id}/agents"
    needs_recipients = new_user.request("POST", url, json={"role_key": "safety_officer"})
    assert (needs_recipients.status_code, needs_recipients.json()["error"]["code"]) == (400, "invalid_tool_config")
    assert "recipients" in needs_recipients.json()["error"]["message"]

    body = {"role_key": "safety_officer", "tool_config": {"email": {"recipients": ["safety@example.com"]}}}
    agent = new_user.ok("POST", url, json=body)
    assert sorted(t["key"] for t in agent["tools"]) == ["db", "email", "file"]  # no CCTV: not available yet
    assert [w["type"] for w in agent["config"]["workflows"]] == ["WEEKLY_INCIDENT_SUMMARY"]
    asked_by_name = new_user.request("POST", url, json={"role_key": "safety_officer", "tools": {"cctv": {}}})
    assert asked_by_name.json()["error"]["code"] == "tool_unavailable"


def _nested(depth: int) -> dict[str, Any]:
    """{"a": {"a": … {} …}}: deeper than the validator's recursion reaches (it answered 500)."""
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("tools", "code", "needle"),
    [
        ({"file": {"base_dir": ""}}, "invalid_tool_config", "base_dir"),
        ({"db": {"max_rows": 0}}, "invalid_tool_config", "max_rows"),
        ({"email": {"recipients": ["not-an-email"]}}, "invalid_tool_config", "email"),
        ({"db": {"password": "hunter2"}}, "invalid_tool_config", "password"),
        ({"db": {"url_env": "X", "a": _nested(900)}}, "invalid_tool_config", "nested deeper than 96 levels"),
        ({"cctv": {}}, "tool_unavailable", "cctv"),
        ({"fax": {}}, "bad_request", "Unknown tools: fax. The tools are: "),
        # an operation's name, as the local agent's config file lists it, points at its tool
        ({"db.query": {}}, "bad_request", "db.query (an operation of the tool 'db': name the tool)"),
    ],
)
def test_bad_tool_configuration_is_a_clear_400(
    new_user: ApiSession, tools: dict[str, Any], code: str, needle: str
) -> None:
    response = new_user.request(
        "POST",
        f"/orgs/{new_user.org_id}/agents",
        json={
            "name": "x",
            "industry_key": "logistics",
            "role_key": "warehouse_analyst",
            "tools": tools,
        },
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)
    assert needle in response.json()["error"]["message"]


def test_a_role_from_another_industry_or_no_role_is_refused(new_user: ApiSession) -> None:
    _, role, _ = _catalog(new_user)
    wrong = new_user.request(
        "POST",
        f"/orgs/{new_user.org_id}/agents",
        json={
            "name": "x",
            "industry_key": "mining",
            "role_template_id": role["id"],
            "tools": {},
        },
    )
    missing = new_user.request("POST", f"/orgs/{new_user.org_id}/agents", json={"name": "x", "tools": {}})
    assert wrong.status_code == 400
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "validation_error")


def test_patch_changes_name_tools_config_and_workflows_and_syncs_schedules(new_user: ApiSession) -> None:
    agent = new_user.create_agent()
    workflow = {"type": "DAILY_WAREHOUSE_REPORT", "schedule": "30 5 * * 1-5", "timezone": "Europe/London"}

    renamed = new_user.ok("PATCH", f"/agents/{agent['id']}", json={"name": "Night analyst"})
    retuned = new_user.ok("PATCH", f"/agents/{agent['id']}", json={"tool_config": {"db": {"max_rows": 500}}})
    regrouped = new_user.ok(
        "PATCH",
        f"/agents/{agent['id']}",
        json={
            "tools": {"db": {"max_rows": 500}, "file": {"base_dir": "/data"}},
            "workflows": [workflow],
            "llm": {"model": "gpt-4o", "temperature": 0.1},
            "thresholds": {"max_backlog_orders": 150},
        },
    )
    schedules = new_user.ok("GET", f"/agents/{agent['id']}/schedules")
    bad_workflow = new_user.request("PATCH", f"/agents/{agent['id']}", json={"workflows": [{"type": "NOPE"}]})

    assert renamed["name"] == "Night analyst" and renamed["tools"] == agent["tools"]
    assert retuned["tools"][0]["config"]["max_rows"] == 500
    assert retuned["tools"][0]["config"]["url_env"] == "PHI_WAREHOUSE_DB_URL"
    assert [t["key"] for t in regrouped["tools"]] == ["db", "file"]
    assert regrouped["config"]["llm"] == {"model": "gpt-4o", "temperature": 0.1}
    assert regrouped["config"]["thresholds"] == {"max_backlog_orders": 150}
    assert [(s["cron"], s["timezone"]) for s in schedules] == [("30 5 * * 1-5", "Europe/London")]
    assert bad_workflow.status_code == 400


def test_thresholds_are_checked_when_saved_not_when_a_report_runs(new_user: ApiSession) -> None:
    """A misspelt limit was stored and silently ignored; a rate given as a percentage failed every report."""
    agent = new_user.create_agent()
    misspelt = new_user.request("PATCH", f"/agents/{agent['id']}", json={"thresholds": {"late_orders": 3}})
    as_percent = new_user.request("PATCH", f"/agents/{agent['id']}", json={"thresholds": {"max_late_rate": 5}})
    fractional_count = new_user.request(
        "PATCH", f"/agents/{agent['id']}", json={"thresholds": {"min_picker_lines_for_rating": 2.5}}
    )
    on_create = new_user.request(
        "POST",
        f"/orgs/{new_user.org_id}/agents",
        json={"role_key": "warehouse_analyst", "thresholds": {"max_late_rate": -0.1}},
    )
    endless = new_user.request(
        "PATCH",
        f"/agents/{agent['id']}",
        content=b'{"thresholds": {"max_backlog_age_hours": Infinity}}',
        headers={"Content-Type": "application/json"},
    )
    saved = new_user.ok("PATCH", f"/agents/{agent['id']}", json={"thresholds": {"max_late_rate": 0.04}})

    for refused in (misspelt, as_percent, fractional_count, on_create):
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, "validation_error"), refused.text
    assert "unknown threshold(s) late_orders; known: max_late_rate" in misspelt.text
    # said to the caller, not in Python's words (pydantic puts "Value error, " before a validator's message)
    assert misspelt.json()["error"]["message"].startswith("Invalid request: thresholds: unknown threshold(s)")
    assert "Value error" not in misspelt.text and "Value error" not in as_percent.text
    assert "0.05 for 5%" in as_percent.text
    assert "min_picker_lines_for_rating" in fractional_count.text
    assert "max_late_rate" in on_create.text
    assert endless.status_code in (400, 422) and "max_backlog_age_hours" in endless.text, endless.text
    assert saved["config"]["thresholds"] == {"max_late_rate": 0.04}
    assert new_user.ok("GET", f"/agents/{agent['id']}")["config"]["thresholds"] == {"max_late_rate": 0.04}


def test_a_disabled_agent_runs_no_new_tasks_until_enabled(new_user: ApiSession) -> None:
    agent = new_user.create_agent()
    disabled = new_user.ok("PATCH", f"/agents/{agent['id']}", json={"status": "DISABLED"})
    refused = new_user.request("POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT"})
    paused = new_user.ok("GET", f"/agents/{agent['id']}/schedules")
    enabled = new_user.ok("PATCH", f"/agents/{agent['id']}", json={"status": "ACTIVE"})

    assert disabled["status"] == "DISABLED"
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "conflict")
    assert [s["enabled"] for s in paused] == [False]
    assert enabled["status"] == "ACTIVE" and new_user.ok("GET", f"/agents/{agent['id']}/schedules")[0]["enabled"]


def test_deleting_an_agent_removes_queue_keys_and_schedules_but_keeps_tasks(
    new_user: ApiSession, stack: Any, api_url: str
) -> None:
    agent = new_user.create_agent()
    key = new_user.ok("POST", f"/agents/{agent['id']}/keys")["key"]
    assert new_user.org_id is not None
    task_id = insert_task(new_user.org_id, agent["id"])

    deleted = new_user.request("DELETE", f"/agents/{agent['id']}")

    sqs = boto3.client("sqs", endpoint_url=stack.info.aws_endpoint_url, region_name="us-east-1")
    with pytest.raises(ClientError):
        sqs.get_queue_attributes(QueueUrl=agent["queue_url"], AttributeNames=["All"])
    key_client = ApiSession(api_url)
    key_client.token = key
    assert deleted.status_code == 204
    assert new_user.request("GET", f"/agents/{agent['id']}").status_code == 404
    assert key_client.request("POST", "/local-agents/heartbeat", json={"host": "h"}).status_code == 401
    assert new_user.ok("GET", f"/tasks/{task_id}")["agent_id"] == agent["id"]
    assert [t["id"] for t in new_user.ok("GET", f"/orgs/{new_user.org_id}/tasks")] == [task_id]
    from tests.integration.api.tenant_fixtures import sql

    assert sql("SELECT count(*) AS n FROM schedules WHERE agent_id = %s", (agent["id"],))[0]["n"] == 0


def test_agent_lists_paginate_and_filter(new_user: ApiSession) -> None:
    for name in ("Alpha", "Beta", "Gamma"):
        new_user.create_agent(name=f"{name} analyst")
    gamma = new_user.ok("GET", f"/orgs/{new_user.org_id}/agents", params={"q": "gamma"})[0]
    new_user.ok("PATCH", f"/agents/{gamma['id']}", json={"status": "DISABLED"})

    page = new_user.request("GET", f"/orgs/{new_user.org_id}/agents", params={"limit": 2, "offset": 1})
    disabled = new_user.ok("GET", f"/orgs/{new_user.org_id}/agents", params={"status": "DISABLED"})
    by_role = new_user.request("GET", f"/orgs/{new_user.org_id}/agents", params={"role_key": "ops_manager"})
    wildcard = new_user.ok("GET", f"/orgs/{new_user.org_id}/agents", params={"q": "%"})

    assert [a["name"] for a in page.json()] == ["Beta analyst", "Gamma analyst"]
    assert page.headers["x-total-count"] == "3"
    assert [a["name"] for a in disabled] == ["Gamma analyst"]
    assert by_role.json() == [] and by_role.headers["x-total-count"] == "0"
    assert wildcard == []


def test_task_lists_filter_by_status_and_type_newest_first(new_user: ApiSession) -> None:
    agent = new_user.create_agent()
    assert new_user.org_id is not None
    ids = [
        insert_task(new_user.org_id, agent["id"], t, s)
        for t, s in [
            ("DAILY_WAREHOUSE_REPORT", "SUCCEEDED"),
            ("DAILY_WAREHOUSE_REPORT", "FAILED"),
            ("AD_HOC", "SUCCEEDED"),
        ]
    ]

    everything = new_user.request("GET", f"/agents/{agent['id']}/tasks", params={"limit": 2})
    failed = new_user.ok("GET", f"/agents/{agent['id']}/tasks", params={"status": "FAILED"})
    ad_hoc = new_user.ok("GET", f"/agents/{agent['id']}/tasks", params={"type": "AD_HOC"})
    detail = new_user.ok("GET", f"/tasks/{ids[0]}")
    bad_status = new_user.request("GET", f"/agents/{agent['id']}/tasks", params={"status": "LOST"})

    assert [t["id"] for t in everything.json()] == [ids[2], ids[1]]
    assert everything.headers["x-total-count"] == "3" and "output" not in everything.json()[0]
    assert [t["id"] for t in failed] == [ids[1]]
    assert [t["id"] for t in ad_hoc] == [ids[2]]
    assert detail["events"] == [] and detail["status"] == "SUCCEEDED"
    assert bad_status.status_code == 422


def test_config_export_as_json_on_request_with_a_download_name(new_user: ApiSession) -> None:
    agent = new_user.create_agent(
        tools={"db": {}, "file": {"base_dir": "/exports"}, "email": {"recipients": ["a@b.co"]}}
    )
    as_json = new_user.request("GET", f"/agents/{agent['id']}/config", params={"format": "json"})
    by_accept = new_user.request("GET", f"/agents/{agent['id']}/config", headers={"Accept": "application/json"})
    as_yaml = yaml.safe_load(new_user.request("GET", f"/agents/{agent['id']}/config").text)

    assert as_json.headers["content-type"].startswith("application/json")
    assert 'filename="phi-agent-config.json"' in as_json.headers["content-disposition"]
    assert by_accept.json() == as_json.json() == as_yaml
    assert [t["key"] for t in as_yaml["tools"]] == ["db.query", "file.read"]  # email runs in the cloud
    assert as_yaml["memory"]["namespaces"] == [f"org:{new_user.org_id}", f"agent:{agent['id']}"]
    assert set(as_yaml["cloud"]) >= {"region", "queue_url", "api_url"}
    assert as_yaml["llm"]["model"]


def test_agent_keys_list_shows_use_and_revocation_never_the_secret(new_user: ApiSession, api_url: str) -> None:
    agent = new_user.create_agent()
    first = new_user.ok("POST", f"/agents/{agent['id']}/keys")
    second = new_user.ok("POST", f"/agents/{agent['id']}/keys")
    client = ApiSession(api_url)
    client.token = first["key"]
    client.ok("POST", "/local-agents/heartbeat", json={"host": "h1"})
    new_user.ok("DELETE", f"/agents/{agent['id']}/keys/{second['id']}")

    listed = {k["id"]: k for k in new_user.ok("GET", f"/agents/{agent['id']}/keys")}
    from tests.integration.api.tenant_fixtures import sql

    stored = sql("SELECT key_hash FROM agent_keys WHERE id = %s", (first["id"],))[0]["key_hash"]
    assert listed[first["id"]]["last_used_at"] is not None and listed[first["id"]]["revoked_at"] is None
    assert listed[second["id"]]["revoked_at"] is not None
    assert all("key" not in k for k in listed.values())
    assert first["key"].startswith(first["prefix"]) and stored != first["key"] and len(stored) == 64
    assert new_user.request("DELETE", f"/agents/{agent['id']}/keys/{agent['id']}").status_code == 404


TOOLS_WITH_EMAIL = {"db": {}, "email": {"recipients": ["ops@example.com"]}}


def test_a_roles_schedules_run_at_their_hour_on_the_sites_clock(new_user: ApiSession) -> None:
    # Given a site in New York and one left at the default (UTC)
    new_york = new_user.create_agent(
        role_key="ops_manager",
        warehouse_timezone="America/New_York",
        tools=TOOLS_WITH_EMAIL,
    )
    default = new_user.create_agent(role_key="ops_manager", tools=TOOLS_WITH_EMAIL)

    # Then the role's handover runs at 22:30 on each site's own clock (the catalogue writes it in London's)
    def schedule_of(agent: dict[str, Any]) -> tuple[str, str]:
        [schedule] = [
            s for s in new_user.ok("GET", f"/agents/{agent['id']}/schedules") if s["workflow_type"] == "SHIFT_HANDOVER"
        ]
        return schedule["cron"], schedule["timezone"]

    assert schedule_of(new_york) == ("30 22 * * *", "America/New_York")
    assert schedule_of(default) == ("30 22 * * *", "UTC")
    stored = new_user.ok("GET", f"/agents/{new_york['id']}/workflows/SHIFT_HANDOVER")["definition"]["schedule"]
    assert stored["timezone"] == "America/New_York"


def test_a_sites_schedules_follow_its_time_zone_when_it_changes(new_user: ApiSession) -> None:
    """The role's daily report runs at 07:00 on the site's clock: created in London it is 07:00 London, in the
    agent's configuration and its downloadable config too; moved to Chicago it is 07:00 Chicago. A schedule set in
    another zone on purpose stays where it was put."""
    agent = new_user.create_agent(warehouse_timezone="Europe/London")
    assert [(s["cron"], s["timezone"]) for s in new_user.ok("GET", f"/agents/{agent['id']}/schedules")] == [
        ("0 7 * * *", "Europe/London")
    ]
    assert [w["timezone"] for w in agent["config"]["workflows"]] == ["Europe/London"]
    config = new_user.ok("GET", f"/agents/{agent['id']}/config", params={"format": "json"})
    assert [w["timezone"] for w in config["workflows"]] == ["Europe/London"]

    moved = new_user.ok("PATCH", f"/agents/{agent['id']}", json={"warehouse_timezone": "America/Chicago"})
    schedules = new_user.ok("GET", f"/agents/{agent['id']}/schedules")
    assert [(s["cron"], s["timezone"]) for s in schedules] == [("0 7 * * *", "America/Chicago")]
    assert [w["timezone"] for w in moved["config"]["workflows"]] == ["America/Chicago"]
    stored = new_user.ok("GET", f"/agents/{agent['id']}/workflows/DAILY_WAREHOUSE_REPORT")
    assert stored["definition"]["schedule"]["timezone"] == "America/Chicago"
    assert "time zone changed from Europe/London to America/Chicago" in stored["version"]["reason"]

    # a schedule put in Tokyo on purpose does not follow the site
    new_user.ok(
        "PATCH",
        f"/agents/{agent['id']}",
        json={"workflows": [{"type": "DAILY_WAREHOUSE_REPORT", "schedule": "0 9 * * *", "timezone": "Asia/Tokyo"}]},
    )
    new_user.ok("PATCH", f"/agents/{agent['id']}", json={"warehouse_timezone": "Europe/Berlin"})
    schedules = new_user.ok("GET", f"/agents/{agent['id']}/schedules")
    assert [(s["cron"], s["timezone"]) for s in schedules] == [("0 9 * * *", "Asia/Tokyo")]

    # a change that gives a workflow's schedule with the new site zone: the schedule given stands
    entry = {"type": "DAILY_WAREHOUSE_REPORT", "schedule": "0 6 * * *", "timezone": "Europe/Berlin"}
    both = new_user.ok(
        "PATCH", f"/agents/{agent['id']}", json={"warehouse_timezone": "Europe/Paris", "workflows": [entry]}
    )
    schedules = new_user.ok("GET", f"/agents/{agent['id']}/schedules")
    assert [(s["cron"], s["timezone"]) for s in schedules] == [("0 6 * * *", "Europe/Berlin")]
    assert [w["timezone"] for w in both["config"]["workflows"]] == ["Europe/Berlin"]


def test_a_body_that_is_not_json_is_said_so_with_where(new_user: ApiSession) -> None:
    answer = new_user.request(
        "POST",
        f"/orgs/{new_user.org_id}/agents",
        content=b'{"role_key": "warehouse_analyst",',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["message"].startswith("Invalid request: body: not valid JSON at character ")
    assert error["details"]["fields"][0]["field"] == "body"


def test_a_key_reporting_ever_new_hosts_keeps_the_fleet_to_the_latest_fifty(new_user: ApiSession, api_url: str) -> None:
    agent = new_user.create_agent()
    client = ApiSession(api_url)
    client.token = new_user.ok("POST", f"/agents/{agent['id']}/keys")["key"]
    for number in range(55):
        client.ok("POST", "/local-agents/heartbeat", json={"host": f"churn-{number:02d}", "tools": ["db.query"]})

    hosts = {row["host"] for row in new_user.ok("GET", f"/agents/{agent['id']}/local-agents")}
    assert hosts == {f"churn-{number:02d}" for number in range(5, 55)}  # the five heard from longest ago forgotten
    org_hosts = {row["host"] for row in new_user.ok("GET", f"/orgs/{new_user.org_id}/local-agents")}
    assert org_hosts == hosts


def test_a_heartbeat_is_bounded_in_what_it_reports(new_user: ApiSession, api_url: str) -> None:
    agent = new_user.create_agent()
    client = ApiSession(api_url)
    client.token = new_user.ok("POST", f"/agents/{agent['id']}/keys")["key"]
    for beat in (
        {"host": "h", "tools": ["t" * 101]},
        {"host": "h", "tools": ["db.query"] * 101},
        {"host": "h", "pid": 2**31},
        {"host": "h", "pid": -1},
    ):
        assert client.request("POST", "/local-agents/heartbeat", json=beat).status_code == 422, beat
    assert new_user.ok("GET", f"/agents/{agent['id']}/local-agents") == []
    client.ok("POST", "/local-agents/heartbeat", json={"host": "h", "tools": ["db.query"] * 100, "pid": 2**31 - 1})

"""Workflow definitions and versions through the API: validation at the field, immutable versions, diff,
rollback, roles and tenancy, schedules resynced from the definition, tasks recording their version."""

from __future__ import annotations

import copy
from typing import Any
from uuid import UUID

import pytest

from tests.integration.api.tenant_fixtures import Tenant, signed_up, sql
from tests.support.api import ApiSession

DEFINITION: dict[str, Any] = {
    "key": "late_by_carrier",
    "name": "Late shipments by carrier",
    "inputs": {"date": {"type": "date", "default": "yesterday"}},
    "nodes": [
        {
            "id": "shipments",
            "kind": "local_tool",
            "settings": {
                "tool": "db.query",
                "sql": "SELECT carrier, promised_at, shipped_at FROM shipments WHERE promised_at >= :start",
                "params": {"start": "{{ day_start(inputs.date) }}"},
            },
        },
        {
            "id": "late",
            "kind": "table",
            "settings": {
                "input": "shipments",
                "ops": [
                    {"op": "filter", "where": {">": [{"var": "shipped_at"}, {"var": "promised_at"}]}},
                    {"op": "group_by", "keys": ["carrier"], "aggs": {"late": {"fn": "count"}}},
                ],
            },
        },
        {"id": "report", "kind": "render", "settings": {"template": "sections"}},
    ],
    "edges": [["shipments", "late"], ["late", "report"]],
}


def _agent(session: ApiSession) -> dict[str, Any]:
    return session.create_agent()


def test_a_workflow_is_created_read_versioned_compared_and_rolled_back(new_user: ApiSession) -> None:
    agent = _agent(new_user)
    base = f"/agents/{agent['id']}/workflows"

    # Given a new workflow
    created = new_user.request("POST", base, json={"definition": DEFINITION, "reason": "first cut"})
    assert created.status_code == 201, created.text
    assert created.json()["current_version"] == 1
    assert created.json()["version"]["source"] == "api" and created.json()["version"]["reason"] == "first cut"
    assert created.json()["version"]["author_email"] == new_user.ok("GET", "/me")["user"]["email"]
    assert [w["key"] for w in new_user.ok("GET", base)] == ["DAILY_WAREHOUSE_REPORT", "late_by_carrier"]

    # When the SQL changes, a second version is added; the same definition again adds none
    edited = copy.deepcopy(DEFINITION)
    edited["nodes"][0]["settings"]["sql"] = edited["nodes"][0]["settings"]["sql"].replace("shipments", "shp_hdr")
    second = new_user.ok("PUT", f"{base}/late_by_carrier", json={"definition": edited, "based_on": 1})
    assert second["current_version"] == 2
    assert new_user.ok("PUT", f"{base}/late_by_carrier", json={"definition": edited})["current_version"] == 2

    # Then the versions, the difference and the old version itself are readable
    assert [v["version"] for v in new_user.ok("GET", f"{base}/late_by_carrier/versions")] == [2, 1]
    diff = new_user.ok("GET", f"{base}/late_by_carrier/diff", params={"from": 1, "to": 2})
    assert diff["changes"] == [
        {
            "op": "replace",
            "path": "/nodes/shipments/settings/sql",
            "old": DEFINITION["nodes"][0]["settings"]["sql"],
            "new": edited["nodes"][0]["settings"]["sql"],
        }
    ]
    assert new_user.ok("GET", f"{base}/late_by_carrier/versions/1")["definition"]["nodes"][0] == DEFINITION["nodes"][0]

    # And an edit based on a stale version is refused, with the current version named
    stale = new_user.request("PUT", f"{base}/late_by_carrier", json={"definition": DEFINITION, "based_on": 1})
    assert stale.status_code == 409 and stale.json()["error"]["details"]["current_version"] == 2

    # And rolling back adds version 3 with version 1's definition; history stays
    rolled = new_user.ok("POST", f"{base}/late_by_carrier/rollback", json={"to_version": 1})
    assert rolled["current_version"] == 3
    assert rolled["version"]["source"] == "rollback" and rolled["version"]["based_on"] == 1
    first = new_user.ok("GET", f"{base}/late_by_carrier/versions/1")["definition"]
    assert rolled["definition"]["nodes"] == first["nodes"]
    assert len(new_user.ok("GET", f"{base}/late_by_carrier/versions")) == 3


def test_an_invalid_definition_is_refused_with_the_node_and_the_field(new_user: ApiSession) -> None:
    agent = _agent(new_user)
    broken = copy.deepcopy(DEFINITION)
    broken["nodes"][1]["settings"]["ops"][1]["aggs"]["late"]["fn"] = "median"
    broken["edges"].append(["report", "ghost"])
    response = new_user.request("POST", f"/agents/{agent['id']}/workflows", json={"definition": broken})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_definition"
    assert error["details"]["errors"][0]["node"] == "late"
    assert error["details"]["errors"][0]["field"] == "nodes[1].settings.ops[1].aggs.late.fn"
    assert "node 'late'" in error["message"]
    # nothing was stored
    assert [w["key"] for w in new_user.ok("GET", f"/agents/{agent['id']}/workflows")] == ["DAILY_WAREHOUSE_REPORT"]
    assert new_user.request("GET", f"/agents/{agent['id']}/workflows/late_by_carrier").status_code == 404


@pytest.mark.parametrize("zone", ["Europe", "a" * 64, "../../etc/passwd", "Europe/London\u0000", "Mars/Base"])
def test_a_schedule_time_zone_that_is_not_an_iana_name_is_a_field_error_never_a_500(
    new_user: ApiSession, zone: str
) -> None:
    agent = _agent(new_user)
    scheduled = {**DEFINITION, "schedule": {"cron": "0 7 * * *", "timezone": zone}}
    response = new_user.request("POST", f"/agents/{agent['id']}/workflows", json={"definition": scheduled})
    assert response.status_code in (400, 422), response.text
    fields = [e.get("field", "") for e in response.json()["error"].get("details", {}).get("errors", [])]
    assert any("timezone" in field for field in fields) or "time zone" in response.json()["error"]["message"]
    run = new_user.request(
        "POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT", "input": {"timezone": zone}}
    )
    assert run.status_code in (400, 422), run.text


def test_versions_cannot_be_edited_in_the_database(new_user: ApiSession) -> None:
    agent = _agent(new_user)
    new_user.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": DEFINITION})
    import psycopg

    with pytest.raises(psycopg.errors.RaiseException, match="immutable"):
        sql(
            """UPDATE workflow_versions SET reason = 'rewritten' WHERE workflow_id IN
               (SELECT id FROM workflows WHERE agent_id = %s)""",
            (UUID(agent["id"]),),
        )


def test_members_read_owners_and_admins_write_and_other_organisations_see_nothing(victim: Tenant, api_url: str) -> None:
    agent_id = victim.ids["agent_id"]
    base = f"/agents/{agent_id}/workflows"
    assert victim.admin.request("POST", base, json={"definition": DEFINITION}).status_code == 201
    assert victim.member.ok("GET", f"{base}/late_by_carrier")["current_version"] == 1
    assert victim.member.request("PUT", f"{base}/late_by_carrier", json={"definition": DEFINITION}).status_code == 403
    assert victim.member.request("POST", f"{base}/late_by_carrier/rollback", json={"to_version": 1}).status_code == 403
    intruder = signed_up(api_url, "wf-intruder")
    intruder.create_org("Elsewhere")
    for path in (base, f"{base}/late_by_carrier", f"{base}/late_by_carrier/versions"):
        assert intruder.request("GET", path).status_code == 404
    assert intruder.request("PUT", f"{base}/late_by_carrier", json={"definition": DEFINITION}).status_code == 404


def test_a_schedule_in_the_definition_is_synced_and_removed_with_it(new_user: ApiSession) -> None:
    agent = _agent(new_user)
    base = f"/agents/{agent['id']}/workflows"
    scheduled = {**DEFINITION, "schedule": {"cron": "30 6 * * 1-5", "timezone": "Europe/London"}}
    new_user.ok("POST", base, json={"definition": scheduled})
    schedules = {s["workflow_type"]: s for s in new_user.ok("GET", f"/agents/{agent['id']}/schedules")}
    assert schedules["late_by_carrier"]["cron"] == "30 6 * * 1-5"
    assert schedules["late_by_carrier"]["timezone"] == "Europe/London"

    new_user.ok("PUT", f"{base}/late_by_carrier", json={"definition": DEFINITION})
    assert "late_by_carrier" not in {s["workflow_type"] for s in new_user.ok("GET", f"/agents/{agent['id']}/schedules")}


def test_a_task_of_a_stored_workflow_records_its_version_and_its_inputs_are_validated(new_user: ApiSession) -> None:
    agent = _agent(new_user)
    view = new_user.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": DEFINITION})
    bad = new_user.request(
        "POST",
        f"/agents/{agent['id']}/run-task",
        json={"type": "late_by_carrier", "input": {"date": "not a day", "colour": "red"}},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_definition"
    assert {e["field"] for e in bad.json()["error"]["details"]["errors"]} == {"date", "colour"}

    run = new_user.ok(
        "POST", f"/agents/{agent['id']}/run-task", json={"type": "late_by_carrier", "input": {"date": "2026-11-20"}}
    )
    task = new_user.ok("GET", f"/tasks/{run['task_id']}")
    version_id = sql(
        """SELECT v.id FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id
                        WHERE w.agent_id = %s AND w.key = 'late_by_carrier' AND v.version = %s""",
        (UUID(agent["id"]), view["current_version"]),
    )
    assert task["workflow_version_id"] == str(version_id[0]["id"])
    assert task["input"] == {"date": "2026-11-20"}


def test_the_schema_is_published(new_user: ApiSession) -> None:
    schema = new_user.ok("GET", "/workflow-schema")
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["properties"]["nodes"]["items"]["properties"]["kind"]["enum"]) >= {
        "local_tool",
        "table",
        "compute",
        "search_docs",
        "llm",
        "render",
        "condition",
    }


def test_a_definitions_schedule_reaches_the_scheduler_and_a_scheduled_start_records_the_version(
    new_user: ApiSession, stack: Any
) -> None:
    import boto3

    from phi.workflows.runner import StartEvent, start_task

    # Given a stored workflow with a schedule
    agent = _agent(new_user)
    scheduled = {
        **DEFINITION,
        "schedule": {"cron": "15 5 * * *", "timezone": "Europe/Berlin", "input": {"date": "yesterday"}},
    }
    new_user.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": scheduled})

    # Then EventBridge Scheduler (moto) holds it, after the commit, with the definition's cron and zone
    [listed] = [
        s for s in new_user.ok("GET", f"/agents/{agent['id']}/schedules") if s["workflow_type"] == "late_by_carrier"
    ]
    scheduler = boto3.client("scheduler", endpoint_url=stack.info.aws_endpoint_url, region_name="us-east-1")
    remote = scheduler.get_schedule(Name=listed["scheduler_name"], GroupName="phi-dev")
    assert remote["ScheduleExpression"] == "cron(15 5 * * ? *)"
    assert remote["ScheduleExpressionTimezone"] == "Europe/Berlin"

    # And when the schedule fires, StartTask creates a task that records the current version
    started = start_task(
        StartEvent(
            org_id=str(new_user.org_id),
            agent_id=agent["id"],
            type="late_by_carrier",
            input={"date": "yesterday"},
            trigger="schedule",
        ),
        "arn:test:execution",
    )
    assert started["ctx"]["workflow_version_id"]
    [task] = sql("SELECT input, workflow_version_id FROM tasks WHERE id = %s", (UUID(started["ctx"]["task_id"]),))
    assert task["input"] == {"date": "yesterday"}  # resolved when it runs, in Europe/Berlin
    assert str(task["workflow_version_id"]) == started["ctx"]["workflow_version_id"]

    # And removing the schedule from the definition removes it from the scheduler
    new_user.ok("PUT", f"/agents/{agent['id']}/workflows/late_by_carrier", json={"definition": DEFINITION})
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name=listed["scheduler_name"], GroupName="phi-dev")


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4 *"])
def test_a_cron_that_never_fires_is_a_400_at_schedule_cron(new_user: ApiSession, cron: str) -> None:
    agent = _agent(new_user)
    definition = {**copy.deepcopy(DEFINITION), "schedule": {"cron": cron, "timezone": "UTC"}}

    refused = new_user.request("POST", f"/agents/{agent['id']}/workflows", json={"definition": definition})
    in_config = new_user.request(
        "POST",
        f"/orgs/{new_user.org_id}/agents",
        json={"name": "Never", "industry_key": "logistics", "role_key": "warehouse_analyst",
              "tools": {"db": {"url_env": "PHI_WAREHOUSE_DB_URL"}},
              "workflows": [{"type": "DAILY_WAREHOUSE_REPORT", "schedule": cron, "timezone": "UTC"}]},
    )  # fmt: skip

    assert refused.status_code == 400, refused.text[:300]
    assert refused.json()["error"]["details"]["errors"] == [
        {"node": None, "field": "schedule.cron",
         "message": f"{cron!r} never fires: no date matches it (such as 30 February or 31 April)"}
    ]  # fmt: skip
    assert in_config.status_code == 400 and "never fires" in in_config.json()["error"]["message"], in_config.text
    assert "late_by_carrier" not in [w["key"] for w in new_user.ok("GET", f"/agents/{agent['id']}/workflows")]


def test_a_proposal_setting_a_cron_that_never_fires_is_refused_when_made(new_user: ApiSession) -> None:
    agent = _agent(new_user)
    scheduled = {**copy.deepcopy(DEFINITION), "schedule": {"cron": "0 6 * * *", "timezone": "UTC"}}
    new_user.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": scheduled})

    refused = new_user.request(
        "POST",
        f"/agents/{agent['id']}/requests",
        json={
            "prompt": "x",
            "workflow": "late_by_carrier",
            "patch": [{"op": "replace", "path": "/schedule/cron", "value": "0 0 30 2 *"}],
        },
    )

    assert refused.status_code == 400, refused.text[:300]
    assert refused.json()["error"]["code"] == "invalid_patch", refused.text[:300]
    assert "schedule.cron: '0 0 30 2 *' never fires" in refused.json()["error"]["message"]
    assert new_user.ok("GET", f"/agents/{agent['id']}/proposals") == []

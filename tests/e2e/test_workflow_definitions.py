"""A workflow stored as data runs end to end: compiled at Think time, its local_tool node answered by the
local agent (a separate process) through the queue, its table node computed in the cloud."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import ApiSession
from tests.support.e2e import REPORT_DAY, StartAgent, event_types

pytestmark = pytest.mark.e2e

LATE_BY_CARRIER: dict[str, Any] = {
    "key": "late_by_carrier",
    "name": "Late shipments by carrier",
    "inputs": {"date": {"type": "date", "default": "yesterday"}},
    "nodes": [
        {
            "id": "shipments",
            "kind": "local_tool",
            "settings": {
                "tool": "db.query",
                "sql": "SELECT shipment_id, carrier, promised_at, shipped_at FROM shipments "
                "WHERE promised_at >= :start AND promised_at < :end",
                "params": {"start": "{{ day_start(inputs.date) }}", "end": "{{ day_end(inputs.date) }}"},
            },
        },
        {
            "id": "late",
            "kind": "table",
            "settings": {
                "input": "shipments",
                "ops": [
                    {
                        "op": "filter",
                        "where": {
                            "or": [
                                {"==": [{"var": "shipped_at"}, None]},
                                {">": [{"var": "shipped_at"}, {"var": "promised_at"}]},
                            ]
                        },
                    },
                    {"op": "group_by", "keys": ["carrier"], "aggs": {"late": {"fn": "count"}}},
                    {"op": "sort", "by": ["carrier"]},
                ],
            },
        },
        {
            "id": "report",
            "kind": "render",
            "settings": {"template": "sections", "title": "Late shipments on {{ inputs.date }}"},
        },
    ],
    "edges": [["shipments", "late"], ["late", "report"]],
}

# Written independently of the table operations: SQLite's own grouping.
REFERENCE = """SELECT carrier, COUNT(*) FROM shipments
               WHERE promised_at >= :start AND promised_at < :end AND (shipped_at IS NULL OR shipped_at > promised_at)
               GROUP BY carrier ORDER BY carrier"""


def test_a_stored_definition_runs_through_the_local_agent_and_records_its_version(
    new_user: ApiSession, warehouse_db: Path, start_local_agent: StartAgent
) -> None:
    # Given an agent with a workflow defined as data, and its local agent next to the warehouse database
    agent = new_user.create_agent()
    stored = new_user.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": LATE_BY_CARRIER})
    start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")

    # When it runs
    run = new_user.ok(
        "POST",
        f"/agents/{agent['id']}/run-task",
        json={"type": "late_by_carrier", "input": {"date": REPORT_DAY.isoformat()}},
    )
    task = new_user.wait_for_task(run["task_id"], timeout=180)

    # Then the figures are SQLite's own, and the task names the version it ran
    assert task["status"] == "SUCCEEDED", task
    day = REPORT_DAY.isoformat()
    with sqlite3.connect(warehouse_db) as db:
        expected = db.execute(REFERENCE, {"start": f"{day}T00:00:00", "end": f"{REPORT_DAY.replace(day=21)}T00:00:00"})
        rows = [list(r) for r in expected.fetchall()]
    assert rows, "the sample day should have late shipments"
    output = task["output"]
    assert output["title"] == f"Late shipments on {day}"
    for carrier, late in rows:
        assert f"| {carrier} | {late} |" in output["markdown"]
    assert output["workflow"]["ran"] == ["shipments", "late", "report"]
    assert task["workflow_version_id"] is not None
    assert stored["current_version"] == 1
    types = event_types(task)
    assert types.index("TOOL_REQUESTED") < types.index("TOOL_COMPLETED") < types.index("NODE_COMPLETED")
    assert "REPORT_GENERATED" in types and types[-1] == "TASK_COMPLETED"

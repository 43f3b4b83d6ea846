"""An ad-hoc request with an explicit pipeline (no LLM) runs end to end: the real state machine, the local agent
(a separate process) answering db.query on the demo SQLite database through the agent's queue, the result
stored in S3 and downloaded as CSV through a pre-signed URL, with a preview and metadata."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api import ApiSession
from tests.support.e2e import StartAgent, event_types

pytestmark = pytest.mark.e2e

LATE_SHIPMENTS: dict[str, Any] = {
    "nodes": [
        {"id": "shipments", "kind": "local_tool", "settings": {
            "tool": "db.query", "sql": "SELECT shipment_id, carrier, promised_at, shipped_at FROM shipments"}},
        {"id": "late", "kind": "table", "settings": {"input": "shipments", "ops": [
            {"op": "filter", "where": {"or": [{"==": [{"var": "shipped_at"}, None]},
                                              {">": [{"var": "shipped_at"}, {"var": "promised_at"}]}]}},
            {"op": "select", "columns": ["shipment_id", "carrier"]},
            {"op": "sort", "by": ["shipment_id"]}]}},
    ],
    "edges": [["shipments", "late"]],
    "output": "late",
}  # fmt: skip
# Written independently of the table operations: SQLite's own filter and order.
REFERENCE = """SELECT shipment_id, carrier FROM shipments
               WHERE shipped_at IS NULL OR shipped_at > promised_at ORDER BY shipment_id"""


def test_an_explicit_pipeline_runs_through_the_local_agent_with_preview_csv_and_metadata(
    new_user: ApiSession, warehouse_db: Path, start_local_agent: StartAgent
) -> None:
    # Given an agent with its local agent next to the warehouse database, and no LLM
    agent = new_user.create_agent()
    start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")

    # When a person asks for the late shipments with an explicit pipeline
    created = new_user.ok(
        "POST",
        f"/agents/{agent['id']}/requests",
        json={"prompt": "every late shipment, by id", "pipeline": LATE_SHIPMENTS},
    )
    task = new_user.wait_for_task(str(created["task_id"]), timeout=180)
    view = new_user.ok("GET", f"/agents/{agent['id']}/requests/{created['id']}")

    # Then it ran as an ad-hoc task through the state machine and the local agent
    assert created["lane"] == "execute" and created["lane_source"] == "caller"
    assert task["status"] == "SUCCEEDED", task
    assert (task["type"], task["trigger"]) == ("AD_HOC", "request")
    assert "TOOL_REQUESTED" in event_types(task) and event_types(task)[-1] == "TASK_COMPLETED"
    with sqlite3.connect(warehouse_db) as db:
        expected = [[str(v) for v in row] for row in db.execute(REFERENCE).fetchall()]
    assert len(expected) > 20, "the sample data should have more late shipments than the preview shows"

    # the preview is the first rows, the task itself keeps no more than that
    result = view["result"]
    assert result["columns"] == ["shipment_id", "carrier"]
    assert result["preview"] == expected[:20] and result["row_count"] == len(expected)
    assert result["truncated"] is False and result["notes"] == []
    assert len(task["output"]["rows"]) == 20

    # the full result downloads as CSV through the pre-signed URL
    download = httpx.get(result["csv"]["url"], timeout=30)
    assert download.status_code == 200, download.text
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))  # after its byte-order mark
    assert rows[0] == ["shipment_id", "carrier"] and rows[1:] == expected

    # and the metadata says what it cost
    metadata = view["metadata"]
    assert metadata["rows"] == len(expected) and metadata["bytes"] == len(download.content)
    assert metadata["tool_calls"] == 1 and metadata["tool_call_details"][0]["tool"] == "db.query"
    assert metadata["tool_call_details"][0]["status"] == "COMPLETED"
    assert metadata["run_seconds"] is not None and metadata["run_seconds"] > 0
    assert metadata["model"] is None and metadata["tokens"] == 0
    assert view["status"] == "SUCCEEDED"
    assert [r["id"] for r in new_user.ok("GET", f"/agents/{agent['id']}/requests")] == [created["id"]]


def test_a_large_result_streams_from_its_stored_table_into_the_csv(
    new_user: ApiSession, warehouse_db: Path, start_local_agent: StartAgent
) -> None:
    # Given a request whose result is far larger than what the graph state keeps inline
    agent = new_user.create_agent()
    start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")
    pipeline = _query_then_table("SELECT pick_id, picker_id, qty FROM picks", [{"op": "sort", "by": ["pick_id"]}])
    with sqlite3.connect(warehouse_db) as db:
        typed = [list(r) for r in db.execute("SELECT pick_id, picker_id, qty FROM picks ORDER BY pick_id")]
    expected = [[str(v) for v in r] for r in typed]
    assert len(expected) > 1000, "the sample should hold more picks than an inline table"

    # When it runs
    created = new_user.ok("POST", f"/agents/{agent['id']}/requests", json={"prompt": "all picks", "pipeline": pipeline})
    task = new_user.wait_for_task(str(created["task_id"]), timeout=180)
    view = new_user.ok("GET", f"/agents/{agent['id']}/requests/{created['id']}")

    # Then the task keeps a reference and a preview, and the CSV holds every row
    assert task["status"] == "SUCCEEDED", task
    assert "table_ref" in task["output"] and len(task["output"]["rows"]) == 20
    download = httpx.get(view["result"]["csv"]["url"], timeout=60)
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))  # after its byte-order mark
    assert rows[1:] == expected
    assert view["metadata"]["rows"] == len(expected) and view["metadata"]["bytes"] == len(download.content)
    assert view["result"]["preview"] == typed[:20]


def test_a_result_made_from_a_table_cut_at_the_tool_s_row_limit_says_so(
    new_user: ApiSession, warehouse_db: Path, start_local_agent: StartAgent
) -> None:
    # A count by carrier over the first 10 shipments had come back as the count of all of them, with nothing to say
    # the query was cut at its row limit (the flag was lost at the first table operation).
    agent = new_user.create_agent()
    start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")
    pipeline = _query_then_table(
        "SELECT shipment_id, carrier FROM shipments",
        [{"op": "group_by", "keys": ["carrier"], "aggs": {"n": {"fn": "count"}}}],
        max_rows=10,
    )

    created = new_user.ok(
        "POST", f"/agents/{agent['id']}/requests", json={"prompt": "shipments by carrier", "pipeline": pipeline}
    )
    assert new_user.wait_for_task(str(created["task_id"]), timeout=180)["status"] == "SUCCEEDED"
    result = new_user.ok("GET", f"/agents/{agent['id']}/requests/{created['id']}")["result"]

    assert sum(n for _, n in result["preview"]) == 10
    assert result["truncated"] is True
    assert result["notes"] == [
        "table: computed from query, cut at the tool's row limit: its counts and totals cover the rows fetched only"
    ]


def _query_then_table(sql: str, ops: list[dict[str, Any]], **tool_settings: Any) -> dict[str, Any]:
    """A pipeline of a db.query node `query` and a table node `table` over it, its output."""
    return {
        "nodes": [
            {"id": "query", "kind": "local_tool", "settings": {"tool": "db.query", "sql": sql, **tool_settings}},
            {"id": "table", "kind": "table", "settings": {"input": "query", "ops": ops}},
        ],
        "edges": [["query", "table"]],
        "output": "table",
    }

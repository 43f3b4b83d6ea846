"""A large tool result never enters the graph state: through the whole loop on the embedded stack (Step
Functions engine, PostgreSQL checkpointer, moto S3, live ports), a 200,000-row claim-check result is read by
table nodes as a stream from S3, a large table output is written back to S3, and the checkpointed state holds
references and previews only."""

from __future__ import annotations

import gzip
import io
import json
import uuid
from typing import Any
from uuid import UUID

import httpx
import pytest

from phi.definitions.table import TableError
from phi.settings import get_settings
from phi.workflows.contracts import TaskContext
from phi.workflows.live_ports import S3Tables
from tests.integration.api.tenant_fixtures import sql
from tests.support.api import ApiSession
from tests.support.task_loop import aws_client, first_tool_request

ROWS = 200_000
COLUMNS = ["id", "sku", "carrier", "qty", "promised_at", "shipped_at", "note"]
LATE = {">": [{"var": "shipped_at"}, {"var": "promised_at"}]}
AGGS = {"late": {"fn": "count"}, "units": {"fn": "sum", "column": "qty"}}
SECTIONS = ["late_skus", "late_moves"]
DEFINITION: dict[str, Any] = {
    "key": "late_moves",
    "name": "Late moves",
    "nodes": [
        {
            "id": "moves",
            "kind": "local_tool",
            "settings": {"tool": "db.query", "sql": "SELECT * FROM moves"},
        },
        {
            "id": "late_skus",
            "kind": "table",
            "settings": {
                "input": "moves",
                "ops": [
                    {"op": "filter", "where": LATE},
                    {"op": "group_by", "keys": ["sku"], "aggs": AGGS},
                    {"op": "top_k", "k": 5, "by": "late"},
                ],
            },
        },
        {
            "id": "late_moves",
            "kind": "table",
            "settings": {
                "input": "moves",
                "ops": [
                    {"op": "filter", "where": LATE},
                    {"op": "sort", "by": ["qty", "id"], "descending": True},
                    {"op": "select", "columns": ["id", "sku", "qty"]},
                ],
            },
        },
        {"id": "report", "kind": "render", "settings": {"template": "sections", "sections": SECTIONS}},
    ],
    "edges": [["moves", "late_skus"], ["late_skus", "late_moves"], ["late_moves", "report"]],
}


def move(i: int) -> list[Any]:
    """One move in five is late, and SKUs 0-4 far more often (120, 108, 96, 84, 72 against 40): a clear top 5."""
    sku, block = i % 1_000, i // 1_000
    late = block % 5 == 0 or (sku < 5 and block < 100 - 15 * sku)
    return [
        i,
        f"SKU-{sku:05d}",
        ("DHL", "UPS", "DPD")[i % 3],
        i % 41,
        f"2026-11-20T{i % 24:02d}:00:00",
        f"2026-11-20T{i % 24:02d}:{45 if late else 0:02d}:00",
        f"move-{i}-note",
    ]


def _checkpoint_bytes(task_id: str) -> int:
    [row] = sql(
        """SELECT (SELECT coalesce(sum(octet_length(checkpoint::text) + octet_length(metadata::text)), 0)
                     FROM checkpoints WHERE thread_id = %(t)s)
                + (SELECT coalesce(sum(octet_length(blob)), 0) FROM checkpoint_blobs WHERE thread_id = %(t)s)
                + (SELECT coalesce(sum(octet_length(blob)), 0) FROM checkpoint_writes WHERE thread_id = %(t)s)
                AS bytes""",
        {"t": task_id},  # type: ignore[arg-type]
    )
    return int(row["bytes"])


def _checkpoints_mention(task_id: str, text: str) -> bool:
    needle = text.encode()
    [row] = sql(
        """SELECT (SELECT count(*) FROM checkpoint_blobs WHERE thread_id = %(t)s AND position(%(n)s IN blob) > 0)
                + (SELECT count(*) FROM checkpoint_writes WHERE thread_id = %(t)s AND position(%(n)s IN blob) > 0)
                + (SELECT count(*) FROM checkpoints WHERE thread_id = %(t)s AND checkpoint::text LIKE %(l)s) AS hits""",
        {"t": task_id, "n": needle, "l": f"%{text}%"},  # type: ignore[arg-type]
    )
    return int(row["hits"]) > 0


@pytest.mark.timeout(600)
def test_a_large_result_is_read_and_written_through_s3_and_never_enters_the_graph_state(
    stack: Any, new_user: ApiSession
) -> None:
    # Given a workflow whose table nodes read a 200,000-row result the local agent uploaded (the claim check)
    agent = new_user.create_agent()
    new_user.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": DEFINITION})
    task_id, request, _ = first_tool_request(stack, new_user, agent, "late_moves", task_input={})
    rows = [move(i) for i in range(ROWS)]
    text = "\n".join([json.dumps({"columns": COLUMNS}), *(json.dumps(r) for r in rows)]) + "\n"
    body = gzip.compress(text.encode(), compresslevel=5)
    assert len(text) > 15_000_000
    assert httpx.put(request["result_upload"]["url"], content=body).status_code == 200

    # When the local agent answers with the reference
    aws_client(stack, "stepfunctions").send_task_success(
        taskToken=request["task_token"],
        output=json.dumps(
            {
                "v": 1,
                "tool_call_id": request["tool_call_id"],
                "ok": True,
                "result_ref": {"key": request["result_upload"]["key"], "bytes": len(body), "format": "jsonl.gz"},
            }
        ),
    )
    task = new_user.wait_for_task(task_id, timeout=540)

    # Then the report has the figures computed independently here
    assert task["status"] == "SUCCEEDED", task.get("error")
    late = [r for r in rows if r[5] > r[4]]
    counts: dict[str, list[int]] = {}
    for r in late:
        counts.setdefault(r[1], [0, 0])
        counts[r[1]][0] += 1
        counts[r[1]][1] += r[3]
    top = sorted(counts.items(), key=lambda item: item[1][0], reverse=True)[:5]
    markdown = task["output"]["markdown"]
    for sku, (n, units) in top:
        assert f"| {sku} | {n} | {units} |" in markdown, (sku, n, units)  # an exact integer sum, its digits
    by_qty = sorted(late, key=lambda r: (r[3], r[0]), reverse=True)
    assert f"| {by_qty[0][0]} | {by_qty[0][1]} | {by_qty[0][3]} |" in markdown
    assert f"_{len(late) - 50:,} more rows not shown._" in markdown

    # and the large table output was written to S3 as a new claim-check object under the task's prefix
    prefix = f"{get_settings().tool_results_prefix}{task_id}/"
    stored = aws_client(stack, "s3").get_object(
        Bucket=get_settings().documents_bucket, Key=f"{prefix}tables/late_moves.jsonl.gz"
    )
    lines = gzip.decompress(stored["Body"].read()).splitlines()
    assert json.loads(lines[0]) == {"columns": ["id", "sku", "qty"]}
    assert [json.loads(line) for line in lines[1:]] == [[r[0], r[1], r[3]] for r in by_qty]

    # and the checkpointed graph state stayed small: references and previews, never the rows
    state_bytes = _checkpoint_bytes(task_id)
    assert 0 < state_bytes < 256 * 1024 < len(text) // 50, state_bytes
    assert _checkpoints_mention(task_id, "move-0-note")  # the preview (this check can see rows)
    assert not _checkpoints_mention(task_id, f"move-{ROWS - 1}-note")  # a row in no preview
    assert not _checkpoints_mention(task_id, f"move-{by_qty[500][0]}-note")


def test_the_live_table_store_reads_only_its_own_tasks_objects(stack: Any) -> None:
    settings = get_settings()
    assert settings.documents_bucket
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    theirs_key = f"{settings.tool_results_prefix}{theirs}/call.jsonl.gz"
    aws_client(stack, "s3").put_object(
        Bucket=settings.documents_bucket, Key=theirs_key, Body=gzip.compress(b'{"columns":[]}\n')
    )
    ctx = TaskContext(
        task_id=mine, org_id=str(UUID(int=1)), agent_id=str(UUID(int=2)), type="t", queue_url="q",
        max_steps=5, tool_timeout_seconds=30, tool_heartbeat_seconds=30,
    )  # fmt: skip
    tables = S3Tables(ctx, settings.documents_bucket)
    with pytest.raises(TableError, match="outside this task's results"):
        tables.open(theirs_key)
    with pytest.raises(TableError, match="outside this task's results"):
        tables.open(f"{settings.tool_results_prefix}{mine}/../{theirs}/call.jsonl.gz")
    with pytest.raises(TableError, match="is gone"):
        tables.open(f"{settings.tool_results_prefix}{mine}/never-written.jsonl.gz")
    key = tables.save("node", io.BytesIO(gzip.compress(b'{"columns":["a"]}\n[1]\n')))
    assert key == f"{settings.tool_results_prefix}{mine}/tables/node.jsonl.gz"
    body = tables.open(key)
    try:
        assert gzip.decompress(body.read()) == b'{"columns":["a"]}\n[1]\n'
    finally:
        body.close()

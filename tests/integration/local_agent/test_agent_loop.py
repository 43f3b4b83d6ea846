"""The poll loop against moto's SQS and Step Functions (the real waitForTaskToken round trip)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from phi_agent import worker
from phi_agent.stepfunctions import TaskAnswerer
from phi_agent.tools.sql_guard import CheckedQuery
from tests.support.waiting import wait_until


def _env(db: Path) -> dict[str, str]:
    return {"PHI_WAREHOUSE_DB_URL": f"sqlite:///{db}"}


def test_db_query_round_trip_success_and_failures(
    cloud: Any, warehouse_sqlite: Path, make_config: Any, run_agent: Any
) -> None:
    queue = cloud.new_queue()
    with run_agent(make_config(queue), _env(warehouse_sqlite)):
        succeeded = cloud.run_tool(
            queue,
            "db.query",
            {"sql": "SELECT sku, qty, price FROM stock WHERE qty <= :n ORDER BY qty", "params": {"n": 3}},
            tool_call_id="call-ok",
        )
        assert succeeded["status"] == "SUCCEEDED"
        assert json.loads(succeeded["output"]) == {
            "v": 1,
            "tool_call_id": "call-ok",
            "ok": True,
            "result": {
                "columns": ["sku", "qty", "price"],
                "rows": [["SKU-0001", 1, 1.5], ["SKU-0002", 2, 3], ["SKU-0003", 3, 4.5]],
                "row_count": 3,
                "truncated": False,
            },
        }
        assert cloud.run_tool(queue, "db.query", {"sql": "DELETE FROM stock"})["error"] == "Tool.NotAllowed"
        assert cloud.run_tool(queue, "file.read", {"path": "x.csv"})["error"] == "Tool.NotAllowed"
        assert cloud.run_tool(queue, "db.query", {"sql": "SELECT nope FROM missing"})["error"] == "Tool.SqlError"
        wait_until(lambda: cloud.queue_depth(queue) == 0, timeout=60)


def test_malformed_messages_never_stop_the_agent(
    cloud: Any, warehouse_sqlite: Path, make_config: Any, run_agent: Any
) -> None:
    queue = cloud.new_queue()
    sqs = cloud.client("sqs")
    with run_agent(make_config(queue), _env(warehouse_sqlite)):
        sqs.send_message(QueueUrl=queue, MessageBody="this is not JSON")
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"v": 1, "tool": "db.query"}))
        wait_until(lambda: cloud.queue_depth(queue) == 0, timeout=60)  # logged and deleted, not redelivered
        # These carry a token, so they are answered with Tool.BadRequest.
        failed = cloud.run_tool(queue, "db.query", "SELECT 1")
        assert failed["status"] == "FAILED" and failed["error"] == "Tool.BadRequest"
        unknown_arg = cloud.run_tool(queue, "db.query", {"sql": "SELECT 1", "limit": 5})
        assert unknown_arg["error"] == "Tool.BadRequest"
        foreign = cloud.run_tool(queue, "db.query", {"sql": "SELECT 1"}, agent_id="someone-else")
        assert foreign["error"] == "Tool.BadRequest"
        still_serving = cloud.run_tool(queue, "db.query", {"sql": "SELECT count(*) AS n FROM stock"})
        assert json.loads(still_serving["output"])["result"]["rows"] == [[100]]
        wait_until(lambda: cloud.queue_depth(queue) == 0, timeout=60)


def test_second_completion_of_a_token_is_dropped(cloud: Any) -> None:
    queue = cloud.new_queue()
    execution = cloud.start_tool(queue, "db.query", {"sql": "SELECT 1"})
    sqs = cloud.client("sqs")
    message = wait_until(lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages"), 120)[0]
    token = json.loads(message["Body"])["task_token"]
    answerer = TaskAnswerer(cloud.client("stepfunctions"))
    assert answerer.succeed(token, {"v": 1, "tool_call_id": "c", "ok": True, "result": {}}) is True
    assert cloud.wait_finished(execution)["status"] == "SUCCEEDED"
    # Step Functions answers InvalidToken / TaskTimedOut: the step is over, so the message may go.
    assert answerer.fail(token, "Tool.SqlError", "late") is True
    assert answerer.heartbeat(token) is False


class _Counting:
    """Passes every call through to the real client and counts the calls of one operation."""

    def __init__(self, real: Any, operation: str) -> None:
        self._real = real
        self._operation = operation
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._real, name)
        if name != self._operation:
            return attribute

        def _counted(**kwargs: Any) -> Any:
            self.calls += 1
            return attribute(**kwargs)

        return _counted


def test_long_tool_sends_task_heartbeats_and_extends_visibility(
    cloud: Any, postgres_url: str, make_config: Any, run_agent: Any
) -> None:
    queue = cloud.new_queue()
    config = make_config(queue, heartbeat_seconds=1, visibility_timeout_seconds=10)
    # pg_sleep is not on the guard's allow-list: this test is about heartbeats, so the check is bypassed.
    runner = run_agent(config, {"PHI_WAREHOUSE_DB_URL": postgres_url}, allow_privileged_db_login=True)
    db_tool = runner.agent.registry.db_tools()[0]
    db_tool.guard.check = lambda sql: CheckedQuery(sql=sql, text_sql=sql, parameters=frozenset(), functions=frozenset())  # type: ignore[method-assign]
    clients = runner.agent.clients
    heartbeats = _Counting(clients.sfn, "send_task_heartbeat")
    extensions = _Counting(clients.sqs, "change_message_visibility")
    runner.agent.clients = type(clients)(sqs=extensions, sfn=heartbeats)
    with runner:
        # 12 s of work: keep-alives are due at 1 s intervals and at 5 s (half the visibility), so a slow machine
        # has 7 s of slack before the tool ends
        started = time.monotonic()
        execution = cloud.start_tool(queue, "db.query", {"sql": "SELECT 42 AS answer FROM pg_sleep(12)"})
        finished = cloud.wait_finished(execution, timeout=120)
        elapsed = time.monotonic() - started
    assert finished["status"] == "SUCCEEDED", finished
    assert json.loads(finished["output"])["result"]["rows"] == [[42]]
    # The tool really was long (pg_sleep times itself on the server's wall clock, which a VM may slew against this
    # process's monotonic clock by a fraction of a second: once 11.92 s were measured here for a 12 s sleep).
    assert elapsed >= 11
    assert heartbeats.calls >= 3, "SendTaskHeartbeat about every second while the tool runs"
    assert extensions.calls >= 2, "the visibility is extended when the tool starts, then at half the timeout"
    wait_until(lambda: cloud.queue_depth(queue) == 0, timeout=60)


def test_a_request_delivered_twice_runs_its_tool_once(
    cloud: Any, postgres_url: str, make_config: Any, run_agent: Any
) -> None:
    # Given one tool request sitting in the queue twice (SQS delivers at least once), for a tool that takes a while
    queue = cloud.new_queue()
    execution = cloud.start_tool(queue, "db.query", {"sql": "SELECT 42 AS answer FROM pg_sleep(3)"})
    sqs = cloud.client("sqs")
    message = wait_until(lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages"), 120)[0]
    for _ in range(2):
        sqs.send_message(QueueUrl=queue, MessageBody=message["Body"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    config = make_config(queue, concurrency=2, visibility_timeout_seconds=10)
    runner = run_agent(config, {"PHI_WAREHOUSE_DB_URL": postgres_url}, allow_privileged_db_login=True)
    db_tool = runner.agent.registry.db_tools()[0]
    # (pg_sleep is not on the guard's allow-list: this test is about deliveries, so the check is bypassed)
    db_tool.guard.check = lambda sql: CheckedQuery(sql=sql, text_sql=sql, parameters=frozenset(), functions=frozenset())  # type: ignore[method-assign]
    runs: list[dict[str, Any]] = []
    real_open = db_tool.open

    def counted_open(args: dict[str, Any], timeout_seconds: float | None) -> Any:
        runs.append(args)
        return real_open(args, timeout_seconds)

    db_tool.open = counted_open  # type: ignore[method-assign]

    # When the agent (two tools at a time) receives both copies
    with runner:
        finished = cloud.wait_finished(execution, timeout=120)
        # Then both copies are gone from the queue, and the tool ran on the customer's database once
        wait_until(lambda: cloud.queue_depth(queue) == 0, timeout=60)
    assert finished["status"] == "SUCCEEDED", finished
    assert json.loads(finished["output"])["result"]["rows"] == [[42]]
    assert len(runs) == 1, runs


def test_an_agent_whose_clock_runs_ahead_still_runs_a_request_within_its_deadline(
    cloud: Any, warehouse_sqlite: Path, make_config: Any, run_agent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a customer machine whose clock is two minutes ahead of the cloud's (no NTP), and a request with a
    # minute left before its deadline by the cloud's clock
    monkeypatch.setattr(worker, "_wall_clock", lambda: time.time() + 120)
    queue = cloud.new_queue()
    deadline = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    with run_agent(make_config(queue), _env(warehouse_sqlite)):
        finished = cloud.run_tool(queue, "db.query", {"sql": "SELECT count(*) AS n FROM stock"}, deadline=deadline)

    # Then the agent runs it (by its own clock the deadline had passed a minute ago)
    assert finished["status"] == "SUCCEEDED", finished
    assert json.loads(finished["output"])["result"]["rows"] == [[100]]


class _Recorder(BaseHTTPRequestHandler):
    """An internal service on the customer's network: records what reaches it."""

    seen: ClassVar[list[str]] = []

    def do_PUT(self) -> None:
        self.seen.append(self.path)
        self.send_response(403)
        self.end_headers()
        self.wfile.write(b"INTERNAL ADMIN PANEL db_password=hunter2")

    def log_message(self, *args: Any) -> None:
        pass


def test_a_result_upload_url_other_than_the_agents_s3_is_refused_before_the_tool_reads_anything(
    cloud: Any, warehouse_sqlite: Path, make_config: Any, run_agent: Any
) -> None:
    queue = cloud.new_queue()
    internal = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=internal.serve_forever, daemon=True).start()
    key = "tool-results/t/c.jsonl.gz"
    everything = {"sql": "SELECT * FROM stock"}
    try:
        with run_agent(make_config(queue, inline_result_limit_bytes=1_024), _env(warehouse_sqlite)):
            for url in (
                f"http://127.0.0.1:{internal.server_port}/{key}",  # a host on the customer's network
                f"gopher://127.0.0.1:{internal.server_port}/{key}",
                f"https://evil.example/{key}",
                f"{cloud.endpoint}/phi-results/other-key",  # the agent's endpoint, another object
                f"{cloud.endpoint.replace('://', '://user:pw@')}/phi-results/{key}",
            ):
                refused = cloud.run_tool(queue, "db.query", everything, result_upload={"url": url, "key": key})
                assert refused["error"] == "Tool.BadRequest", url
                assert "the result upload URL is refused" in refused["cause"]
            wait_until(lambda: cloud.queue_depth(queue) == 0, timeout=60)
    finally:
        internal.shutdown()
    assert _Recorder.seen == []


def test_a_request_for_another_organisation_is_refused(
    cloud: Any, warehouse_sqlite: Path, make_config: Any, run_agent: Any
) -> None:
    queue = cloud.new_queue()
    with run_agent(make_config(queue), _env(warehouse_sqlite)):
        foreign = cloud.run_tool(queue, "db.query", {"sql": "SELECT 1"}, org_id="another-organisation")
        assert foreign["error"] == "Tool.BadRequest"
        assert "another-organisation" not in foreign["cause"]


def test_bodies_that_break_a_json_parser_are_deleted_not_redelivered(
    cloud: Any, warehouse_sqlite: Path, make_config: Any, run_agent: Any
) -> None:
    queue = cloud.new_queue()
    sqs = cloud.client("sqs")
    with run_agent(make_config(queue), _env(warehouse_sqlite)):
        sqs.send_message(QueueUrl=queue, MessageBody="[" * 100_000)  # past the recursion limit
        sqs.send_message(QueueUrl=queue, MessageBody='{"v": 1, "n": ' + "9" * 5_000 + "}")  # past int's digits
        sqs.send_message(QueueUrl=queue, MessageBody='{"v": 1, "task_token": "tok\\udc80", "tool": "db.query"}')
        wait_until(lambda: cloud.queue_depth(queue) == 0, timeout=60)
        still_serving = cloud.run_tool(queue, "db.query", {"sql": "SELECT count(*) AS n FROM stock"})
        assert json.loads(still_serving["output"])["result"]["rows"] == [[100]]

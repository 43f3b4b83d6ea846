"""Faults on the embedded stack, each asserting the end state: the loop neither loses a result nor leaves a
task stuck. Network faults are injected by a loopback proxy between the local agent and the AWS endpoint."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.conftest import apply_settings
from tests.support.api import ApiSession
from tests.support.e2e import REPORT_DAY, StartAgent, event_types, run_report, start_report
from tests.support.faulty_proxy import FaultyProxy
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
SUCCESS = "AWSStepFunctions.SendTaskSuccess"


def _tool_completions(task: dict[str, Any]) -> Counter[str]:
    return Counter(e["data"]["tool_call_id"] for e in task["events"] if e["type"] == "TOOL_COMPLETED")


def test_an_agent_killed_mid_tool_and_restarted_completes_the_task_once(
    new_user: ApiSession, stack: Any, warehouse_db: Path, start_local_agent: StartAgent
) -> None:
    # Given a local agent whose first answer is held up on the network
    with FaultyProxy(stack.info.aws_endpoint_url) as proxy:
        proxy.hold_target, proxy.hold_seconds = SUCCESS, 60
        agent = new_user.create_agent()
        local = start_local_agent(
            new_user,
            agent,
            f"sqlite:///{warehouse_db}",
            aws_endpoint_url=proxy.url,
            local={"visibility_timeout_seconds": 10},
        )
        run = start_report(new_user, agent)

        # When it is killed after running the tool but before its answer got through, then restarted
        assert proxy.held.wait(120)
        local.process.kill()
        local.process.wait(60)
        proxy.hold_target = None
        proxy.release.set()
        local.restart()

        # Then the message is redelivered, the tool runs again, and the task completes exactly once
        task = new_user.wait_for_task(run["task_id"])
    assert task["status"] == "SUCCEEDED", task["events"]
    completions = _tool_completions(task)
    assert len(completions) == 3 and set(completions.values()) == {1}
    assert event_types(task).count("TASK_COMPLETED") == 1
    assert local.log().count('"tool request received"') >= 4  # the first request was received twice


def test_a_request_delivered_twice_completes_once_and_the_duplicate_is_dropped(
    new_user: ApiSession, stack: Any, warehouse_db: Path, start_local_agent: StartAgent
) -> None:
    # Given the first tool request sitting in the agent's queue twice
    agent = new_user.create_agent()
    run = start_report(new_user, agent)
    sqs = boto3.client("sqs", endpoint_url=stack.info.aws_endpoint_url, region_name="us-east-1")
    message = wait_until(
        lambda: sqs.receive_message(QueueUrl=agent["queue_url"], WaitTimeSeconds=1).get("Messages"), timeout=120
    )[0]  # type: ignore[index]
    for _ in range(2):
        sqs.send_message(QueueUrl=agent["queue_url"], MessageBody=message["Body"])
    sqs.delete_message(QueueUrl=agent["queue_url"], ReceiptHandle=message["ReceiptHandle"])

    # When the local agent starts and answers both
    local = start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")
    task = new_user.wait_for_task(run["task_id"])

    # Then one completion per tool call; the second answer was refused by Step Functions and dropped
    assert task["status"] == "SUCCEEDED"
    duplicated = json.loads(message["Body"])["tool_call_id"]
    assert _tool_completions(task)[duplicated] == 1
    assert local.process.poll() is None  # still running
    wait_until(lambda: local.log().count(duplicated) >= 2, timeout=60)


def test_a_request_that_waited_on_the_queue_past_its_tasks_cancel_is_not_run(
    new_user: ApiSession, stack: Any, warehouse_db: Path, start_local_agent: StartAgent
) -> None:
    # Given a report whose first tool request waits on the queue of a local agent that is not running
    agent = new_user.create_agent()
    run = start_report(new_user, agent)
    waiting = wait_until(
        lambda: (
            (t := new_user.ok("GET", f"/tasks/{run['task_id']}"))["status"] == "RUNNING"
            and "TOOL_REQUESTED" in event_types(t)
            and t
        ),
        timeout=120,
        interval=0.3,
    )
    request = next(e for e in waiting["events"] if e["type"] == "TOOL_REQUESTED")
    sfn = boto3.client("stepfunctions", endpoint_url=stack.info.aws_endpoint_url, region_name="us-east-1")

    # When the task is cancelled (its execution stopped) before the agent comes back, set to check every request
    assert new_user.ok("POST", f"/tasks/{run['task_id']}/cancel")["status"] == "CANCELLED"
    wait_until(lambda: sfn.describe_execution(executionArn=waiting["execution_arn"])["status"] == "ABORTED", timeout=60)
    local = start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}", local={"stale_request_seconds": 0})

    # Then the agent receives the request, finds its step over, and drops it without running the tool
    wait_until(lambda: "the step ended while its request waited on the queue" in local.log(), timeout=120)
    log = local.log()
    assert request["data"]["tool_call_id"] in log
    assert '"tool succeeded"' not in log and '"tool failed"' not in log, log[-3000:]

    # And a request whose step is still open is checked and run: the next report succeeds
    assert run_report(new_user, agent)["status"] == "SUCCEEDED", local.log()[-3000:]


def test_a_success_after_the_step_timed_out_is_logged_and_dropped_and_the_task_fails_with_the_timeout(
    new_user: ApiSession,
    stack: Any,
    warehouse_db: Path,
    start_local_agent: StartAgent,
    settings_override: dict[str, str],
) -> None:
    # Given a local agent that is up (it has reported in), a 20 s tool step (time enough to start the tool on a
    # slow machine: past the request's deadline the agent refuses to start it), and a network that holds the
    # agent's answer until the step is over (a condition, not a delay: the answer always arrives late)
    apply_settings({"PHI_TOOL_TIMEOUT_SECONDS": "20", "PHI_TOOL_HEARTBEAT_SECONDS": "20"})
    with FaultyProxy(stack.info.aws_endpoint_url) as proxy:
        proxy.hold_target, proxy.hold_seconds = SUCCESS, 600
        agent = new_user.create_agent()
        local = start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}", aws_endpoint_url=proxy.url)
        wait_until(lambda: new_user.ok("GET", f"/agents/{agent['id']}/local-agents"), timeout=120)

        # When the report runs, the step times out while the agent's answer is held
        task = run_report(new_user, agent)
        assert task["status"] == "FAILED"
        assert task["error"]["error"] == "Tool.Timeout"
        assert proxy.held.wait(120), "the local agent answered (and its answer was held)"
        proxy.hold_target = None
        proxy.release.set()

        # Then the late success reached Step Functions and was refused, and the agent logged and dropped it
        wait_until(lambda: SUCCESS in proxy.forwarded, timeout=60)
        wait_until(lambda: "the step was already over" in local.log(), timeout=60)

        # And the agent went on: still running, it serves the next task once the network is healthy again
        apply_settings({"PHI_TOOL_TIMEOUT_SECONDS": "60", "PHI_TOOL_HEARTBEAT_SECONDS": "30"})
        second = run_report(new_user, agent)
    assert second["status"] == "SUCCEEDED", local.log()[-3000:]
    assert local.process.poll() is None


def test_a_postgresql_restart_gives_clear_503s_then_recovers_without_losing_a_write(
    new_user: ApiSession, stack: Any, settings_override: dict[str, str]
) -> None:
    # Given data written before the outage
    apply_settings({"PHI_DB_CONNECT_TIMEOUT_SECONDS": "2"})
    from phi.db.connection import close_pool

    close_pool()
    before = new_user.ok("POST", "/orgs", json={"name": "Before the outage"})

    # When PostgreSQL goes down, requests get a clear 503 (not a hang, not a 500)
    stack.stop_database()
    try:
        during = [
            new_user.request("GET", f"/orgs/{before['id']}"),
            new_user.request("POST", "/orgs", json={"name": "During the outage"}),
        ]
    finally:
        stack.start_database()
    for response in during:
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "service_unavailable"

    # Then service comes back, the earlier write is there, and new writes work
    assert wait_until(lambda: new_user.request("GET", f"/orgs/{before['id']}").status_code == 200, timeout=120)
    after = new_user.ok("POST", "/orgs", json={"name": "After the outage"})
    names = [org["name"] for org in new_user.ok("GET", "/orgs")]
    assert "Before the outage" in names and after["name"] in names
    assert "During the outage" not in names  # refused with 503, so the client knows it was not written
    close_pool()


def test_fifty_tasks_over_five_agents_all_complete_and_each_request_reaches_only_its_agent(
    new_user: ApiSession, warehouse_db: Path, start_local_agent: StartAgent
) -> None:
    # Given five agents, each with its own local agent process
    agents = [new_user.create_agent(name=f"Analyst {i}") for i in range(5)]
    locals_ = {
        a["id"]: start_local_agent(new_user, a, f"sqlite:///{warehouse_db}", local={"concurrency": 4}) for a in agents
    }

    # When 50 tasks are started at once, ten per agent
    def start(agent: dict[str, Any]) -> str:
        body = {"type": "DAILY_WAREHOUSE_REPORT", "input": {"date": REPORT_DAY.isoformat()}}
        response = httpx.post(
            f"{new_user.base_url}/agents/{agent['id']}/run-task",
            json=body,
            timeout=120,
            headers={"Authorization": f"Bearer {new_user.token}"},
        )
        assert response.status_code == 202, response.text
        return str(response.json()["task_id"])

    task_ids: dict[str, list[str]] = {a["id"]: [] for a in agents}
    threads = []
    for agent in agents * 10:
        thread = threading.Thread(target=lambda a=agent: task_ids[a["id"]].append(start(a)))
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join()

    # Then all complete, and every request an agent received was for one of its own tasks
    assert sorted(len(ids) for ids in task_ids.values()) == [10] * 5
    finished = new_user.wait_for_tasks([task_id for ids in task_ids.values() for task_id in ids])
    for task_id, task in finished.items():
        assert task["status"] == "SUCCEEDED", (task_id, task["error"])
    for agent_id, local in locals_.items():
        received = [json.loads(line) for line in local.log().splitlines() if '"tool request received"' in line]
        # 3 tool calls per task; delivery is at least once, so a slow machine may see a request twice
        assert len({r["tool_call_id"] for r in received}) == 30
        assert {r["task_id"] for r in received} == set(task_ids[agent_id])
        assert {r["agent_id"] for r in received} == {agent_id}

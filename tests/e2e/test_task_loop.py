"""The whole task loop on the embedded stack: the real ASL under moto's interpreter, the real handlers, real
PostgreSQL, and the local agent as a separate process querying a real SQLite warehouse database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import apply_settings
from tests.support.api import ApiSession
from tests.support.warehouse_reference import reference_figures

pytestmark = pytest.mark.e2e
REPORT_DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def warehouse_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from phi.workflows.warehouse.sample_data import generate_sample_warehouse

    path = tmp_path_factory.mktemp("warehouse") / "warehouse.sqlite"
    generate_sample_warehouse(path, days=7, end_date=REPORT_DAY, seed=7)
    return path


@pytest.fixture
def start_local_agent(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(session: ApiSession, agent: dict[str, Any], db_url: str) -> subprocess.Popen[bytes]:
        config = tmp_path / f"config-{agent['id']}.yaml"
        config.write_text(session.ok("GET", f"/agents/{agent['id']}/config"))
        key = session.ok("POST", f"/agents/{agent['id']}/keys")["key"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PHI_", "AWS_"))}
        env.update({"PHI_AGENT_KEY": key, "PHI_WAREHOUSE_DB_URL": db_url})
        log = (tmp_path / f"agent-{agent['id']}.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "phi_agent", "run", "--config", str(config)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _event_types(task: dict[str, Any]) -> list[str]:
    return [event["type"] for event in task["events"]]


def _run_report(session: ApiSession, agent: dict[str, Any]) -> dict[str, Any]:
    run = session.ok("POST", f"/agents/{agent['id']}/run-task",
                     json={"type": "DAILY_WAREHOUSE_REPORT", "input": {"date": REPORT_DAY.isoformat()}})
    return session.wait_for_task(run["task_id"])


def test_daily_report_figures_match_the_sample_database(
    new_user: ApiSession, warehouse_db: Path, start_local_agent: Callable[..., Any]
) -> None:
    # Given an agent whose local agent runs next to the warehouse database
    agent = new_user.create_agent()
    start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")

    # When the daily report runs
    task = _run_report(new_user, agent)

    # Then it succeeds, with the figures computed straight from the database
    assert task["status"] == "SUCCEEDED", task
    expected = reference_figures(warehouse_db, REPORT_DAY)
    kpis = task["output"]["kpis"]
    assert kpis["throughput"]["orders_shipped"] == expected["orders_shipped"]
    assert kpis["throughput"]["lines_picked"] == expected["lines_picked"]
    assert kpis["throughput"]["units_picked"] == pytest.approx(expected["units_picked"])
    assert kpis["late"]["late_count"] == expected["late_orders"]
    assert kpis["backlog"]["orders"] == expected["backlog_orders"]
    assert {p["picker_id"]: p["lines"] for p in kpis["pickers"]} == expected["picker_lines"]
    markdown = task["output"]["markdown"]
    assert f"{expected['lines_picked']:,}" in markdown
    assert "needs an LLM" in markdown
    assert task["output"]["summary"]
    # And the timeline shows every step of the loop, in order
    types = _event_types(task)
    assert types[0] == "TASK_CREATED" and types[1] == "TASK_STARTED"
    assert types.count("TOOL_REQUESTED") == types.count("TOOL_COMPLETED") >= 1
    assert types.index("TOOL_REQUESTED") < types.index("TOOL_COMPLETED") < types.index("REPORT_GENERATED")
    assert types[-1] == "TASK_COMPLETED"


def test_bad_sql_reaches_the_task_as_a_readable_tool_failure(
    new_user: ApiSession, tmp_path: Path, start_local_agent: Callable[..., Any]
) -> None:
    # Given a local agent pointed at a database without the warehouse tables
    empty_db = tmp_path / "empty.sqlite"
    import sqlite3

    sqlite3.connect(empty_db).close()
    agent = new_user.create_agent()
    start_local_agent(new_user, agent, f"sqlite:///{empty_db}")

    # When the report runs
    task = _run_report(new_user, agent)

    # Then the SQL error reaches the task as TOOL_FAILED, and the task fails with it
    assert task["status"] == "FAILED"
    failed = next(e for e in task["events"] if e["type"] == "TOOL_FAILED")
    assert failed["data"]["error"] == "Tool.SqlError"
    assert "no such table" in failed["data"]["cause"]
    assert task["error"]["error"] == "Tool.SqlError"
    assert "no such table" in task["error"]["cause"]
    assert _event_types(task)[-1] == "TASK_FAILED"


def test_a_local_agent_that_never_answers_fails_the_task_at_the_step_timeout(
    new_user: ApiSession, settings_override: dict[str, str]
) -> None:
    # Given a short tool-step timeout and no local agent running
    apply_settings({"PHI_TOOL_TIMEOUT_SECONDS": "3", "PHI_TOOL_HEARTBEAT_SECONDS": "3"})
    agent = new_user.create_agent()

    # When the report runs
    task = _run_report(new_user, agent)

    # Then the task is FAILED (not RUNNING forever) with the timeout as the recorded reason
    assert task["status"] == "FAILED"
    failed = next(e for e in task["events"] if e["type"] == "TOOL_FAILED")
    assert failed["data"]["error"] == "Tool.Timeout"
    assert "did not answer within 3 s" in failed["data"]["cause"]
    assert task["error"]["error"] == "Tool.Timeout"
    assert _event_types(task)[-1] == "TASK_FAILED"


def test_a_killed_local_agent_ends_its_task_failed_with_a_reason(
    new_user: ApiSession, warehouse_db: Path, settings_override: dict[str, str],
    start_local_agent: Callable[..., Any],
) -> None:
    # Given a local agent that dies (SIGKILL: no goodbye) before the task runs
    apply_settings({"PHI_TOOL_TIMEOUT_SECONDS": "3", "PHI_TOOL_HEARTBEAT_SECONDS": "3"})
    agent = new_user.create_agent()
    process = start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")
    process.kill()
    process.wait(timeout=10)

    # When the report runs, then it ends FAILED with the timeout recorded
    task = _run_report(new_user, agent)
    assert task["status"] == "FAILED"
    assert task["error"]["error"] == "Tool.Timeout"

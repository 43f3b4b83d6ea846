"""`phi dev` as a user runs it: killed hard, started again, stopped cleanly — and PostgreSQL goes with it."""

from __future__ import annotations

import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import ApiSession
from tests.support.dev_process import DevProcess, alive, postgres_processes
from tests.support.task_loop import PAY_SUPPLIER
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def _postmaster_pid(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split("\n", 1)[0])
    return pid if alive(pid) else None


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not under pytest's tmp dir: that is mode 0700, and PostgreSQL runs as its own user.
    path = Path(tempfile.mkdtemp(prefix="phi-dev-restart-"))
    yield path
    for process in postgres_processes(path / "pgdata"):  # whatever the outcome, leave no server behind
        process.kill()
    shutil.rmtree(path, ignore_errors=True)


def test_after_a_hard_kill_the_next_start_adopts_postgresql_and_a_clean_stop_stops_it(
    data_dir: Path, tmp_path: Path
) -> None:
    pgdata = data_dir / "pgdata"
    # Given `phi dev` running, then killed hard (SIGKILL: no clean-up at all)
    first = DevProcess(data_dir, tmp_path / "first.log")
    wait_until(first.healthy, timeout=180, interval=0.5)
    # with a task waiting on an approval
    user = ApiSession(f"http://127.0.0.1:{first.api_port}")
    user.sign_up(f"restart-{uuid.uuid4().hex[:10]}@example.com")
    user.create_org("Restarts Ltd")
    agent = user.create_agent()
    user.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": PAY_SUPPLIER})
    run = user.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "pay_supplier", "input": {"amount": 5}})

    def pending_approval() -> dict[str, Any] | None:
        found = user.ok("GET", f"/orgs/{user.org_id}/approvals", params={"task_id": run["task_id"]})
        return found[0] if found and found[0]["status"] == "PENDING" else None

    approval = wait_until(pending_approval, timeout=120, interval=0.3)
    postmaster = _postmaster_pid(pgdata)
    assert postmaster is not None
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=30)
    assert alive(postmaster), "precondition: a hard kill leaves PostgreSQL running"

    # When it is started again, it adopts that PostgreSQL and serves
    second = DevProcess(data_dir, tmp_path / "second.log")
    wait_until(second.healthy, timeout=180, interval=0.5)
    assert _postmaster_pid(pgdata) == postmaster
    # and the task whose execution was lost failed, its approval with it: nobody can approve it any more
    user.client.base_url = f"http://127.0.0.1:{second.api_port}"
    task = user.ok("GET", f"/tasks/{run['task_id']}")
    assert task["status"] == "FAILED" and task["error"]["error"] == "Task.Orphaned"
    assert user.ok("GET", f"/approvals/{approval['id']}")["status"] == "CANCELLED"
    late = user.request("POST", f"/approvals/{approval['id']}/approve", json={})
    assert late.status_code == 409 and late.json()["error"]["details"]["status"] == "CANCELLED"

    # And a second stack on the same data folder is refused while this one runs
    third = DevProcess(data_dir, tmp_path / "third.log")
    assert third.process.wait(timeout=120) == 1
    assert "another phi process" in third.log()
    assert second.healthy()

    # Then a clean stop (SIGTERM, as Ctrl-C) ends the process and PostgreSQL with it
    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(timeout=120) == 0, second.log()
    assert "Stopped." in second.log()
    wait_until(lambda: not alive(postmaster), timeout=30)
    assert postgres_processes(pgdata) == []

"""`make demo`'s main job, `phi demo`, run as a new user runs it: its own embedded stack in a fresh data folder."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.api import ApiSession
from tests.support.dev_process import DevProcess, postgres_processes
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def test_the_demo_runs_the_three_role_templates_end_to_end_and_stops_everything(tmp_path: Path) -> None:
    # The demo starts and configures its own stack: nothing of this test session's stack may leak into it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHI_", "AWS_"))}
    phi = Path(sys.executable).with_name("phi")
    result = subprocess.run(
        [str(phi), "demo", "--data-dir", str(tmp_path / "phi-data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    output = result.stdout
    assert result.returncode == 0, (output[-3000:], result.stderr[-3000:])
    assert output.count("finished SUCCEEDED") == 3, output[-3000:]
    for title in ("# Daily warehouse report — Leeds DC", "# Shift handover — Leeds DC", "# Weekly incident summary"):
        assert title in output
    assert "SOP-OUT-04.docx: READY" in output
    assert "TASK_COMPLETED" in output  # the event timeline
    assert "Narrative analysis needs an LLM: none is configured" in output  # the honest no-LLM path
    assert "\nStopped: local agent, API, moto server and PostgreSQL.\n\nNext steps:" in output
    [pid] = re.findall(r"Local agent started as process (\d+)", output)
    with pytest.raises(ProcessLookupError):  # stopped and reaped, not left running
        os.kill(int(pid), 0)

    # And its next steps hold: `phi dev` on the same data folder serves the account it prints, with the three reports
    [(email, password)] = re.findall(r"log in as\s+(\S+@\S+) / (\S+) to see", output)
    assert f"phi dev --data-dir {tmp_path / 'phi-data'}" in output  # not `make dev`: that serves the repository's .phi
    dev = DevProcess(tmp_path / "phi-data", tmp_path / "dev.log")
    try:
        wait_until(dev.healthy, timeout=180, interval=0.5)
        user = ApiSession(f"http://127.0.0.1:{dev.api_port}")
        user.token = user.ok("POST", "/auth/login", json={"email": email, "password": password})["access_token"]
        [org] = user.ok("GET", "/orgs")
        tasks = user.ok("GET", f"/orgs/{org['id']}/tasks")
        assert sorted((t["type"], t["status"]) for t in tasks) == [
            ("DAILY_WAREHOUSE_REPORT", "SUCCEEDED"),
            ("SHIFT_HANDOVER", "SUCCEEDED"),
            ("WEEKLY_INCIDENT_SUMMARY", "SUCCEEDED"),
        ]
        console = user.request("GET", "/console/login")
        assert console.status_code == 200
    finally:
        dev.process.send_signal(signal.SIGTERM)
        try:
            code = dev.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            dev.process.send_signal(signal.SIGUSR1)  # its threads' stacks into its log: where the stop waits
            wait_until(lambda: "most recent call first" in dev.log(), timeout=30, interval=0.5)
            dev.process.kill()  # leave nothing running: a killed phi dev leaves its PostgreSQL behind
            dev.process.wait(timeout=30)
            for server in postgres_processes(tmp_path / "phi-data" / "pgdata"):
                server.kill()
            raise AssertionError(f"phi dev did not stop within 120 s of SIGTERM:\n{dev.log()[-6000:]}") from None
    assert code == 0, dev.log()

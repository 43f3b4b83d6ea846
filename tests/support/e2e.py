"""Helpers for end-to-end tests: local agents as separate processes, running reports."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tests.support.api import ApiSession

REPORT_DAY = date(2026, 11, 20)


@dataclass
class LocalAgentProcess:
    process: subprocess.Popen[bytes]
    config_file: Path
    log_file: Path
    env: dict[str, str]

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def restart(self) -> None:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(self.command(), env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "phi_agent", "run", "--config", str(self.config_file)]


StartAgent = Callable[..., LocalAgentProcess]


def stop_after_test(agents: list[LocalAgentProcess]) -> None:
    """A graceful stop waits out the agent's long poll (up to 20 s, so that whatever it receives is released);
    after a test nothing is pending, so every agent is signalled at once and what is still polling is killed."""
    for agent_process in agents:
        if agent_process.process.poll() is None:
            agent_process.process.send_signal(signal.SIGTERM)
    for agent_process in agents:
        try:
            agent_process.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            agent_process.process.kill()
            agent_process.process.wait()


def event_types(task: dict[str, Any]) -> list[str]:
    return [event["type"] for event in task["events"]]


def start_report(session: ApiSession, agent: dict[str, Any]) -> dict[str, Any]:
    """Starts the agent's daily report for REPORT_DAY: the run-task answer (its task_id)."""
    run: dict[str, Any] = session.ok(
        "POST",
        f"/agents/{agent['id']}/run-task",
        json={"type": "DAILY_WAREHOUSE_REPORT", "input": {"date": REPORT_DAY.isoformat()}},
    )
    return run


def run_report(session: ApiSession, agent: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    return session.wait_for_task(start_report(session, agent)["task_id"], timeout=timeout)

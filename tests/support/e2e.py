"""Helpers for end-to-end tests: local agents as separate processes, running reports."""

from __future__ import annotations

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


def event_types(task: dict[str, Any]) -> list[str]:
    return [event["type"] for event in task["events"]]


def run_report(session: ApiSession, agent: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    run = session.ok(
        "POST",
        f"/agents/{agent['id']}/run-task",
        json={"type": "DAILY_WAREHOUSE_REPORT", "input": {"date": REPORT_DAY.isoformat()}},
    )
    return session.wait_for_task(run["task_id"], timeout=timeout)

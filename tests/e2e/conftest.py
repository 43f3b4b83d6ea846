"""End-to-end fixtures: a sample warehouse database and local agents run as separate processes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.api import ApiSession
from tests.support.e2e import REPORT_DAY, LocalAgentProcess, StartAgent, stop_after_test


@pytest.fixture(scope="session")
def warehouse_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from phi.workflows.warehouse.sample_data import generate_sample_warehouse

    path = tmp_path_factory.mktemp("warehouse") / "warehouse.sqlite"
    generate_sample_warehouse(path, days=7, end_date=REPORT_DAY, seed=7)
    return path


@pytest.fixture
def start_local_agent(tmp_path: Path) -> Iterator[StartAgent]:
    started: list[LocalAgentProcess] = []

    def start(
        session: ApiSession,
        agent: dict[str, Any],
        db_url: str,
        *,
        aws_endpoint_url: str | None = None,
        local: dict[str, Any] | None = None,
    ) -> LocalAgentProcess:
        config = yaml.safe_load(session.ok("GET", f"/agents/{agent['id']}/config"))
        if aws_endpoint_url:
            config["cloud"]["aws_endpoint_url"] = aws_endpoint_url
        config["local"] = {**config.get("local", {}), **(local or {})}
        config_file = tmp_path / f"config-{agent['id']}.yaml"
        config_file.write_text(yaml.safe_dump(config))
        key = session.ok("POST", f"/agents/{agent['id']}/keys")["key"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PHI_", "AWS_"))}
        env.update({"PHI_AGENT_KEY": key, "PHI_WAREHOUSE_DB_URL": db_url})
        log_file = tmp_path / f"agent-{agent['id']}.log"
        agent_process = LocalAgentProcess(subprocess.Popen(["true"]), config_file, log_file, env)
        agent_process.restart()
        started.append(agent_process)
        return agent_process

    yield start
    stop_after_test(started)

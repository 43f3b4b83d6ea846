"""Fixtures for the local agent's unit tests (pure logic, no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml


def agent_config_dict(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "version": 1,
        "agent_id": "3f2c0000-0000-0000-0000-000000000001",
        "org_id": "9a1b0000-0000-0000-0000-000000000001",
        "name": "Warehouse analyst",
        "industry": "logistics",
        "role": "warehouse_analyst",
        "llm": {"model": "gpt-4o-mini", "temperature": 0.2},
        "tools": [
            {"key": "db.query", "settings": {"url_env": "PHI_TEST_DB_URL", "statement_timeout_seconds": 5}},
            {"key": "file.read", "settings": {"base_dir": "/tmp", "max_rows": 50}},
        ],
        "memory": {"namespaces": ["org:1"]},
        "workflows": [{"type": "DAILY_WAREHOUSE_REPORT", "schedule": "0 7 * * *", "timezone": "UTC", "input": {}}],
        "cloud": {
            "region": "us-east-1",
            "queue_url": "http://127.0.0.1:5000/123456789012/q",
            "api_url": "http://127.0.0.1:8000",
            "aws_endpoint_url": "http://127.0.0.1:5000",
        },
    }
    config.update(overrides)
    return config


@pytest.fixture
def config_dict():
    return agent_config_dict


@pytest.fixture
def write_config(tmp_path: Path):
    def _write(data: Any) -> Path:
        path = tmp_path / "phi-agent-config.yaml"
        path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data, encoding="utf-8")
        return path

    return _write

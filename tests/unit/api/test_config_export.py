"""The local agent's configuration document (DESIGN §3) and its YAML / JSON rendering."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import yaml

from phi.domain.models import Agent, AgentStatus, AgentTool, Tool
from phi.services.agents import config_document, render_config
from phi.settings import Settings


def _tool(key: str, runs_on: str, operations: list[str]) -> Tool:
    return Tool.model_validate(
        {
            "id": uuid.uuid4(),
            "key": key,
            "name": key,
            "runs_on": runs_on,
            "operations": operations,
            "config_schema": {},
            "available": True,
        }
    )


def _agent(tools: list[Tool]) -> Agent:
    now = datetime.now(UTC)
    return Agent(
        id=uuid.uuid4(),
        org_id=uuid.uuid4(),
        name="Leeds analyst",
        status=AgentStatus.ACTIVE,
        industry_key="logistics",
        role_key="warehouse_analyst",
        queue_url="http://sqs/000000000000/phi-dev-agent-x",
        created_at=now,
        updated_at=now,
        config={
            "llm": {"model": "gpt-4o", "temperature": 0.1},
            "workflows": [{"type": "DAILY_WAREHOUSE_REPORT", "schedule": "0 7 * * *", "timezone": "UTC"}],
        },
        tools=[AgentTool(tool_id=t.id, key=t.key, config={"setting": t.key}) for t in tools],
    )


def test_the_document_lists_local_operations_the_connection_and_no_secrets() -> None:
    catalog = [
        _tool("db", "LOCAL", ["db.query"]),
        _tool("file", "LOCAL", ["file.read"]),
        _tool("email", "CLOUD", ["email.send"]),
    ]
    agent = _agent(catalog)
    settings = Settings.model_validate(
        {
            "AWS_REGION": "eu-west-2",
            "jwt_secret": "s3cret-value",
            "openai_api_key": "sk-secret",
            "database_url": "postgresql://u:dbpass@h/db",
        }
    )

    document = config_document(agent, catalog, settings, "https://api.example.com")
    text = render_config(document, "yaml").body

    assert [(t.key, t.settings) for t in document.tools] == [
        ("db.query", {"setting": "db"}),
        ("file.read", {"setting": "file"}),
    ]
    assert (document.industry, document.role, document.llm.model) == ("logistics", "warehouse_analyst", "gpt-4o")
    assert document.workflows[0].schedule == "0 7 * * *"
    assert (document.cloud.region, document.cloud.api_url) == ("eu-west-2", "https://api.example.com")
    assert document.cloud.queue_url == agent.queue_url
    assert document.memory["namespaces"] == [f"org:{agent.org_id}", f"agent:{agent.id}"]
    assert not any(secret in text for secret in ("s3cret-value", "sk-secret", "dbpass"))


def test_yaml_and_json_renderings_carry_the_same_document_and_a_download_name() -> None:
    catalog = [_tool("db", "LOCAL", ["db.query"])]
    document = config_document(_agent(catalog), catalog, Settings(), "http://127.0.0.1:8000")

    as_yaml, as_json = render_config(document, "yaml"), render_config(document, "json")

    assert (as_yaml.media_type, as_yaml.filename) == ("application/yaml", "phi-agent-config.yaml")
    assert (as_json.media_type, as_json.filename) == ("application/json", "phi-agent-config.json")
    assert yaml.safe_load(as_yaml.body) == json.loads(as_json.body) == document.model_dump(mode="json")
    assert as_yaml.body.startswith("version: 1\nagent_id:")  # key order kept for people reading the file

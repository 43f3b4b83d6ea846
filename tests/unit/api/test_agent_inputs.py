"""Tool configuration against the catalog's JSON Schemas, the create/patch body rules, the login back-off."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from phi.domain.models import Tool
from phi.services.agents import AgentCreate, AgentUpdate
from phi.services.auth import WINDOW_SECONDS, retry_after_seconds
from phi.services.catalog import InvalidToolConfig, ToolUnavailable, validate_tool_config

FILE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["base_dir"],
    "properties": {
        "base_dir": {"type": "string", "minLength": 1},
        "max_rows": {"type": "integer", "minimum": 1, "default": 100000},
    },
}


def _tool(schema: dict[str, Any], available: bool = True) -> Tool:
    return Tool(
        id=uuid.uuid4(),
        key="file",
        name="Files",
        runs_on="LOCAL",
        operations=["file.read"],
        config_schema=schema,
        available=available,
    )


def test_a_valid_config_gets_the_schema_defaults_without_touching_the_input() -> None:
    given = {"base_dir": "/exports"}
    assert validate_tool_config(_tool(FILE_SCHEMA), given) == {"base_dir": "/exports", "max_rows": 100000}
    assert given == {"base_dir": "/exports"}


@pytest.mark.parametrize(
    ("config", "field", "needle"),
    [
        ({}, "", "must contain ['base_dir']"),
        ({"base_dir": "/x", "max_rows": 0}, "max_rows", "file.max_rows must be bigger than or equal to 1"),
        ({"base_dir": 7}, "base_dir", "file.base_dir must be string"),
        ({"base_dir": "/x", "password": "p"}, "", "password"),
    ],
)
def test_an_invalid_config_names_the_tool_and_field(config: dict[str, Any], field: str, needle: str) -> None:
    with pytest.raises(InvalidToolConfig) as caught:
        validate_tool_config(_tool(FILE_SCHEMA), config)
    assert needle in caught.value.message
    assert caught.value.details["tool"] == "file" and caught.value.details["field"] == field


def test_an_unavailable_tool_is_refused() -> None:
    with pytest.raises(ToolUnavailable):
        validate_tool_config(_tool({"type": "object"}, available=False), {})


def test_the_create_body_needs_a_role_and_one_way_of_naming_tools() -> None:
    by_keys = AgentCreate.model_validate(
        {"name": "a", "industry_key": "logistics", "role_key": "ops_manager", "tools": {"db": {}}}
    )
    by_ids = AgentCreate.model_validate(
        {"name": "a", "role_template_id": str(uuid.uuid4()), "tool_ids": [str(uuid.uuid4())], "tool_config": {"db": {}}}
    )
    assert by_keys.names_tools() and by_ids.names_tools()
    for bad in (
        {"name": "a"},
        {"name": "a", "role_key": "r", "tools": {}, "tool_ids": []},
        {"name": "a", "role_key": "r", "tools": {}, "tool_config": {}},
    ):
        with pytest.raises(ValidationError):
            AgentCreate.model_validate(bad)


def test_patch_cannot_delete_through_status() -> None:
    assert AgentUpdate.model_validate({"status": "DISABLED"}).status == "DISABLED"
    with pytest.raises(ValidationError):
        AgentUpdate.model_validate({"status": "DELETED"})


def test_retry_after_counts_down_from_the_oldest_failure() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds(now - timedelta(seconds=60), now) == WINDOW_SECONDS - 60
    assert retry_after_seconds(now - timedelta(seconds=WINDOW_SECONDS + 5), now) == 1

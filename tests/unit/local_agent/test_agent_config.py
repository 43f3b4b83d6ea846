from __future__ import annotations

from pathlib import Path

import pytest

from phi_agent.config import ConfigError, load_config
from phi_agent.tools.registry import build_registry


def test_valid_config_loads_with_defaults_and_ignores_unknown_keys(write_config, config_dict) -> None:
    path = write_config(config_dict(future_feature={"x": 1}))
    runtime = load_config(path, environ={"PHI_AGENT_KEY": "k-123"})
    assert runtime.agent.local.concurrency == 2
    assert runtime.agent.local.wait_time_seconds == 20
    assert runtime.agent.local.inline_result_limit_bytes == 131072
    assert runtime.agent.tool_keys() == ["db.query", "file.read"]
    assert runtime.agent_key == "k-123"


def test_missing_field_is_named(write_config, config_dict) -> None:
    data = config_dict()
    del data["cloud"]["queue_url"]
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(data), environ={})
    assert caught.value.problems == ["cloud.queue_url: field required"]


def test_wrong_types_are_all_reported(write_config, config_dict) -> None:
    data = config_dict(local={"concurrency": "many", "wait_time_seconds": 40}, tools=[{"settings": {}}])
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(data), environ={})
    text = "\n".join(caught.value.problems)
    assert "local.concurrency: input should be a valid integer" in text
    assert "local.wait_time_seconds: input should be less than or equal to 20" in text
    assert "tools[0].key: field required" in text


def test_not_yaml_and_not_mapping(write_config, config_dict, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write_config("a: [1, 2"), environ={})
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(write_config("- 1\n- 2\n"), environ={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml", environ={})


def test_agent_key_in_yaml_is_refused(write_config, config_dict) -> None:
    with pytest.raises(ConfigError, match="PHI_AGENT_KEY"):
        load_config(write_config(config_dict(agent_key="secret")), environ={})


def test_concurrency_from_environment(write_config, config_dict) -> None:
    path = write_config(config_dict())
    assert load_config(path, environ={"PHI_AGENT_CONCURRENCY": "5"}).agent.local.concurrency == 5
    with pytest.raises(ConfigError, match="PHI_AGENT_CONCURRENCY"):
        load_config(path, environ={"PHI_AGENT_CONCURRENCY": "zero"})


def test_tool_settings_errors_name_the_field(write_config, config_dict, tmp_path: Path) -> None:
    data = config_dict(
        tools=[
            {"key": "db.query", "settings": {"url_env": "PHI_NOT_SET_ANYWHERE"}},
            {"key": "file.read", "settings": {"max_rows": -1}},
        ]
    )
    runtime = load_config(write_config(data), environ={})
    with pytest.raises(ConfigError) as caught:
        build_registry(runtime.agent, environ={})
    problems = caught.value.problems
    assert any(
        p.startswith("tools[0].settings.url_env: the environment variable PHI_NOT_SET_ANYWHERE") for p in problems
    )
    assert any(p.startswith("tools[1].settings.max_rows: input should be greater than 0") for p in problems)


def test_the_file_folder_is_decided_locally_and_the_local_config_overrides_tool_settings(
    write_config, config_dict, tmp_path: Path
) -> None:
    # Given the cloud names no folder for file.read: the agent reads `files/` next to its config file
    path = write_config(config_dict(tools=[{"key": "file.read", "settings": {"max_rows": 10}}]))
    settings = load_config(path, environ={}).agent.tools[0].settings
    assert settings == {"max_rows": 10, "base_dir": str(path.parent / "files")}

    # And this machine's own config wins over what the cloud sent, relative folders from the config's folder
    local = {"tools": {"file.read": {"base_dir": "exports", "max_rows": 5}, "db.query": {"max_rows": 7}}}
    data = config_dict(
        tools=[
            {"key": "file.read", "settings": {"base_dir": "/cloud/said"}},
            {"key": "db.query", "settings": {"url_env": "PHI_DB", "max_rows": 100}},
        ],
        local=local,
    )
    tools = load_config(write_config(data), environ={}).agent.tools
    assert tools[0].settings == {"base_dir": str(path.parent / "exports"), "max_rows": 5}
    assert tools[1].settings == {"url_env": "PHI_DB", "max_rows": 7}


def test_registry_serves_only_enabled_tools(write_config, config_dict, tmp_path: Path) -> None:
    data = config_dict(tools=[{"key": "file.read", "settings": {"base_dir": str(tmp_path)}}, {"key": "cctv.snapshot"}])
    runtime = load_config(write_config(data), environ={})
    registry = build_registry(runtime.agent, environ={})
    assert registry.keys == ["file.read"]
    from phi_agent.errors import ToolError

    with pytest.raises(ToolError) as caught:
        registry.get("db.query")
    assert caught.value.error == "Tool.NotAllowed"
    assert "file.read" in caught.value.cause

"""Agent configuration: the YAML served by the API (`GET /agents/{id}/config`) plus the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

AGENT_KEY_ENV = "PHI_AGENT_KEY"
CONCURRENCY_ENV = "PHI_AGENT_CONCURRENCY"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` name each bad field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _Lenient(BaseModel):
    # Forward compatible: keys added by newer servers are ignored.
    model_config = ConfigDict(extra="ignore")


class ToolEntry(_Lenient):
    key: str = Field(min_length=1)
    settings: dict[str, Any] = Field(default_factory=dict)


DEFAULT_MAX_RESULT_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_ROW_BYTES = 4 * 1024 * 1024


class DbQuerySettings(_Lenient):
    url_env: str = Field(min_length=1)
    statement_timeout_seconds: float = Field(default=30, gt=0)
    max_rows: int = Field(default=100_000, gt=0)
    max_result_bytes: int = Field(default=DEFAULT_MAX_RESULT_BYTES, ge=1_024)
    max_row_bytes: int = Field(default=DEFAULT_MAX_ROW_BYTES, ge=1_024)


class FileReadSettings(_Lenient):
    base_dir: Path
    max_rows: int = Field(default=100_000, gt=0)
    max_result_bytes: int = Field(default=DEFAULT_MAX_RESULT_BYTES, ge=1_024)
    max_row_bytes: int = Field(default=DEFAULT_MAX_ROW_BYTES, ge=1_024)
    # Files larger than max_file_bytes are refused (CSV too). Excel files are zip archives: refuse bombs
    # before parsing them.
    max_file_bytes: int = Field(default=200 * 1024 * 1024, ge=1_024)
    max_uncompressed_bytes: int = Field(default=500 * 1024 * 1024, ge=1_024)
    max_compression_ratio: float = Field(default=100, gt=1)
    max_shared_strings_bytes: int = Field(default=64 * 1024 * 1024, ge=1_024)
    # openpyxl reads every shared string before the first row, where no deadline reaches (~150,000 a second).
    max_shared_strings: int = Field(default=2_000_000, gt=0)
    # Any other part but the sheets (styles, workbook, themes…): openpyxl parses them whole before reading.
    max_part_bytes: int = Field(default=16 * 1024 * 1024, ge=1_024)
    max_cells: int = Field(default=20_000_000, gt=0)
    max_columns: int = Field(default=4_096, gt=0)
    timeout_seconds: float = Field(default=60, gt=0)


FILES_DIR_DEFAULT = "files"  # file.read's folder when nothing names one: `files/` next to the config file


class CloudConfig(_Lenient):
    region: str = Field(min_length=1)
    queue_url: str = Field(min_length=1)
    api_url: str = Field(min_length=1)
    aws_endpoint_url: str | None = None
    # Large results are uploaded into this bucket only (a config written before the field: any bucket of the
    # region's S3 endpoint, or of aws_endpoint_url).
    results_bucket: str | None = None
    # The scheme and host of the upload URLs (the embedded stack's S3); null: the region's S3 endpoint. A config
    # written before the field: aws_endpoint_url.
    results_endpoint_url: str | None = None


class LocalConfig(_Lenient):
    concurrency: int = Field(default=2, ge=1, le=64)
    heartbeat_seconds: float = Field(default=30, gt=0)
    wait_time_seconds: int = Field(default=20, ge=0, le=20)
    visibility_timeout_seconds: int = Field(default=60, ge=10, le=43_200)
    # A received message stays hidden this long until its tool starts (then it is extended to
    # visibility_timeout_seconds while the tool runs): a message lost to a dying agent's last long poll
    # comes back quickly.
    initial_visibility_seconds: int = Field(default=15, ge=2, le=43_200)
    inline_result_limit_bytes: int = Field(default=131_072, ge=1_024, le=200_000)
    # A request that waited on the queue at least this long (by the queue's clock: the agent was offline or busy)
    # is checked with Step Functions before its tool runs, and not run when its step is over — the task was
    # cancelled, or timed out, while it waited. 0 checks every request (one more call to Step Functions each).
    stale_request_seconds: float = Field(default=30, ge=0)
    shutdown_grace_seconds: float = Field(default=30, ge=0)
    # This machine's own say over its tools: tool key → settings that win over the ones the cloud sent
    # (e.g. {"file.read": {"base_dir": "/srv/exports"}}). Relative folders are relative to the config file.
    tools: dict[str, dict[str, Any]] = Field(default_factory=dict)


class AgentConfig(_Lenient):
    version: Literal[1]
    agent_id: str = Field(min_length=1)
    org_id: str = Field(min_length=1)
    name: str = ""
    industry: str | None = None
    role: str | None = None
    tools: list[ToolEntry] = Field(default_factory=list)
    cloud: CloudConfig
    local: LocalConfig = Field(default_factory=LocalConfig)

    def tool_keys(self) -> list[str]:
        return [tool.key for tool in self.tools]


class RuntimeConfig(BaseModel):
    """The validated YAML plus what only the environment may hold."""

    model_config = ConfigDict(frozen=True)

    agent: AgentConfig
    agent_key: str | None
    source: Path


def _format_validation_error(error: ValidationError, prefix: str = "") -> list[str]:
    problems = []
    for item in error.errors():
        location = prefix + ".".join(
            f"[{part}]" if isinstance(part, int) else str(part) for part in item["loc"]
        ).replace(".[", "[")
        message = item["msg"]
        problems.append(f"{location or '<root>'}: {message[:1].lower()}{message[1:]}")
    return problems


def parse_agent_config(data: object) -> AgentConfig:
    if not isinstance(data, dict):
        raise ConfigError(["<root>: expected a mapping of settings (is this the agent config file?)"])
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_format_validation_error(error)) from None


def _concurrency_override(agent: AgentConfig, environ: Mapping[str, str]) -> AgentConfig:
    raw = environ.get(CONCURRENCY_ENV)
    if raw is None or raw.strip() == "":
        return agent
    try:
        local = LocalConfig.model_validate({**agent.local.model_dump(), "concurrency": raw.strip()})
    except ValidationError as error:
        problems = _format_validation_error(error, prefix=f"{CONCURRENCY_ENV} -> local.")
        raise ConfigError(problems) from None
    return agent.model_copy(update={"local": local})


def _local_tool_settings(agent: AgentConfig, path: Path) -> AgentConfig:
    """Each tool's settings with this machine's overrides (`local.tools`) applied, and file.read's base folder
    decided here when neither side names one; relative folders are taken from the config file's folder."""
    tools = []
    for entry in agent.tools:
        settings = {**entry.settings, **agent.local.tools.get(entry.key, {})}
        if entry.key == "file.read":
            base_dir = settings.get("base_dir") or FILES_DIR_DEFAULT
            if isinstance(base_dir, str):  # anything else is left for the settings check to name
                settings["base_dir"] = str(path.absolute().parent / Path(base_dir).expanduser())
        tools.append(entry.model_copy(update={"settings": settings}))
    return agent.model_copy(update={"tools": tools})


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> RuntimeConfig:
    """Read and validate the agent config; every problem names the field at fault."""
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read the config file ({error.strerror or error})"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: not valid YAML ({error})"]) from None
    agent = _local_tool_settings(_concurrency_override(parse_agent_config(data), env), path)
    if isinstance(data, dict) and "agent_key" in data:
        raise ConfigError([f"agent_key: must not be in the YAML; set the {AGENT_KEY_ENV} environment variable"])
    agent_key = env.get(AGENT_KEY_ENV) or None
    return RuntimeConfig(agent=agent, agent_key=agent_key, source=path)

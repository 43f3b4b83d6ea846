"""The tools this agent serves: exactly those enabled in its config, built once at start-up."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from phi_agent.config import AgentConfig, ConfigError, DbQuerySettings, FileReadSettings, ToolEntry
from phi_agent.errors import ToolError
from phi_agent.logs import log_fields, redact
from phi_agent.tools.base import Tool
from phi_agent.tools.db_query import DbQueryTool
from phi_agent.tools.file_read import FileReadTool

logger = logging.getLogger(__name__)
SettingsT = TypeVar("SettingsT", bound=BaseModel)
SUPPORTED_TOOLS = ("db.query", "file.read")


class ToolRegistry:
    def __init__(self, tools: Mapping[str, Tool]) -> None:
        self._tools = dict(tools)

    @property
    def keys(self) -> list[str]:
        return sorted(self._tools)

    def items(self) -> list[tuple[str, Tool]]:
        return sorted(self._tools.items())

    def get(self, key: str) -> Tool:
        tool = self._tools.get(key)
        if tool is None:
            enabled = ", ".join(self.keys) or "none"
            raise ToolError(
                "Tool.NotAllowed",
                f"the tool '{key}' is not enabled in this agent's config (enabled: {enabled})",
            )
        return tool

    def db_tools(self) -> list[DbQueryTool]:
        return [tool for tool in self._tools.values() if isinstance(tool, DbQueryTool)]

    def close(self) -> None:
        for tool in self._tools.values():
            if isinstance(tool, DbQueryTool):
                tool.dispose()


def _settings(model: type[SettingsT], entry: ToolEntry, index: int) -> SettingsT:
    try:
        return model.model_validate(entry.settings)
    except ValidationError as error:
        problems = [
            f"tools[{index}].settings.{'.'.join(str(p) for p in item['loc'])}: "
            f"{item['msg'][:1].lower()}{item['msg'][1:]}"
            for item in error.errors()
        ]
        raise ConfigError(problems) from None


def _build_tool(
    entry: ToolEntry, index: int, environ: Mapping[str, str], concurrency: int, allow_privileged_db_login: bool
) -> Tool:
    if entry.key == "db.query":
        db_settings = _settings(DbQuerySettings, entry, index)
        url = environ.get(db_settings.url_env, "").strip()
        if not url:
            raise ConfigError(
                [
                    f"tools[{index}].settings.url_env: the environment variable {db_settings.url_env} "
                    "is not set (it must hold the database URL, e.g. postgresql://user:pass@host/db)"
                ]
            )
        try:
            return DbQueryTool(
                db_settings, url, pool_size=concurrency, allow_privileged_login=allow_privileged_db_login
            )
        except Exception as error:  # SQLAlchemy raises ArgumentError, NoSuchModuleError, ImportError...
            problem = f"{db_settings.url_env} is not a usable database URL ({redact(str(error))})"
            raise ConfigError([f"tools[{index}].settings.url_env: {problem}"]) from None
    file_settings = _settings(FileReadSettings, entry, index)
    return FileReadTool(file_settings)


def build_registry(
    config: AgentConfig, environ: Mapping[str, str], *, allow_privileged_db_login: bool = False
) -> ToolRegistry:
    """Build every enabled tool; settings problems are reported together, naming the field."""
    tools: dict[str, Tool] = {}
    problems: list[str] = []
    for index, entry in enumerate(config.tools):
        if entry.key not in SUPPORTED_TOOLS:
            logger.warning(
                "tool enabled in the config is not supported by this agent version; upgrade phi-agent",
                extra=log_fields(tool=entry.key),
            )
            continue
        try:
            tools[entry.key] = _build_tool(entry, index, environ, config.local.concurrency, allow_privileged_db_login)
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        ToolRegistry(tools).close()
        raise ConfigError(problems)
    return ToolRegistry(tools)

"""Assemble the running agent from its config: credentials, tools, heartbeats and the poll loop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from phi_agent.api import ApiClient, KeyRefusal
from phi_agent.config import RuntimeConfig
from phi_agent.credentials import AwsClients, CredentialVendor, aws_clients, aws_session
from phi_agent.errors import ToolError
from phi_agent.heartbeat import AgentState, Heartbeater
from phi_agent.logs import log_fields
from phi_agent.tools.registry import ToolRegistry, build_registry
from phi_agent.worker import Worker

logger = logging.getLogger(__name__)


class ExitCode(IntEnum):
    """Process exit codes; scripts and service managers can rely on them."""

    OK = 0
    INTERNAL_ERROR = 1
    USAGE = 2
    CONFIG_INVALID = 3
    AUTH_FAILED = 4
    CLOUD_UNREACHABLE = 5
    TOOL_CHECK_FAILED = 6
    STOPPED_WITH_RUNNING_TOOLS = 7
    PRIVILEGED_DB_LOGIN = 8


@dataclass
class Agent:
    runtime: RuntimeConfig
    registry: ToolRegistry
    clients: AwsClients
    state: AgentState
    heartbeater: Heartbeater | None
    refusal: KeyRefusal


def api_client(runtime: RuntimeConfig, attempts: int = 4) -> ApiClient | None:
    if runtime.agent_key is None:
        return None
    return ApiClient(runtime.agent.cloud.api_url, runtime.agent_key, attempts=attempts)


def build_agent(
    runtime: RuntimeConfig, environ: Mapping[str, str], *, allow_privileged_db_login: bool = False
) -> Agent:
    """Raises ConfigError for a bad tool setting and ApiError when the agent key is refused."""
    registry = build_registry(runtime.agent, environ, allow_privileged_db_login=allow_privileged_db_login)
    refusal = KeyRefusal()
    try:
        api = api_client(runtime)
        vendor = CredentialVendor(api, refusal=refusal) if api is not None else None
        clients = aws_clients(aws_session(runtime.agent, vendor), runtime.agent)
    except Exception:
        registry.close()
        raise
    state = AgentState(registry.keys)
    heartbeat_api = api_client(runtime, attempts=2)
    heartbeater = (
        Heartbeater(heartbeat_api, state, runtime.agent.local.heartbeat_seconds, refusal)
        if heartbeat_api is not None
        else None
    )
    return Agent(runtime, registry, clients, state, heartbeater, refusal)


def privileged_logins(registry: ToolRegistry) -> list[str]:
    """Describe every db.query login that is privileged; an unreachable database is checked on connect."""
    problems = []
    for tool in registry.db_tools():
        try:
            privileges = tool.privileges()
        except ToolError as error:
            logger.warning(
                "could not check the database login's privileges now; each new connection is checked",
                extra=log_fields(problem=error.cause),
            )
            continue
        if privileges is not None and privileges.dangerous:
            problems.append(f"{tool.safe_url()}: {privileges.describe()}")
    return problems


def serve(agent: Agent, stop: threading.Event) -> bool:
    """Run until `stop` is set (or the API refuses the agent key), then report OFFLINE; True when no tool was
    cut short."""
    agent.refusal.subscribe(stop.set)
    worker = Worker(agent.runtime.agent, agent.clients, agent.registry, agent.state)
    if agent.heartbeater is not None:
        agent.heartbeater.start()
    on_stopping = agent.heartbeater.stop if agent.heartbeater is not None else None
    try:
        return worker.run(stop, on_stopping=on_stopping)
    finally:
        if agent.heartbeater is not None:
            agent.heartbeater.stop()
        agent.registry.close()
        logger.info("stopped")

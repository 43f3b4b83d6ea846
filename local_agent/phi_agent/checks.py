"""`phi-agent check`: every precondition of `run`, tested one by one and reported in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from phi_agent.api import ApiError
from phi_agent.app import ExitCode, api_client
from phi_agent.config import ConfigError, RuntimeConfig, load_config
from phi_agent.credentials import CredentialVendor, aws_clients, aws_session
from phi_agent.errors import ToolError
from phi_agent.logs import redact
from phi_agent.tools.db_query import DbQueryTool
from phi_agent.tools.registry import ToolRegistry, build_registry


@dataclass
class CheckItem:
    name: str
    ok: bool
    detail: str
    failure_code: ExitCode = ExitCode.OK


@dataclass
class CheckReport:
    config_path: Path
    items: list[CheckItem] = field(default_factory=list)

    def add(self, name: str, detail: str, failure_code: ExitCode | None = None) -> None:
        self.items.append(CheckItem(name, failure_code is None, redact(detail), failure_code or ExitCode.OK))

    @property
    def exit_code(self) -> ExitCode:
        return next((item.failure_code for item in self.items if not item.ok), ExitCode.OK)

    def render(self) -> str:
        width = max((len(item.name) for item in self.items), default=8) + 2
        lines = [f"phi-agent check: {self.config_path}"]
        for item in self.items:
            mark = " OK " if item.ok else "FAIL"
            detail_lines = item.detail.splitlines() or [""]
            lines.append(f"  [{mark}] {item.name.ljust(width)}{detail_lines[0]}")
            lines.extend(f"         {' ' * width}{extra}" for extra in detail_lines[1:])
        failures = sum(not item.ok for item in self.items)
        lines.append("All checks passed." if failures == 0 else f"{failures} check(s) failed.")
        return "\n".join(lines)


def _check_credentials(runtime: RuntimeConfig, report: CheckReport) -> boto3.Session | None:
    api = api_client(runtime)
    if api is None:
        session = boto3.Session(region_name=runtime.agent.cloud.region)
        if session.get_credentials() is None:
            report.add(
                "credentials",
                "PHI_AGENT_KEY is not set and no AWS credentials were found",
                ExitCode.AUTH_FAILED,
            )
            return None
        report.add("credentials", "PHI_AGENT_KEY is not set: using the default AWS credentials (development only)")
        return session
    vendor = CredentialVendor(api)
    try:
        expires = vendor.fetch().expiration
    except ApiError as error:
        code = ExitCode.AUTH_FAILED if error.is_auth_failure else ExitCode.CLOUD_UNREACHABLE
        report.add("credentials", f"the Phi API at {runtime.agent.cloud.api_url} refused or failed: {error}", code)
        return None
    until = expires.isoformat(sep=" ", timespec="seconds")
    report.add("credentials", f"agent key accepted by {runtime.agent.cloud.api_url}; AWS credentials until {until}")
    return aws_session(runtime.agent, vendor)


def _check_queue(runtime: RuntimeConfig, session: boto3.Session, report: CheckReport) -> None:
    sqs = aws_clients(session, runtime.agent).sqs
    try:
        attributes = sqs.get_queue_attributes(
            QueueUrl=runtime.agent.cloud.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
    except (ClientError, BotoCoreError) as error:
        report.add("queue", f"{runtime.agent.cloud.queue_url}: {error}", ExitCode.CLOUD_UNREACHABLE)
        return
    waiting = attributes.get("ApproximateNumberOfMessages", "?")
    report.add("queue", f"{runtime.agent.cloud.queue_url} reachable ({waiting} request(s) waiting)")


def _check_tools(registry: ToolRegistry, report: CheckReport, allow_privileged: bool) -> None:
    for key, tool in registry.items():
        try:
            report.add(key, tool.check())
        except ToolError as error:
            report.add(key, f"{error.error}: {error.cause}", ExitCode.TOOL_CHECK_FAILED)
            continue
        except Exception as error:
            report.add(key, f"{type(error).__name__}: {error}", ExitCode.TOOL_CHECK_FAILED)
            continue
        if isinstance(tool, DbQueryTool):
            _check_login(tool, report, allow_privileged)
            _check_temp_file_limit(tool, report)


def _check_login(tool: DbQueryTool, report: CheckReport, allow_privileged: bool) -> None:
    try:
        privileges = tool.privileges()
    except ToolError as error:
        report.add("db login", f"could not read the login's privileges: {error.cause}", ExitCode.TOOL_CHECK_FAILED)
        return
    if privileges is None:
        return
    if privileges.dangerous:
        report.add(
            "db login",
            f"{privileges.describe()}\nWARNING: this login can reach the server's files or other sessions; "
            "phi-agent run refuses it unless started with --allow-privileged-db-login. "
            "Create a read-only login (see the README).",
            None if allow_privileged else ExitCode.PRIVILEGED_DB_LOGIN,
        )
    else:
        report.add("db login", privileges.describe())


def _check_temp_file_limit(tool: DbQueryTool, report: CheckReport) -> None:
    """A warning, not a failure: without the limit one sorting query can fill the server's disk until its timeout."""
    try:
        limit = tool.temp_file_limit()
    except ToolError as error:
        report.add("temp files", f"could not read temp_file_limit: {error.cause}")
        return
    if limit is None:
        return
    if limit == "-1":
        report.add(
            "temp files",
            "the database login's temp_file_limit = -1 (unlimited)\nWARNING: one query can write temporary files "
            "on the database server until its time limit; run ALTER ROLE <login> SET temp_file_limit = '1GB' "
            "(see the README).",
        )
    else:
        report.add("temp files", f"the database login's temp_file_limit = {limit}")


def run_checks(
    config_path: Path, environ: Mapping[str, str], *, allow_privileged_db_login: bool = False
) -> CheckReport:
    report = CheckReport(config_path)
    try:
        runtime = load_config(config_path, environ)
    except ConfigError as error:
        report.add("config", "\n".join(error.problems), ExitCode.CONFIG_INVALID)
        return report
    agent = runtime.agent
    report.add("config", f"agent {agent.agent_id} '{agent.name}', tools: {', '.join(agent.tool_keys()) or 'none'}")
    registry: ToolRegistry | None = None
    try:
        # check inspects a privileged login instead of refusing its connections.
        registry = build_registry(agent, environ, allow_privileged_db_login=True)
    except ConfigError as error:
        report.add("tool settings", "\n".join(error.problems), ExitCode.CONFIG_INVALID)
    session = _check_credentials(runtime, report)
    if session is not None:
        _check_queue(runtime, session, report)
    if registry is not None:
        _check_tools(registry, report, allow_privileged_db_login)
        registry.close()
    return report

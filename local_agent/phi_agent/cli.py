"""`phi-agent`: the command customers run (also `python -m phi_agent`)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from phi_agent import __version__
from phi_agent.api import ApiError
from phi_agent.app import ExitCode, build_agent, privileged_logins, serve
from phi_agent.checks import run_checks
from phi_agent.config import ConfigError, RuntimeConfig, load_config
from phi_agent.logs import configure_logging, log_fields

logger = logging.getLogger("phi_agent")

_EXIT_CODES_HELP = """\b
Exit codes:
  0  stopped cleanly / all checks passed
  1  unexpected internal error
  2  wrong command-line usage
  3  the config file or an environment variable is invalid
  4  the agent key was refused (PHI_AGENT_KEY), at start or later: revoked, or its agent deleted
  5  the Phi API or the AWS queue cannot be reached
  6  a tool cannot reach its database or folder (check)
  7  stopped while tools were still running (their requests are redelivered)
  8  the database login is privileged (superuser, server files…): use a read-only login"""

_ENVIRONMENT_HELP = """\b
Environment:
  PHI_AGENT_KEY          the agent key issued in the Phi console (never put it in the YAML)
  PHI_AGENT_CONFIG       default for --config
  PHI_AGENT_CONCURRENCY  overrides local.concurrency
  <url_env>              each db.query tool reads its database URL from the variable its
                         settings name, e.g. PHI_WAREHOUSE_DB_URL=postgresql://user:pass@host/db"""

config_option = click.option(
    "--config",
    "config_path",
    envvar="PHI_AGENT_CONFIG",
    default="phi-agent-config.yaml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Agent config downloaded from the Phi console (Agent → Local agent → Download config).",
)


@click.group(
    epilog=_EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="phi-agent")
def app() -> None:
    """Phi local agent: runs your virtual employee's tools (database queries, CSV/Excel files)
    on this machine, so your data never needs to be opened to the internet.

    \b
    Quick start:
      export PHI_AGENT_KEY=...                 # from the Phi console
      export PHI_WAREHOUSE_DB_URL=postgresql://readonly:pass@localhost/warehouse
      phi-agent check --config phi-agent-config.yaml
      phi-agent run   --config phi-agent-config.yaml
    """


def _load(config_path: Path) -> RuntimeConfig:
    try:
        return load_config(config_path)
    except ConfigError as error:
        click.echo(f"phi-agent: invalid configuration in {config_path}:", err=True)
        for problem in error.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(ExitCode.CONFIG_INVALID)


def _install_stop_handlers(stop: threading.Event) -> None:
    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            logger.warning("second stop signal: exiting without waiting for running tools")
            logging.shutdown()
            os._exit(ExitCode.STOPPED_WITH_RUNNING_TOOLS)
        logger.info("stop requested", extra=log_fields(signal=signal.Signals(signum).name))
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


allow_privileged_option = click.option(
    "--allow-privileged-db-login",
    is_flag=True,
    default=False,
    help="Run db.query even with a superuser login or one holding pg_read_server_files, pg_write_server_files, "
    "pg_execute_server_program or pg_signal_backend (not recommended: use a read-only login).",
)


@app.command(epilog=_ENVIRONMENT_HELP + "\n\n" + _EXIT_CODES_HELP)
@config_option
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@allow_privileged_option
def run(config_path: Path, log_level: str, allow_privileged_db_login: bool) -> None:
    """Serve tool requests until stopped (Ctrl-C or SIGTERM stop it cleanly).

    Logs are JSON lines on stderr.
    """
    configure_logging(log_level)
    runtime = _load(config_path)
    try:
        agent = build_agent(runtime, os.environ, allow_privileged_db_login=allow_privileged_db_login)
    except ConfigError as error:
        click.echo(f"phi-agent: invalid configuration in {config_path}:", err=True)
        for problem in error.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(ExitCode.CONFIG_INVALID)
    except ApiError as error:
        advice = (
            " (the key is wrong, revoked, or its agent deleted: issue a new key in the console and put it in "
            "PHI_AGENT_KEY)"
            if error.key_refused
            else ""
        )
        logger.error(f"could not get AWS credentials from the Phi API{advice}", extra=log_fields(problem=str(error)))
        sys.exit(ExitCode.AUTH_FAILED if error.is_auth_failure else ExitCode.CLOUD_UNREACHABLE)
    if not allow_privileged_db_login:
        refused = privileged_logins(agent.registry)
        if refused:
            agent.registry.close()
            click.echo("phi-agent: refusing to run db.query with a privileged database login:", err=True)
            for problem in refused:
                click.echo(f"  - {problem}", err=True)
            click.echo("  Create a read-only login (see the README) or pass --allow-privileged-db-login.", err=True)
            sys.exit(ExitCode.PRIVILEGED_DB_LOGIN)
    stop = threading.Event()
    _install_stop_handlers(stop)
    finished = serve(agent, stop)
    code = ExitCode.OK if finished else ExitCode.STOPPED_WITH_RUNNING_TOOLS
    if agent.refusal.reason is not None:
        code = ExitCode.AUTH_FAILED
    logging.shutdown()
    if not finished:
        # Tool threads that outlived the grace period would keep the interpreter alive.
        os._exit(code)
    sys.exit(code)


@app.command(epilog=_ENVIRONMENT_HELP + "\n\n" + _EXIT_CODES_HELP)
@config_option
@allow_privileged_option
def check(config_path: Path, allow_privileged_db_login: bool) -> None:
    """Check the config, the credentials, the queue and every tool's connection (and the database login's
    privileges), then print a report."""
    configure_logging("ERROR")
    report = run_checks(config_path, os.environ, allow_privileged_db_login=allow_privileged_db_login)
    click.echo(report.render())
    sys.exit(report.exit_code)


def main() -> None:
    app(prog_name="phi-agent")

"""boto3 clients, one per service per process. boto3 honours AWS_ENDPOINT_URL, so the embedded stack needs no branch.

Every call has a budget (settings ``aws_*``): connect and read timeouts and botocore's standard retry mode as the
only retry layer. ``call_budget_seconds`` is its worst case, kept below API Gateway's 29 s integration timeout.
boto3 is imported on first use, not at import: handlers that never call AWS do not pay for it at cold start."""

from __future__ import annotations

import logging
import threading
from typing import Any

from phi.settings import Settings, get_settings

log = logging.getLogger("phi.aws")
_clients: dict[str, Any] = {}
_lock = threading.Lock()
# botocore's standard mode waits min(random(0, 1) * 2**attempt, 20) s between attempts.
_MAX_BACKOFF_SECONDS = 20.0


def boto_config(settings: Settings) -> Any:
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": settings.aws_max_attempts},
        connect_timeout=settings.aws_connect_timeout_seconds,
        read_timeout=settings.aws_read_timeout_seconds,
    )


def call_budget_seconds(settings: Settings) -> float:
    """The longest one AWS call can take: every attempt timing out on connect and read, plus the backoffs."""
    attempts = settings.aws_max_attempts
    per_attempt = settings.aws_connect_timeout_seconds + settings.aws_read_timeout_seconds
    backoff = sum(min(2.0**attempt, _MAX_BACKOFF_SECONDS) for attempt in range(attempts - 1))
    return attempts * per_attempt + backoff


def client(service: str) -> Any:
    with _lock:
        if service not in _clients:
            import boto3

            settings = get_settings()
            session: Any = boto3.session.Session()  # the service name is dynamic, so no typed overload applies
            _clients[service] = session.client(service, region_name=settings.region, config=boto_config(settings))
        return _clients[service]


def stop_execution(execution_arn: str, *, error: str, cause: str) -> bool:
    """Best effort, after the database has recorded why the task ended: True when Step Functions took the stop.
    An execution that is gone, already ended or cannot be stopped (a malformed ARN, a throttled call) is logged,
    never raised: the task's row already says how it ended, and the next step of a still running execution reads
    it (Think ends a cancelled task's execution), or the execution ends at its own timeout (in the ASL file)."""
    sfn = client("stepfunctions")
    try:
        sfn.stop_execution(executionArn=execution_arn, error=error[:256], cause=cause[:32768])
    except (sfn.exceptions.ExecutionDoesNotExist, sfn.exceptions.InvalidArn):
        log.info("execution %s not stopped: it does not exist (yet)", execution_arn)
        return False
    except Exception:
        log.warning("could not stop execution %s", execution_arn, exc_info=True)
        return False
    return True


def reset_clients() -> None:
    with _lock:
        _clients.clear()

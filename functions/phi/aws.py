"""boto3 clients, one per service per process. boto3 honours AWS_ENDPOINT_URL, so the embedded stack needs no branch.

Every call has a budget (settings ``aws_*``): connect and read timeouts and botocore's standard retry mode as the
only retry layer. ``call_budget_seconds`` is its worst case, kept below API Gateway's 29 s integration timeout.
boto3 is imported on first use, not at import: handlers that never call AWS do not pay for it at cold start."""

from __future__ import annotations

import threading
from typing import Any

from phi.settings import Settings, get_settings

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


def reset_clients() -> None:
    with _lock:
        _clients.clear()

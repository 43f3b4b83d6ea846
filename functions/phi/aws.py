"""boto3 clients, one per service per process. boto3 honours AWS_ENDPOINT_URL, so the embedded stack needs no branch."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from phi.settings import get_settings

_clients: dict[str, Any] = {}
_lock = threading.Lock()
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


def client(service: str) -> Any:
    with _lock:
        if service not in _clients:
            session: Any = boto3.session.Session()  # the service name is dynamic, so no typed overload applies
            _clients[service] = session.client(service, region_name=get_settings().region, config=_CONFIG)
        return _clients[service]


def reset_clients() -> None:
    with _lock:
        _clients.clear()

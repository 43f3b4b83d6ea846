"""Powertools Logger, Tracer and Metrics shared by every handler (service name from POWERTOOLS_SERVICE_NAME)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="phi")
tracer = Tracer(service="phi")
metrics = Metrics(namespace="PhiAgents", service="phi")


def bind_task_ids(ids: dict[str, Any]) -> None:
    """Puts org, agent, task and execution ids on every log line of this invocation."""
    keys = {k: ids[k] for k in ("org_id", "agent_id", "task_id") if ids.get(k)}
    logger.append_keys(**keys)

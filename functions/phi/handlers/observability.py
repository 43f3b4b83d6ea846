"""Powertools Logger, Tracer and Metrics shared by every handler.

The service name is never set here: Powertools reads POWERTOOLS_SERVICE_NAME, which CDK sets per function
(``phi-<stage>-think``, …), so each function logs, traces and emits metrics as itself."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from phi.log import logger
from phi.names import METRICS_NAMESPACE

# A Think step that closes no tool call has no metric to publish; that is normal, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

tracer = Tracer()
NAMESPACE = METRICS_NAMESPACE
metrics = Metrics(namespace=NAMESPACE)
__all__ = ["bind_task_ids", "log_metrics", "logger", "metrics", "record_tool_metrics", "tracer"]


def log_metrics(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Powertools' log_metrics, plus emptying the buffer afterwards: with metrics disabled (the embedded
    stack) Powertools keeps every value and finally prints them all at once."""
    flushed = metrics.log_metrics(handler)

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        try:
            return flushed(event, context)
        finally:
            metrics.clear_metrics()

    return run


def bind_task_ids(ids: dict[str, Any]) -> None:
    """Puts org, agent, task and execution ids on every log line of this invocation."""
    keys = {k: ids[k] for k in ("org_id", "agent_id", "task_id", "execution_id") if ids.get(k)}
    logger.append_keys(**keys)
    tracer.put_annotation("task_id", str(ids.get("task_id", "")))


def record_tool_metrics(completed: dict[str, Any] | None) -> None:
    """Tool latency and failures, by tool name. A Think step closes at most one tool call, so the
    dimension can sit on the invocation's metrics (flushed by @log_metrics)."""
    if not completed:
        return
    metrics.add_dimension(name="tool", value=completed["tool"])
    metrics.add_metric(name="ToolLatency", unit=MetricUnit.Milliseconds, value=completed["latency_ms"])
    if not completed["ok"]:
        metrics.add_metric(name="ToolFailures", unit=MetricUnit.Count, value=1)

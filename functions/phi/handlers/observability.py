"""Powertools Logger, Tracer and Metrics shared by every handler.

The service name is never set here: Powertools reads POWERTOOLS_SERVICE_NAME, which CDK sets per function
(``phi-<stage>-think``, …), so each function logs, traces and emits metrics as itself.

Tracing: Lambda's active tracing records every invocation (initialisation, duration, the Step Functions trace
map) without any code here. The X-Ray SDK adds subsegments and annotations on top, and importing it costs each
cold start ~0.15-0.2 s of CPU, so it is loaded only when ``PHI_XRAY_SDK`` is on (CDK context ``xraySdk``),
decided at the first invocation, after the handler's settings were validated."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from phi.log import logger
from phi.names import METRICS_NAMESPACE
from phi.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

# A Think step that closes no tool call has no metric to publish; that is normal, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

NAMESPACE = METRICS_NAMESPACE
metrics = Metrics(namespace=NAMESPACE)
Handler = Callable[[Any, Any], Any]


class LazyTracer:
    """The two Powertools Tracer calls the handlers use, with the X-Ray SDK imported only when it is on."""

    def __init__(self) -> None:
        self._tracer: Tracer | None = None
        self._decided = False

    def _active(self) -> Tracer | None:
        if not self._decided:
            if get_settings().xray_sdk:
                from aws_lambda_powertools import Tracer

                self._tracer = Tracer()
            self._decided = True
        return self._tracer

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        traced: list[Handler] = []

        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            if not traced:
                active = self._active()
                traced.append(active.capture_lambda_handler(handler) if active is not None else handler)
            return traced[0](event, context)

        return run

    def put_annotation(self, key: str, value: str) -> None:
        active = self._active()
        if active is not None:
            active.put_annotation(key, value)


tracer = LazyTracer()
__all__ = ["bind_task_ids", "log_metrics", "logger", "metrics", "record_tool_metrics", "tracer"]


def log_metrics(handler: Handler) -> Handler:
    """Powertools' log_metrics, plus emptying the buffer afterwards: with metrics disabled (the embedded
    stack) Powertools keeps every value and finally prints them all at once."""
    flushed = metrics.log_metrics(handler)

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        logger.thread_safe_clear_keys()  # an earlier invocation's ids, on a thread the embedded stack reuses
        try:
            return flushed(event, context)
        finally:
            metrics.clear_metrics()
            logger.thread_safe_clear_keys()

    return run


def bind_task_ids(ids: dict[str, Any]) -> None:
    """Puts org, agent, task and execution ids on every log line of this invocation. Kept per thread: the
    embedded stack runs several invocations at once in one process, and keys on the shared logger had put one
    organisation's ids on another's lines (an ingest logged under the task of another organisation)."""
    keys = {k: ids[k] for k in ("org_id", "agent_id", "task_id", "execution_id") if ids.get(k)}
    logger.thread_safe_append_keys(**keys)
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

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from phi.handlers.observability import bind_task_ids, log_metrics, logger, metrics, tracer
from phi.names import Service
from phi.settings import settings_for
from phi.workflows.steps import mark_failed

settings_for(Service.MARK_FAILED)  # a missing variable fails the cold start, naming it


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = event["state"]
    bind_task_ids(state.get("ctx") or state.get("start") or state)
    result = mark_failed(state, event["execution_id"])
    if result["recorded"]:  # a task cancelled or swept before its execution ended is not counted again
        metrics.add_metric(name="TasksFailed", unit=MetricUnit.Count, value=1)
    logger.warning("task failed", extra={"error": result["error"]})
    return result

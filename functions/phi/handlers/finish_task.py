from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from phi.handlers.observability import bind_task_ids, log_metrics, logger, metrics, tracer
from phi.names import Service
from phi.settings import settings_for
from phi.workflows.contracts import TaskContext
from phi.workflows.steps import finish_task

settings_for(Service.FINISH_TASK)  # a missing variable fails the cold start, naming it


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ctx = TaskContext.model_validate(event["ctx"])
    bind_task_ids(ctx.model_dump())
    result = finish_task(ctx)
    if result["recorded"]:  # a task cancelled or swept before its execution ended is not counted again
        metrics.add_metric(name="TasksSucceeded", unit=MetricUnit.Count, value=1)
    logger.info("task succeeded")
    return result

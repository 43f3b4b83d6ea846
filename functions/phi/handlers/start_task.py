from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from phi.handlers.observability import bind_task_ids, log_metrics, logger, metrics, tracer
from phi.names import Service
from phi.settings import settings_for
from phi.workflows.steps import StartEvent, start_task

settings_for(Service.START_TASK)  # a missing variable fails the cold start, naming it


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    start = StartEvent.model_validate(event["start"])
    bind_task_ids({**start.model_dump(), "execution_id": event["execution_id"]})
    result = start_task(start, event["execution_id"])
    if result["skipped"]:  # a scheduled run that yields (overlap), whose schedule is gone, or a cancelled task
        logger.info("start skipped", extra={"trigger": start.trigger, "type": start.type})
        return result
    bind_task_ids(result["ctx"])
    metrics.add_metric(name="TasksStarted", unit=MetricUnit.Count, value=1)
    logger.info("task started", extra={"trigger": start.trigger, "type": start.type})
    return result

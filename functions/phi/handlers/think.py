from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from phi.handlers.observability import bind_task_ids, logger, metrics, tracer
from phi.workflows.contracts import TaskContext
from phi.workflows.runner import think


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ctx = TaskContext.model_validate(event["ctx"])
    bind_task_ids(ctx.model_dump())
    tool_result = event.get("tool_result")
    if tool_result is not None and "Error" in tool_result:
        metrics.add_metric(name="ToolFailures", unit=MetricUnit.Count, value=1)
    output = think(ctx, int(event["step"]), tool_result)
    logger.info("think step done", extra={"step": event["step"], "status": output.status})
    return output.model_dump()

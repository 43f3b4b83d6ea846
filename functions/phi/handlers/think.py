from __future__ import annotations

from typing import Any

from phi.lifetime import imports_without_gc

# LangGraph and what it brings are most of this function's cold start; without the collector pausing they cost
# ~0.13 s more (see phi.lifetime).
with imports_without_gc():
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from phi.handlers.observability import bind_task_ids, log_metrics, logger, record_tool_metrics, tracer
    from phi.names import Service
    from phi.settings import settings_for
    from phi.workflows.contracts import TaskContext
    from phi.workflows.runner import think

settings_for(Service.THINK)  # a missing variable fails the cold start, naming it


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ctx = TaskContext.model_validate(event["ctx"])
    bind_task_ids(ctx.model_dump())
    output = think(ctx, int(event["step"]), event.get("tool_result"))
    result = output.model_dump()
    record_tool_metrics(result["completed_tool"])
    logger.info("think step done", extra={"step": event["step"], "status": output.status})
    return result

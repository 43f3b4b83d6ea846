"""AwaitApproval's function (invoked with `.waitForTaskToken`): records the approval request with the task token
the execution now waits on. The API completes the token on a person's decision; this function does only when a
retried step finds the decision already taken."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from phi.handlers.observability import bind_task_ids, log_metrics, logger, tracer
from phi.names import Service
from phi.settings import settings_for
from phi.workflows.approvals import open_approval
from phi.workflows.contracts import ApprovalOut, TaskContext

settings_for(Service.AWAIT_APPROVAL)  # a missing variable fails the cold start, naming it


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ctx = TaskContext.model_validate(event["ctx"])
    bind_task_ids(ctx.model_dump())
    approval = open_approval(ctx, ApprovalOut.model_validate(event["approval"]), str(event["task_token"]))
    logger.info("approval requested", extra={"approval_id": str(approval.id), "node": approval.node_id})
    return {"approval_id": str(approval.id)}

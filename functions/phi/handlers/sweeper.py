"""Runs every few minutes (EventBridge rule): fails tasks that passed their overall deadline, whose execution
ended without recording their end, or whose execution never started, prunes the checkpoints of ended tasks, fails
documents whose ingest stopped progressing and expires unused upload URLs."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from phi.documents.sweeper import sweep_documents
from phi.handlers.observability import log_metrics, logger, metrics, tracer
from phi.names import Service
from phi.settings import settings_for
from phi.workflows.sweeper import (
    fail_overdue_tasks,
    fail_tasks_never_started,
    fail_tasks_whose_execution_ended,
    prune_ended_checkpoints,
)

settings_for(Service.SWEEPER)  # a missing variable fails the cold start, naming it


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed = fail_overdue_tasks() + fail_tasks_whose_execution_ended() + fail_tasks_never_started()
    if failed:
        metrics.add_metric(name="TasksFailed", unit=MetricUnit.Count, value=failed)
        logger.warning("overdue tasks failed", extra={"count": failed})
    pruned = prune_ended_checkpoints()
    documents = sweep_documents()
    if documents.failed:
        metrics.add_metric(name="DocumentsFailed", unit=MetricUnit.Count, value=documents.failed)
    return {
        "failed": failed,
        "documents_failed": documents.failed,
        "uploads_expired": documents.expired,
        "search_text_filled": documents.search_text_filled,
        "checkpoints_pruned": pruned,
    }

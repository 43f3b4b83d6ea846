"""Runs the versioned migrations on every deploy: the onEvent handler of a CloudFormation custom resource
(provider framework) whose properties carry the migrations' hash. A failed migration raises, so the deploy
fails and rolls back instead of running code against a schema it does not expect."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from phi.db.connection import resolve_dsn
from phi.db.migrate import apply_migrations, connect_budget_seconds
from phi.handlers.observability import logger
from phi.names import Service
from phi.settings import get_settings, settings_for

settings_for(Service.MIGRATE)  # a missing variable fails the cold start, naming it

PHYSICAL_ID = "phi-database-migrations"


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("RequestType") == "Delete":  # the data outlives the stack's migration resource
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    # Connecting may take what the invocation has left but the migrations' reserve (a retried event included).
    budget = connect_budget_seconds(context.get_remaining_time_in_millis() / 1000)
    applied = apply_migrations(resolve_dsn(get_settings()), connect_budget=budget)
    logger.info("migrations applied", extra={"applied": applied})
    return {"PhysicalResourceId": PHYSICAL_ID, "Data": {"Applied": ",".join(applied) or "none"}}

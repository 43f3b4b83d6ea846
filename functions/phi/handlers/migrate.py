"""Runs the versioned migrations on every deploy (invoked by a CDK trigger)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from phi.db.connection import resolve_dsn
from phi.db.migrate import apply_migrations
from phi.handlers.observability import logger
from phi.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    applied = apply_migrations(resolve_dsn(get_settings()))
    logger.info("migrations applied", extra={"applied": applied})
    return {"applied": applied}

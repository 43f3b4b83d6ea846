"""The REST API Lambda: the FastAPI app through Mangum."""

from __future__ import annotations

from phi.lifetime import imports_without_gc

# FastAPI, pydantic, psycopg, the routers and the app built from them live as long as the process: with the
# collector paused while they are made, the cold start is ~8% shorter (see phi.lifetime).
with imports_without_gc():
    from phi.api.app import create_app
    from phi.api.stage_root import lambda_handler
    from phi.names import Service
    from phi.settings import settings_for

    settings_for(Service.API)  # a missing variable fails the cold start, naming it

    handler = lambda_handler(create_app())

"""The FastAPI application: the same app under uvicorn (embedded) and Mangum (Lambda)."""

from __future__ import annotations

from fastapi import FastAPI

from phi.api.errors import install_error_handlers
from phi.api.routers import agents, auth, catalog, local_agents, members, orgs, schedules, tasks


def create_app() -> FastAPI:
    app = FastAPI(
        title="Phi Agents API",
        version="0.1.0",
        description="Create virtual employees, teach them with your documents and run their tasks.",
    )
    install_error_handlers(app)
    for router in (
        auth.router,
        orgs.router,
        agents.router,
        tasks.router,
        local_agents.router,
        schedules.router,
    ):
        app.include_router(router)
    for router in (members.router, catalog.router):
        app.include_router(router)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app

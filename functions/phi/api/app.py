"""The FastAPI application: the same app under uvicorn (embedded) and Mangum (Lambda)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from phi import names
from phi.api.console import InstallOnFirstUse as InstallConsoleOnFirstUse
from phi.api.errors import install_error_handlers
from phi.api.limits import BodySizeLimit
from phi.api.routers import (
    admin,
    agents,
    approvals,
    auth,
    catalog,
    documents,
    llm,
    local_agents,
    members,
    notifications,
    orgs,
    requests,
    schedules,
    tasks,
    workflows,
)
from phi.api.security_headers import SecurityHeaders
from phi.settings import get_settings


def create_app() -> FastAPI:
    app = FastAPI(
        title="Phi Agents API",
        version="0.1.0",
        description="Create virtual employees, teach them with your documents and run their tasks.",
    )
    install_error_handlers(app)
    # The console's pages are added at its first request (phi.api.console): API requests never import them.
    app.add_middleware(InstallConsoleOnFirstUse, target=app)
    app.add_middleware(BodySizeLimit)  # added before CORS, so inside it: a 413 still carries the CORS headers
    app.add_middleware(SecurityHeaders)  # outside the size limit: its 413 carries them too
    origins = [o.strip() for o in get_settings().cors_allow_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            # The same policy as API Gateway's preflight (infra_cdk/api.py), from one place.
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=names.CORS_ALLOW_CREDENTIALS,
            allow_methods=list(names.CORS_ALLOW_METHODS),
            allow_headers=list(names.CORS_ALLOW_HEADERS),
        )
    for router in (
        auth.router,
        orgs.router,
        agents.router,
        tasks.router,
        local_agents.router,
        schedules.router,
        workflows.router,
        notifications.router,
        requests.router,
        documents.router,
        admin.router,
        llm.router,
        approvals.router,
    ):
        _declare_on_app(app, router)
    for router in (members.router, catalog.router):
        _declare_on_app(app, router)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _declare_on_app(app: FastAPI, router: APIRouter) -> None:
    """The router's routes, as the router built them, become the app's own.

    `app.include_router` keeps the router and builds each route again, with the include's prefix, tags and
    dependencies, at the app's first request: ~0.12 s of dependency analysis for our 78 routes on every API
    Lambda's first answer after a cold start (issue 15 §1; bench/bench_cold_start.py prints it). Our routers
    are included with nothing of that (no prefix, tags and dependencies set on the router itself, no
    dependency overrides), so the routes they built are already the ones the app needs.
    tests/unit/api/test_route_declaration.py checks that the app serves and documents the same."""
    app.router.routes.extend(router.routes)

"""The FastAPI application: the same app under uvicorn (embedded) and Mangum (Lambda)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from phi import names
from phi.api.docs_page import install_docs_page
from phi.api.errors import install_error_handlers
from phi.api.limits import BodySizeLimit
from phi.api.route_groups import InstallOnFirstUse, RouteGroups
from phi.api.security_headers import SecurityHeaders
from phi.settings import get_settings


def create_app() -> FastAPI:
    app = FastAPI(
        title="Phi Agents API",
        version="0.1.0",
        description="Create virtual employees, teach them with your documents and run their tasks.",
        docs_url=None,  # phi.api.docs_page serves /docs with Swagger UI's own files, not a CDN's
        redoc_url=None,
    )
    install_error_handlers(app)
    install_docs_page(app)  # before the route groups, which keep the framework's routes first
    # The routers and the console's pages are added at the first request that can reach them (phi.api.route_groups).
    groups = RouteGroups(app)
    app.state.route_groups = groups
    app.add_middleware(InstallOnFirstUse, groups=groups)
    _document_every_group(app, groups)
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
    return app


def _document_every_group(app: FastAPI, groups: RouteGroups) -> None:
    """The OpenAPI document (and /docs from it) describes every route, installed or not yet."""
    document = app.openapi

    def openapi() -> dict[str, Any]:
        groups.install_routers()
        return document()

    app.openapi = openapi  # type: ignore[method-assign]

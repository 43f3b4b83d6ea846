"""The web console: server-rendered pages (Jinja2) with htmx, served by the API's own app under /console.

It uses the API's rules — the same services, the same role checks and the same tenancy (another organisation's
URL is "not found") — with the API's access token kept in an HttpOnly cookie and CSRF tokens on every change."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from phi.api.console import agent_pages, approval_pages, pages, request_pages, workflow_pages
from phi.api.console.rendering import HERE


def install(app: FastAPI) -> None:
    for router in (
        pages.router,
        agent_pages.router,
        workflow_pages.router,
        request_pages.router,
        approval_pages.router,
    ):
        app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

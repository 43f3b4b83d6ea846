"""The console's pages and static files, as one install step: imported at the first console request
(phi.api.console.install_console): the console's imports start here."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from phi.api.console import STATIC_PREFIX, agent_pages, approval_pages, pages, request_pages, workflow_pages
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
    app.mount(STATIC_PREFIX, StaticFiles(directory=HERE / "static"), name="console-static")

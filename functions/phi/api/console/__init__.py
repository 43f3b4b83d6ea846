"""The web console: server-rendered pages (Jinja2) with htmx, served by the API's own app under /console.

It uses the API's rules — the same services, the same role checks and the same tenancy (another organisation's
URL is "not found") — with the API's access token kept in an HttpOnly cookie and CSRF tokens on every change.

The pages are installed into the app at the first /console request (phi.api.route_groups), not when the app
is built: on Lambda the API function serves clients and automation far more often than browsers, and the pages
(Jinja2, the page modules, their routes) cost every cold start ~0.12 CPU s at import and ~0.1 s more at its
first request (FastAPI analyses each included route again then). This module therefore imports nothing heavy
at its top: the error handlers import it for `is_console_request` at every API cold start."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request

PREFIX = "/console"
STATIC_PREFIX = f"{PREFIX}/static"


def path_in_app(scope: MutableMapping[str, Any]) -> str:
    """The request's path without the API Gateway stage (StageRootPath puts it in front of the path)."""
    root = str(scope.get("root_path", ""))
    path = str(scope.get("path", ""))
    if root and path.startswith(root + "/"):
        path = path[len(root) :]
    return path


def is_console_url_path(path: str) -> bool:
    """Whether a path (without the stage) is the console's."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def is_console_path(scope: MutableMapping[str, Any]) -> bool:
    """Whether a request is for the console, with or without the API Gateway stage in its path."""
    return is_console_url_path(path_in_app(scope))


def is_console_static_path(scope: MutableMapping[str, Any]) -> bool:
    """Whether a request is for one of the console's static files (its script and style sheets)."""
    return path_in_app(scope).startswith(STATIC_PREFIX + "/")


def is_console_request(request: Request) -> bool:
    return is_console_path(request.scope)


def install_console(app: FastAPI) -> None:
    """Adds the console's pages and static files to the app (phi.api.route_groups calls it at the first console
    request): the console's imports start here."""
    from phi.api.console.site import install

    install(app)

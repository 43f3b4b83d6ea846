"""The OpenAPI page (`/docs`) served with its own script and style sheet, not a CDN's.

FastAPI's own `/docs` page loads Swagger UI from a CDN: on the embedded stack without the internet, behind a
customer's proxy, or wherever that CDN is blocked, the page stayed blank. The Swagger UI files come from the
`fastapi-offline` package (its `static` folder; the package itself is not imported) and are served under
`/docs/static`. ReDoc's page is not served: one documentation page, and 1 MB less in every Lambda's layer."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

DOCS_PATH: Final = "/docs"
STATIC_PATH: Final = f"{DOCS_PATH}/static"
OAUTH2_REDIRECT_PATH: Final = f"{DOCS_PATH}/oauth2-redirect"
ASSETS: Final = ("swagger-ui-bundle.js", "swagger-ui.css")
# The console's icon: an SVG answers as text through Mangum, where the package's PNG would need API Gateway to
# list image/png as a binary media type (phi.api.stage_root).
FAVICON_PATH: Final = "/console/static/favicon.svg"


def swagger_assets_folder() -> Path:
    """Where fastapi-offline keeps Swagger UI's files; a clear error at start-up when they are missing."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fastapi-offline package (Swagger UI's files for /docs) is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    missing = [name for name in ASSETS if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"Swagger UI's files are missing from {folder}: {', '.join(missing)}")
    return folder


def install_docs_page(app: FastAPI) -> None:
    """`/docs`, its OAuth2 redirect page and its static files, declared as plain routes (no FastAPI analysis at
    the cold start); links carry the API Gateway stage (the request's root path) as FastAPI's own page does."""
    assert app.openapi_url is not None, "the docs page shows the OpenAPI document"
    openapi_path = app.openapi_url
    title = f"{app.title} - Swagger UI"

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_path,
            title=title,
            swagger_js_url=f"{root}{STATIC_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_PATH}/swagger-ui.css",
            swagger_favicon_url=root + FAVICON_PATH,
            oauth2_redirect_url=root + OAUTH2_REDIRECT_PATH,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_route(DOCS_PATH, swagger_ui, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_PATH, oauth2_redirect, include_in_schema=False)
    app.router.routes.append(Mount(STATIC_PATH, app=_LazyStaticFiles(), name="docs-static"))


class _LazyStaticFiles:
    """Starlette's StaticFiles for Swagger UI's folder, built at the first request for one of its files: the
    folder is looked up (and starlette.staticfiles imported) only by a request for the page."""

    def __init__(self) -> None:
        self._files: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._files is None:
            from starlette.staticfiles import StaticFiles

            self._files = StaticFiles(directory=swagger_assets_folder())
        await self._files(scope, receive, send)

"""The API Gateway stage as the app's root path, so links the app builds (``/docs`` → openapi.json) work."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

_Asgi = Any  # an ASGI application: async (scope, receive, send) -> None


class StageRootPath:
    """Tells the app it is mounted under the API Gateway stage (``/dev``) when called on the execute-api
    domain, so ``/docs`` loads ``/dev/openapi.json``. Mangum strips nothing and sets no root_path itself; a
    custom domain (no stage in its URLs) is left alone.

    The stage goes in front of the path too: ASGI's `path` includes `root_path`, which Starlette's routing and
    mounts strip again. With the root path alone, a mount (the console's static files) looked for
    ``/console/static/…`` under its own root ``/dev/console/static`` and answered 404."""

    def __init__(self, app: _Asgi) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            request_context = (scope.get("aws.event") or {}).get("requestContext") or {}
            stage, domain = request_context.get("stage"), str(request_context.get("domainName") or "")
            if stage and ".execute-api." in domain:
                root = f"/{stage}"
                path = str(scope.get("path") or "/")
                if not path.startswith(root + "/"):
                    path = root + path
                scope = {**scope, "root_path": root, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


# Types the app answers as text beyond Mangum's defaults (text/*, JSON, JavaScript, XML): Mangum base64-encodes any
# other body, and API Gateway decodes it only for the binary media types it lists, so the agent's configuration
# file would reach a browser or curl as base64 text and the console's icon as garbage.
TEXT_MIME_TYPES = ("application/yaml", "image/svg+xml")


def lambda_handler(app: _Asgi) -> Any:
    """The app as API Gateway's Lambda integration calls it: under the stage, text answered as text."""
    from mangum import Mangum
    from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

    return Mangum(StageRootPath(app), lifespan="off", text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, *TEXT_MIME_TYPES])

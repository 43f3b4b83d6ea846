"""The security headers of every answer, decided in one place (`security_headers`) for the API and the console.

Every answer says `X-Content-Type-Options: nosniff`: a JSON body (which quotes what clients stored) is never
sniffed into HTML or a script. The console's pages show agent keys, reports and approve/reject buttons, so
they also refuse to be framed (clickjacking), are never stored by a browser or a proxy (a shared computer's
back button or cache would show them after log-out), send no path of theirs to other sites, and load only the
console's own static files."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phi.api.console import is_console_path, is_console_static_path

# What the console's templates load: htmx and console.js (/console/static, no inline script, no eval: htmx
# filters and hx-on would need 'unsafe-eval'), console.css (no style attributes; htmx's own indicator style is
# off in base.html's htmx-config), htmx's requests to the console itself, and forms posted to it. Charts are
# inline SVG, which needs no img-src; an image in a report's Markdown, which quotes customers' data, is
# loaded from nowhere else.
CONSOLE_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
_EVERY_ANSWER = {"X-Content-Type-Options": "nosniff"}
_CONSOLE = {
    "Content-Security-Policy": CONSOLE_CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "same-origin",
}
# A page (or fragment) of the console; its static files stay cacheable.
_CONSOLE_PAGE = {"Cache-Control": "no-store"}


def security_headers(scope: MutableMapping[str, Any]) -> dict[str, str]:
    """The headers the answer to this request carries, whoever builds the answer."""
    headers = dict(_EVERY_ANSWER)
    if is_console_path(scope):
        headers.update(_CONSOLE)
        if not is_console_static_path(scope):
            headers.update(_CONSOLE_PAGE)
    return headers


class SecurityHeaders:
    """Pure ASGI middleware: adds `security_headers` to every HTTP answer the app sends (a route's own value of
    one of them is replaced). The 500 answer of an unhandled error is sent outside all middleware (Starlette's
    ServerErrorMiddleware), so its handler (phi.api.errors) adds them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = security_headers(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

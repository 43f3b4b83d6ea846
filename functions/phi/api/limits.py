"""Request body size, enforced while the body streams in (before FastAPI parses a form or a JSON body).

A body that declares a Content-Length over the limit is refused before a byte of it is read; a body sent
without one (chunked) is cut off as soon as the bytes received pass the limit. Either way the answer is
413 `payload_too_large`, and the rest of the body is never read: memory and temporary files stay bounded
by the limit, not by what the client sends.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phi.api.errors import error_body
from phi.errors import PhiError
from phi.settings import get_settings

# Room for the multipart envelope (boundaries, part headers, the small form fields) around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


# Any other body (JSON, a console form): the largest a route takes is a workflow definition (256 KiB). Parsing
# and validating a body costs time on the event loop every request shares, so no more is read than needed.
MAX_OTHER_BODY_BYTES = 1024 * 1024


# The two routes that take a document (the API's and the console's upload form).
_UPLOAD_PATH = re.compile(r"(?:/console)?/agents/[^/]+/documents/?")


def is_upload(scope: Scope) -> bool:
    """A multipart POST to a document upload route: the only requests that may send more than
    MAX_OTHER_BODY_BYTES. Chosen by route, not by Content-Type alone, which any client can set on any route."""
    content_type = (_header(scope, b"content-type") or b"").strip().lower()
    return (
        scope.get("method") == "POST"
        and content_type.startswith(b"multipart/form-data")
        and _UPLOAD_PATH.fullmatch(_route_path(scope)) is not None
    )


def _route_path(scope: Scope) -> str:
    """The request's path within the app: without the API Gateway stage it is mounted under (phi.api.stage_root)."""
    path, root = str(scope.get("path") or ""), str(scope.get("root_path") or "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


def signed_in(scope: Scope) -> bool:
    """Whether the request carries a valid access token (the API's bearer token or the console's session cookie,
    the same token), checked by signature and expiry only: an upload's body is read before the route's own
    checks run, so a caller without one is refused before it can make the server read an upload's worth."""
    from phi.api.console.session import SESSION_COOKIE
    from phi.services.security import user_id_from_token

    tokens = []
    authorization = _header(scope, b"authorization") or b""
    if authorization[:7].lower() == b"bearer ":
        tokens.append(authorization[7:].strip().decode("latin-1"))
    cookies = cookie_parser((_header(scope, b"cookie") or b"").decode("latin-1"))
    if cookies.get(SESSION_COOKIE):
        tokens.append(cookies[SESSION_COOKIE])
    for token in tokens:
        try:
            user_id_from_token(token)
        except PhiError:
            continue
        return True
    return False


def max_body_bytes(upload: bool) -> int:
    """The largest body a request may send: a document of the configured maximum size to an upload route from a
    signed-in caller, MAX_OTHER_BODY_BYTES otherwise."""
    return get_settings().max_upload_bytes + MULTIPART_OVERHEAD_BYTES if upload else MAX_OTHER_BODY_BYTES


class _BodyTooLarge(Exception):
    pass


@dataclass
class _Exchange:
    received: int = 0
    exceeded: bool = False
    answered: bool = False


class BodySizeLimit:
    """Pure ASGI middleware (it must see the body before the framework reads it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = is_upload(scope)
        anonymous_upload = upload and not signed_in(scope)
        limit = max_body_bytes(upload and not anonymous_upload)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await (_refuse_anonymous(send) if anonymous_upload else _refuse(send, limit))
            return
        exchange = _Exchange()

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                exchange.received += len(message.get("body", b""))
                if exchange.received > limit:
                    exchange.exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if exchange.exceeded:
                return  # the framework's answer to a body it could not read is replaced by ours
            exchange.answered = True
            await send(message)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, limited_receive, guarded_send)
        if exchange.exceeded and not exchange.answered:
            await (_refuse_anonymous(send) if anonymous_upload else _refuse(send, limit))


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((bytes(value) for key, value in scope.get("headers", []) if key == name), None)


def _content_length(scope: Scope) -> int | None:
    declared = _header(scope, b"content-length")
    try:
        return int(declared) if declared is not None else None
    except ValueError:
        return None


async def _refuse_anonymous(send: Send) -> None:
    message = "Authentication required: send 'Authorization: Bearer <token>' (or log in to the console) to upload."
    await _answer(send, 401, json.dumps(error_body("unauthorized", message)).encode())


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        error_body(
            "payload_too_large",
            f"The request body is larger than {limit:,} bytes"
            + (
                "; upload large documents with POST /agents/{agent_id}/documents/upload-url."
                if limit > MAX_OTHER_BODY_BYTES
                else " (the limit for anything but a document upload)."
            ),
        )
    ).encode()
    await _answer(send, 413, body)


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            # The unread rest of the body cannot be skipped on this connection: close it.
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

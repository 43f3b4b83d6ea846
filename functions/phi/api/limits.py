"""Request body size, enforced while the body streams in (before FastAPI parses a form or a JSON body).

A body that declares a Content-Length over the limit is refused before a byte of it is read; a body sent
without one (chunked) is cut off as soon as the bytes received pass the limit. Either way the answer is
413 `payload_too_large`, and the rest of the body is never read: memory and temporary files stay bounded
by the limit, not by what the client sends.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phi.api.errors import error_body
from phi.settings import get_settings

# Room for the multipart envelope (boundaries, part headers, the small form fields) around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


# Any other body (JSON, a console form): the largest a route takes is a workflow definition (256 KiB). Parsing
# and validating a body costs time on the event loop every request shares, so no more is read than needed.
MAX_OTHER_BODY_BYTES = 1024 * 1024


def max_body_bytes(scope: Scope) -> int:
    """The largest body a request may send: a document upload of the configured maximum size when it is a
    multipart form, MAX_OTHER_BODY_BYTES otherwise."""
    if not (_header(scope, b"content-type") or b"").strip().lower().startswith(b"multipart/form-data"):
        return MAX_OTHER_BODY_BYTES
    return get_settings().max_upload_bytes + MULTIPART_OVERHEAD_BYTES


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
        limit = max_body_bytes(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
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
            await _refuse(send, limit)


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((bytes(value) for key, value in scope.get("headers", []) if key == name), None)


def _content_length(scope: Scope) -> int | None:
    declared = _header(scope, b"content-length")
    try:
        return int(declared) if declared is not None else None
    except ValueError:
        return None


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
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            # The unread rest of the body cannot be skipped on this connection: close it.
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

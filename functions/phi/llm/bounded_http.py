"""The HTTP transport under the OpenAI client: a model's answer is outside input, bounded in size and in time.

The client's own timeout is httpx's, which bounds each read, not the answer: a server that sends a byte every few
seconds keeps a 2 s request going for as long as it likes, and an answer of any size is read into memory whole.
This transport wraps the body as it arrives: past `max_bytes` the answer is refused (AnswerTooLarge, not
transient: the same model would answer the same way), past the request's timeout it is cut off as a read timeout
(transient, like any other). The answer is asked for uncompressed, and a compressed one is refused, so that the
byte count is the size of what is decoded (a small gzip can inflate to gigabytes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx2


class AnswerTooLarge(ValueError):
    """The server's answer passed the size cap; the message says how big the cap is, never what was sent."""


def _seconds(request: httpx2.Request) -> float | None:
    """The request's timeout (the largest of its phases: the SDK sets them all to the caller's timeout)."""
    timeout: dict[str, Any] = request.extensions.get("timeout") or {}
    values = [float(v) for v in timeout.values() if isinstance(v, int | float)]
    return max(values) if values else None


class _BoundedBody(httpx2.SyncByteStream):
    def __init__(
        self, inner: httpx2.SyncByteStream, request: httpx2.Request, max_bytes: int, deadline: float | None
    ) -> None:
        self._inner, self._request = inner, request
        self._max_bytes, self._deadline = max_bytes, deadline

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._inner:
            received += len(chunk)
            if received > self._max_bytes:
                raise AnswerTooLarge(f"the model's server sent more than {self._max_bytes:,} bytes")
            if self._deadline is not None and time.monotonic() > self._deadline:
                raise httpx2.ReadTimeout("the answer was still arriving at its timeout", request=self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class BoundedTransport(httpx2.BaseTransport):
    """httpx's transport, with every answer's body bounded in bytes and in wall-clock time."""

    def __init__(self, max_bytes: int, inner: httpx2.BaseTransport | None = None) -> None:
        self._max_bytes = max_bytes
        self._inner = inner or httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        seconds = _seconds(request)
        deadline = time.monotonic() + seconds if seconds is not None else None
        request.headers["accept-encoding"] = "identity"
        response = self._inner.handle_request(request)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            response.close()
            raise AnswerTooLarge(f"the model's server sent a {encoding!r}-compressed answer it was not asked for")
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_bytes:
            response.close()
            raise AnswerTooLarge(f"the model's server announced {int(length):,} bytes (at most {self._max_bytes:,})")
        assert isinstance(response.stream, httpx2.SyncByteStream)
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_BoundedBody(response.stream, request, self._max_bytes, deadline),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()

"""One deadline for a whole outbound HTTP exchange (phi.guarded_http): every socket operation of the connection
may wait only until it. Imported when a request is made, with httpx (neither is needed to start a function)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


def _time_left(deadline: float, asked: float | None, expired: type[Exception]) -> float:
    """What one socket operation may wait: the time asked for, at most the time left until the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise expired("the exchange's deadline passed")
    return remaining if asked is None else min(asked, remaining)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write may wait only until the exchange's deadline. httpx's timeouts
    apply to each socket operation afresh, so a server that trickles its status line and headers a byte at a
    time (before any body chunk reaches the caller's own check) would otherwise hold the request indefinitely."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner, self._deadline = inner, deadline

    def _timeout(self, asked: float | None, expired: type[Exception]) -> float:
        return _time_left(self._deadline, asked, expired)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._timeout(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._timeout(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        wrapped = self._inner.start_tls(ssl_context, server_hostname, self._timeout(timeout, httpcore.ConnectTimeout))
        return DeadlineStream(wrapped, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: float) -> None:
        self._inner, self._deadline = httpcore.SyncBackend(), deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        limit = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, limit, local_address, socket_options)
        return DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(context: ssl.SSLContext, deadline: float) -> httpx.HTTPTransport:
    """httpx's own transport (its mapping of httpcore's errors included) over a pool whose connections keep
    the exchange's one deadline. httpx takes no network backend, so its pool is replaced; proxies are never
    used here (trust_env=False), which is the only other thing that pool would have carried."""
    transport = httpx.HTTPTransport(verify=context, trust_env=False, retries=0)
    transport._pool = httpcore.ConnectionPool(ssl_context=context, network_backend=DeadlineBackend(deadline))
    return transport

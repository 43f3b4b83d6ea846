"""A real HTTPS server on 127.0.0.1 with a certificate from a test CA (trustme), for the guarded outbound
client's tests: the client trusts only that CA, checks the certificate's host name, and is told (through its
test seam) that 127.0.0.1 is the test server's address."""

from __future__ import annotations

import json
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme

from phi.guarded_http import OutboundPolicy

HOST = "hooks.test"
LOOPBACK = "127.0.0.1"


def _deflated(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


def _gzip_bomb(inflated_bytes: int) -> bytes:
    """Zeros that inflate to `inflated_bytes` from about a thousandth of that, built without holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(inflated_bytes // len(block))]
    return b"".join(parts) + compressor.flush()


ROWS_JSON = json.dumps({"data": {"items": [{"carrier": "DHL", "late": 3}, {"carrier": "UPS", "late": 1}]}}).encode()
# Bodies sent with a Content-Encoding, by path.
ENCODED = {
    "/gzip": ("gzip", _deflated(ROWS_JSON, zlib.MAX_WBITS | 16)),
    "/deflate": ("deflate", _deflated(ROWS_JSON, zlib.MAX_WBITS)),
    "/deflate-raw": ("deflate", _deflated(ROWS_JSON, -zlib.MAX_WBITS)),
    "/gzip-bomb": ("gzip", _gzip_bomb(256 * 1024 * 1024)),
    "/gzip-broken": ("gzip", b"\x1f\x8b\x08\x00 not gzip at all"),
    "/brotli": ("br", b"\x8b\x02\x80{}\x03"),
}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class TlsServer:
    port: int
    ca: trustme.CA
    received: list[Received] = field(default_factory=list)
    slow_seconds: float = 3.0
    trickle_seconds: float = 0.03

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def policy(self, **overrides: Any) -> OutboundPolicy:
        """A policy allowing this server's host:port, resolving it to 127.0.0.1 and trusting the test CA."""
        values: dict[str, Any] = {
            "allowed_hosts": frozenset({f"{HOST}:{self.port}"}),
            "timeout_seconds": 5.0,
            "max_response_bytes": 64 * 1024,
            "resolver": lambda host, port: [LOOPBACK],
            "tls_context": self.client_context(),
            "test_addresses": frozenset({LOOPBACK}),
        }
        return OutboundPolicy(**{**values, **overrides})

    def url(self, path: str, host: str = HOST) -> str:
        return f"https://{host}:{self.port}{path}"


def _handler(server: TlsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _record(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            server.received.append(Received(self.command, self.path, dict(self.headers.items()), body))

        def _send(self, status: int, body: bytes, content_type: str = "application/json", **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _route(self) -> None:
            self._record()
            path = self.path.split("?")[0]
            if path == "/json":
                rows = [{"carrier": "DHL", "late": 3}, {"carrier": "UPS", "late": 1, "note": "weather"}]
                self._send(200, json.dumps({"data": {"items": rows}}).encode())
            elif path == "/csv":
                self._send(200, b"carrier,late\r\nDHL,3\r\nUPS,1\r\n", "text/csv")
            elif path == "/echo":
                self._send(200, json.dumps({"host": self.headers.get("host")}).encode())
            elif path == "/fail":
                self._send(500, b'{"error": "down"}')
            elif path == "/redirect":
                self._send(302, b"", Location="https://169.254.169.254/latest/meta-data/")
            elif path == "/big":
                self._send(200, b"x" * 200_000, "text/plain")
            elif path == "/big-chunked":  # no Content-Length: the cap must hold while streaming
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(50):
                    chunk = b"y" * 8192
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            elif path == "/trickle":  # headers a byte at a time for ~3 s, never finished: each gap far below a read
                # timeout, so only a deadline for the whole exchange ends it before the server hangs up
                for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"p" * 60:
                    self.wfile.write(bytes([byte]))
                    time.sleep(server.trickle_seconds)
            elif path in ENCODED:
                encoding, body = ENCODED[path]
                self._send(200, body, "application/json", **{"Content-Encoding": encoding})
            elif path == "/slow":
                time.sleep(server.slow_seconds)
                self._send(200, b"{}")
            else:
                self._send(404, b"{}")

        do_GET = _route
        do_POST = _route

    return Handler


@contextmanager
def tls_server() -> Iterator[TlsServer]:
    ca = trustme.CA()
    certificate = ca.issue_cert(HOST)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    state = TlsServer(port=0, ca=ca)
    httpd = ThreadingHTTPServer((LOOPBACK, 0), _handler(state))
    httpd.daemon_threads = True
    httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]  # a client hanging up (the size cap) is expected
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()

"""An HTTP proxy on loopback between the local agent and the AWS endpoint that can hold back chosen calls:
network latency on the customer's side, injected without touching the agent's code."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "host"}


class FaultyProxy:
    """Forwards every request to `upstream`; a request whose X-Amz-Target ends with `hold_target` waits for
    `hold_seconds` (or until released) before it is forwarded. `held` is set when one is being held."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlparse(upstream)
        self.hold_target: str | None = None
        self.hold_seconds = 0.0
        self.held = threading.Event()
        self.release = threading.Event()
        self.forwarded: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _should_hold(self, target: str) -> bool:
        return bool(self.hold_target) and target.endswith(self.hold_target or "")

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list, bytes]:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                target = self.headers.get("X-Amz-Target", "")
                if proxy._should_hold(target):
                    proxy.held.set()
                    proxy.release.wait(proxy.hold_seconds)
                status, response_headers, payload = proxy._forward(self.command, self.path, headers, body)
                proxy.forwarded.append(target)
                self.send_response(status)
                for name, value in response_headers:
                    if name.lower() not in _HOP_HEADERS | {"content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay

        return Handler

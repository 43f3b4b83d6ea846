"""A large result's upload goes through the machine's proxy when its environment names one, as the agent's AWS and
API calls do (a customer's network often allows no other way out): plain HTTP in absolute form, HTTPS through a
CONNECT tunnel, the proxy's credentials sent to the proxy only, NO_PROXY honoured. The proxy here is a recorder on
loopback; the S3 endpoint is never reached (a refused tunnel is an upload error)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from phi_agent.errors import ToolError
from phi_agent.results import put_presigned

BODY = b"\x1f\x8b result bytes"


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, str]]] = []  # (method, target, Proxy-Authorization)
    bodies: ClassVar[list[bytes]] = []

    def _record(self) -> None:
        self.seen.append((self.command, self.path, self.headers.get("Proxy-Authorization", "")))

    def do_PUT(self) -> None:
        self._record()
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_CONNECT(self) -> None:
        self._record()
        self.send_response(403)  # this recorder opens no tunnels
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    _Recorder.seen.clear()
    _Recorder.bodies.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_plain_http_upload_goes_through_the_proxy_with_its_credentials(
    proxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://agent:s%40cret@{proxy}")
    url = "http://objects.internal:4566/bucket/tool-results/t/c.jsonl.gz?X-Amz-Signature=abc"
    put_presigned(url, io.BytesIO(BODY), len(BODY))
    assert _Recorder.seen == [("PUT", url, "Basic YWdlbnQ6c0BjcmV0")]  # agent:s@cret
    assert _Recorder.bodies == [BODY]


def test_an_https_upload_asks_the_proxy_for_a_tunnel_to_s3(proxy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://{proxy}")
    url = "https://phi-results.s3.eu-west-2.amazonaws.com/tool-results/t/c.jsonl.gz?X-Amz-Signature=abc"
    with pytest.raises(ToolError) as failed:
        put_presigned(url, io.BytesIO(BODY), len(BODY), sleep=lambda _: None)
    assert {entry[:2] for entry in _Recorder.seen} == {("CONNECT", "phi-results.s3.eu-west-2.amazonaws.com:443")}
    assert "failed after 4 attempts" in failed.value.cause and "abc" not in failed.value.cause
    assert _Recorder.bodies == []  # nothing sent in the clear to the proxy


def test_a_host_no_proxy_names_is_reached_directly(proxy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    direct = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=direct.serve_forever, daemon=True).start()
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")  # unreachable: only a bypass can succeed
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    put_presigned(f"http://127.0.0.1:{direct.server_port}/bucket/key", io.BytesIO(BODY), len(BODY))
    direct.shutdown()
    assert _Recorder.seen == [("PUT", "/bucket/key", "")]

"""TEST DOUBLE: a small OpenAI-compatible chat server over real HTTP, on 127.0.0.1.

Each base path is one "server" with its own behaviour, so one process plays several routes:
    http://127.0.0.1:<port>/<name>/v1  — behaviour set with ``server.behave(name, ...)``:
    "answer" (200 with text and usage), a status code (e.g. 503, 429, 400: an OpenAI-style error body),
    or "hang" (answers after ``hang_seconds``, for timeouts).
Every request is kept (path, model, Authorization header) so tests can assert which route saw what."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    kind: str | int = "answer"
    text: str = "ok"
    prompt_tokens: int = 11
    completion_tokens: int = 7
    hang_seconds: float = 5.0


@dataclass
class SeenRequest:
    server: str
    model: str
    authorization: str | None
    body: dict[str, Any] = field(default_factory=dict)


class FakeOpenAIServer:
    def __init__(self) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.seen: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def base_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}/v1"

    def behave(self, name: str, kind: str | int = "answer", **settings: Any) -> None:
        self.behaviours[name] = Behaviour(kind=kind, **settings)

    def requests_to(self, name: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.seen if r.server == name]

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                name = self.path.strip("/").split("/", 1)[0]
                length = min(int(self.headers.get("Content-Length") or 0), 1_000_000)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.seen.append(
                        SeenRequest(name, str(body.get("model")), self.headers.get("Authorization"), body)
                    )
                behaviour = server.behaviours.get(name, Behaviour())
                if behaviour.kind == "hang":
                    time.sleep(behaviour.hang_seconds)
                if isinstance(behaviour.kind, int):
                    error = {"error": {"message": f"fake {behaviour.kind}", "type": "fake", "code": None}}
                    return self._send(behaviour.kind, error)
                completion = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": behaviour.text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": behaviour.prompt_tokens,
                        "completion_tokens": behaviour.completion_tokens,
                        "total_tokens": behaviour.prompt_tokens + behaviour.completion_tokens,
                    },
                }
                return self._send(200, completion)

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

        return Handler


class _WrongKeyHandler(BaseHTTPRequestHandler):
    """Answers every request as OpenAI does to a wrong key: a 401 whose message echoes the key, masked."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        sent = self.headers["authorization"].split()[-1]
        masked = sent[:8] + "*" * (len(sent) - 12) + sent[-4:]
        body = json.dumps(
            {"error": {"message": f"Incorrect API key provided: {masked}.", "code": "invalid_api_key"}}
        ).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def wrong_key_server() -> Iterator[str]:
    """TEST DOUBLE: an OpenAI-compatible base URL on 127.0.0.1 that refuses every key as OpenAI does (401)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WrongKeyHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()

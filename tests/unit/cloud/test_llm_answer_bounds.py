"""A model's answer is outside input: the OpenAI client under the provider refuses an answer past the size cap
(announced or not, compressed or not) and cuts off an answer still dripping in at the request's timeout. The
provider is the real OpenAI client against a local server playing a hostile OpenAI-compatible endpoint."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from phi.llm.base import ChatMessage
from phi.llm.bounded_http import AnswerTooLarge
from phi.llm.failures import is_transient
from phi.llm.openai_provider import OpenAIProvider

CAP = 64 * 1024
stop_dripping = threading.Event()


def _completion(text: str) -> bytes:
    return json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()


class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        mode = self.path.split("/")[1]
        body = _completion("A" * (CAP * 4) if mode in ("big", "chunked", "gzip") else "fine")
        self.send_response(200)
        self.send_header("content-type", "application/json")
        if mode == "gzip":
            body = gzip.compress(body)
            self.send_header("content-encoding", "gzip")
        if mode in ("chunked", "drip"):
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            step = 4096 if mode == "chunked" else 1
            for i in range(0, len(body), step):
                if stop_dripping.is_set():
                    return
                part = body[i : i + step]
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                self.wfile.flush()
                if mode == "drip":
                    time.sleep(0.2)
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def base() -> Iterator[str]:
    stop_dripping.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    stop_dripping.set()
    server.shutdown()


def _provider(base: str, mode: str, timeout: float = 10) -> OpenAIProvider:
    return OpenAIProvider(
        model="m",
        api_key="k",
        base_url=f"{base}/{mode}/v1",
        timeout_seconds=timeout,
        temperature=0,
        max_answer_bytes=CAP,
    )


def _ask(provider: OpenAIProvider) -> str:
    return provider.chat([ChatMessage(role="user", content="hi")], purpose="analysis").text


def test_an_answer_within_the_cap_is_read(base: str) -> None:
    assert _ask(_provider(base, "ok")) == "fine"


@pytest.mark.parametrize("mode", ["big", "chunked", "gzip"])
def test_an_answer_past_the_cap_is_refused_and_not_retried(base: str, mode: str) -> None:
    with pytest.raises(AnswerTooLarge) as caught:
        _ask(_provider(base, mode))
    assert not is_transient(caught.value)  # the same model would answer the same way
    assert "A" * 10 not in str(caught.value)


def test_an_answer_still_dripping_in_at_the_timeout_is_cut_off(base: str) -> None:
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        _ask(_provider(base, "drip", timeout=1))
    # the whole answer would take over a minute at this pace; each byte arrives well within the read timeout (the
    # bound is generous for a loaded machine: the cut comes at 1 s)
    assert time.monotonic() - started < 30
    assert type(caught.value).__name__ == "APITimeoutError"
    assert is_transient(caught.value)

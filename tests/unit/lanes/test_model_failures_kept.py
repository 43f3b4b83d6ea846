"""What a request keeps about a model that failed is shown to every member of the organisation: a provider's error
text, which can echo a masked API key or the request, stays out of it; the project's own words about an unusable
answer stay in. The provider is the real OpenAI client against a local server answering as OpenAI does to a wrong
key (OpenAI itself cannot be reached here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from phi.llm.openai_provider import OpenAIProvider
from phi.services import requests as requests_service
from phi.services.planning import Budget

KEY = "sk-abcd1234EFGH5678ijkl9012MNOP3456qrst7890UVWXyz"


class _WrongKey(BaseHTTPRequestHandler):
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


@pytest.fixture
def provider() -> Iterator[OpenAIProvider]:
    server = HTTPServer(("127.0.0.1", 0), _WrongKey)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield OpenAIProvider(
        model="m", api_key=KEY, base_url=f"http://127.0.0.1:{server.server_port}/v1", timeout_seconds=10, temperature=0
    )
    server.shutdown()


def test_a_provider_error_is_kept_as_its_kind_and_status_only(provider: OpenAIProvider) -> None:
    body = requests_service.NewRequest(prompt="show the backlog")
    decision = requests_service._decide(body, provider, Budget(10), [])
    assert decision.source == "rules"
    assert "the model's answer could not be used: AuthenticationError (HTTP 401)" in decision.reason
    assert KEY[:8] not in decision.reason and "Incorrect API key" not in decision.reason


def test_the_project_s_own_words_about_an_unusable_answer_are_kept() -> None:
    failure = requests_service.UnusableAnswer("the answer is not JSON (Expecting value at position 0)")
    assert requests_service._model_failure(failure, 300) == "the answer is not JSON (Expecting value at position 0)"
    # any other failure (a provider's, whatever its text) is its kind only, in the plan's and the patch's refusal too
    assert requests_service._model_failure(ValueError(f"echoing {KEY}"), 300) == "ValueError"

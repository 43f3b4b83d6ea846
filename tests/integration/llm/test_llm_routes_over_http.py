"""Routing and fallback against OpenAI-compatible servers over real HTTP (tests/support/fake_openai.py, a test
double), through the real OpenAI SDK: transient failures fall through in order, a bad request does not, a hung
server is cut off at the route's timeout, and each route gets its own key — the default key never leaves for
another server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from phi.domain.models import LlmCall
from phi.llm.base import ChatMessage, Purpose
from phi.llm.factory import get_llm
from phi.llm.routing import LlmRoutesFailed
from phi.settings import Settings
from tests.support.fake_openai import FakeOpenAIServer

HELLO = [ChatMessage(role="user", content="Classify: show me top 10 flights")]


class Ledger:
    def __init__(self) -> None:
        self.calls: list[LlmCall] = []

    def before_call(self, purpose: Purpose) -> None:
        pass

    def record(self, call: LlmCall) -> None:
        self.calls.append(call)


@pytest.fixture
def servers() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


def routed(server: FakeOpenAIServer, routes: list[dict[str, Any]], ledger: Ledger, **settings: Any) -> Any:
    for route in routes:
        if "server" in route:
            route["base_url"] = server.base_url(route.pop("server"))
    table = json.dumps(
        {"default": [{"model": "unused", "base_url": server.base_url("unused")}], "classification": routes}
    )
    llm = get_llm(Settings(llm_routes=table, **settings), accounting=ledger)  # type: ignore[call-arg]
    assert llm is not None
    return llm


def test_a_503_and_a_429_fall_through_to_the_third_route(servers: FakeOpenAIServer) -> None:
    servers.behave("vllm", 503)
    servers.behave("ollama", 429)
    servers.behave("openai", "answer", text='{"lane": "execute"}', prompt_tokens=31, completion_tokens=9)
    ledger = Ledger()
    llm = routed(
        servers,
        [
            {"server": "vllm", "model": "qwen"},
            {"server": "ollama", "model": "llama3"},
            {"server": "openai", "model": "gpt"},
        ],
        ledger,
    )

    answer = llm.chat(HELLO, purpose="classification")

    assert (answer.text, answer.model, answer.prompt_tokens, answer.completion_tokens) == (
        '{"lane": "execute"}',
        "gpt",
        31,
        9,
    )
    assert [(c.model, c.ok, c.error) for c in ledger.calls] == [
        ("qwen", False, "InternalServerError (HTTP 503)"),
        ("llama3", False, "RateLimitError (HTTP 429)"),
        ("gpt", True, None),
    ]
    assert [len(servers.requests_to(s)) for s in ("vllm", "ollama", "openai")] == [1, 1, 1]


def test_a_bad_request_surfaces_and_the_next_route_is_not_asked(servers: FakeOpenAIServer) -> None:
    servers.behave("vllm", 400)
    ledger = Ledger()
    llm = routed(servers, [{"server": "vllm", "model": "qwen"}, {"server": "openai", "model": "gpt"}], ledger)

    with pytest.raises(Exception) as error:
        llm.chat(HELLO, purpose="classification")

    assert getattr(error.value, "status_code", None) == 400
    assert servers.requests_to("openai") == []


def test_a_server_down_and_a_hung_one_end_in_one_error_naming_both(servers: FakeOpenAIServer) -> None:
    servers.behave("hung", "hang", hang_seconds=5)
    ledger = Ledger()
    llm = routed(
        servers,
        [
            {"server": "hung", "model": "slow", "timeout_seconds": 0.5},
            {"model": "nobody", "base_url": "http://127.0.0.1:9/v1"},  # the discard port: nothing listens
        ],
        ledger,
    )

    with pytest.raises(LlmRoutesFailed) as failed:
        llm.chat(HELLO, purpose="classification")

    assert "openai/slow@127.0.0.1" in str(failed.value) and "APITimeoutError" in str(failed.value)
    assert "openai/nobody@127.0.0.1:9: APIConnectionError" in str(failed.value)
    assert ledger.calls[0].latency_ms < 3000


def test_each_route_sends_its_own_key_and_never_the_default_one(
    servers: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHI_TEST_VLLM_KEY", "vllm-secret")
    servers.behave("vllm", 503)
    ledger = Ledger()
    llm = routed(
        servers,
        [
            {"server": "vllm", "model": "qwen", "api_key_env": "PHI_TEST_VLLM_KEY"},
            {"server": "ollama", "model": "llama3"},
        ],
        ledger,
        openai_api_key="sk-default-key",
    )

    llm.chat(HELLO, purpose="classification")

    assert servers.requests_to("vllm")[0].authorization == "Bearer vllm-secret"
    assert servers.requests_to("ollama")[0].authorization == "Bearer not-needed"
    assert all("sk-default-key" not in json.dumps(c.model_dump()) for c in ledger.calls)

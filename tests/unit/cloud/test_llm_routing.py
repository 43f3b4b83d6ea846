"""LLM routing: the table in settings (validated, keys only by reference), the single-route default from the old
settings, fallback on transient failures only, every attempt accounted, a refused call reaches no model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from phi import names
from phi.domain.models import LlmCall
from phi.errors import LlmBudgetExhausted
from phi.llm.base import ChatMessage, LlmResponse, Purpose
from phi.llm.factory import get_llm, route_api_key
from phi.llm.failures import is_transient
from phi.llm.routing import LlmRoutesFailed, RoutedLlm
from phi.settings import LlmRoute, Settings, parse_llm_routes, requirements_for

HELLO = [ChatMessage(role="user", content="hello")]


class HttpError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


class FakeRoute:
    """A route provider that answers or fails as told, counting its calls."""

    def __init__(self, outcome: str | Exception) -> None:
        self.outcome, self.calls = outcome, 0
        self.timeouts: list[float | None] = []

    def chat(
        self,
        messages: list[ChatMessage],
        *,
        purpose: Purpose,
        json_schema: dict[str, Any] | None = None,
        timeout_seconds: float | None = None,
    ) -> LlmResponse:
        self.calls += 1
        self.timeouts.append(timeout_seconds)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return LlmResponse(text=self.outcome, model="m", prompt_tokens=5, completion_tokens=3)


class Ledger:
    def __init__(self, refuse: bool = False) -> None:
        self.calls: list[LlmCall] = []
        self.refuse = refuse

    def before_call(self, purpose: Purpose) -> None:
        if self.refuse:
            raise LlmBudgetExhausted("budget spent", details={"budget_tokens": 1, "used_tokens": 1})

    def record(self, call: LlmCall) -> None:
        self.calls.append(call)


def routed(*outcomes: str | Exception, ledger: Ledger | None = None, deadline: float | None = None) -> Any:
    routes = [LlmRoute(model=f"model-{i}", base_url=f"http://server-{i}:8000/v1") for i in range(len(outcomes))]
    fakes = {route: FakeRoute(outcome) for route, outcome in zip(routes, outcomes, strict=True)}
    llm = RoutedLlm({"analysis": routes}, lambda route: fakes[route], accounting=ledger, deadline_seconds=deadline)
    return llm, list(fakes.values())


@pytest.mark.parametrize(
    "failure",
    [HttpError(503), HttpError(500), HttpError(429), HttpError(408), ConnectionError("refused"), TimeoutError()],
    ids=["503", "500", "429", "408", "connection", "timeout"],
)
def test_a_transient_failure_falls_through_to_the_next_route(failure: Exception) -> None:
    ledger = Ledger()
    llm, (first, second) = routed(failure, "from the fallback", ledger=ledger)

    answer = llm.chat(HELLO, purpose="analysis")

    assert answer.text == "from the fallback"
    assert (first.calls, second.calls) == (1, 1)
    assert [(c.attempt, c.ok, c.model) for c in ledger.calls] == [(1, False, "model-0"), (2, True, "model-1")]
    assert ledger.calls[1].prompt_tokens == 5 and ledger.calls[1].completion_tokens == 3
    assert ledger.calls[0].route == "openai/model-0@server-0:8000"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_client_error_surfaces_at_once_and_the_fallback_is_not_tried(status: int) -> None:
    ledger = Ledger()
    llm, (first, second) = routed(HttpError(status), "never", ledger=ledger)

    with pytest.raises(HttpError):
        llm.chat(HELLO, purpose="analysis")

    assert (first.calls, second.calls) == (1, 0)
    assert [(c.ok, c.error) for c in ledger.calls] == [(False, f"HttpError (HTTP {status})")]


def test_when_every_route_fails_the_error_names_each_and_stays_transient_for_the_retry_layer() -> None:
    llm, fakes = routed(HttpError(503), ConnectionError("down"))

    with pytest.raises(LlmRoutesFailed) as failed:
        llm.chat(HELLO, purpose="analysis")

    assert is_transient(failed.value)
    assert "model-0@server-0:8000: HttpError (HTTP 503)" in str(failed.value)
    assert "model-1@server-1:8000: ConnectionError" in str(failed.value)
    assert [f.calls for f in fakes] == [1, 1]


def test_a_refused_call_reaches_no_model_and_is_not_retried() -> None:
    llm, (first,) = routed("never", ledger=Ledger(refuse=True))

    with pytest.raises(LlmBudgetExhausted):
        llm.chat(HELLO, purpose="analysis")

    assert first.calls == 0
    assert not is_transient(LlmBudgetExhausted("spent"))


def test_the_deadline_covers_every_fallback() -> None:
    now = [0.0]
    routes = [LlmRoute(model="slow"), LlmRoute(model="late")]
    slow, late = FakeRoute(TimeoutError()), FakeRoute("too late")

    def slow_chat(*args: Any, **kwargs: Any) -> LlmResponse:
        now[0] += 20.0
        raise TimeoutError

    slow.chat = slow_chat  # type: ignore[method-assign]
    fakes = {routes[0]: slow, routes[1]: late}
    llm = RoutedLlm({"profile": routes}, lambda r: fakes[r], deadline_seconds=20.0, clock=lambda: now[0])

    with pytest.raises(LlmRoutesFailed, match="not tried, the 20 s budget was spent"):
        llm.chat(HELLO, purpose="profile")
    assert late.calls == 0


def test_the_routing_table_takes_a_default_and_per_purpose_lists() -> None:
    table = parse_llm_routes(
        json.dumps(
            {
                "default": [{"model": "gpt-4o-mini"}],
                "planning": [
                    {"model": "qwen2.5:14b", "base_url": "http://ollama:11434/v1"},
                    {"model": "gpt-4o", "api_key_env": "HOME"},
                ],
            }
        )
    )

    assert [r.label for r in table["planning"]] == ["openai/qwen2.5:14b@ollama:11434", "openai/gpt-4o"]
    assert [r.model for r in table["classification"]] == ["gpt-4o-mini"]
    assert set(table) == {"analysis", "profile", "classification", "planning"}


@pytest.mark.parametrize(
    ("routes", "problem"),
    [
        ({"analysis": [{"model": "m"}]}, "no route for profile, classification, planning"),
        ({"default": [{"model": "m", "provider": "anthropic"}]}, "default.0.provider"),
        ({"default": [{"model": "m"}], "summarise": [{"model": "m"}]}, "summarise"),
        ({"default": [{"model": "m", "base_url": "ftp://x"}]}, "default.0.base_url"),
        ({"default": []}, "no route for analysis"),
    ],
)
def test_a_bad_routing_table_fails_naming_the_place(routes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match="PHI_LLM_ROUTES") as error:
        parse_llm_routes(json.dumps(routes))
    assert problem in str(error.value)


def test_a_key_pasted_into_the_table_is_refused_without_being_repeated() -> None:
    secret = "sk-live-THIS-MUST-NOT-LEAK"
    raw = json.dumps({"default": [{"model": "m", "api_key": secret}]})

    with pytest.raises(ValidationError) as error:
        Settings(llm_routes=raw)  # type: ignore[call-arg]

    assert "never holds one" in str(error.value)
    assert secret not in str(error.value) and secret not in repr(error.value)


def test_a_key_variable_that_is_not_set_fails_the_cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHI_TEST_UNSET_KEY", raising=False)
    raw = json.dumps({"default": [{"model": "m", "api_key_env": "PHI_TEST_UNSET_KEY"}]})

    with pytest.raises(ValidationError, match="PHI_TEST_UNSET_KEY"):
        Settings(llm_routes=raw)  # type: ignore[call-arg]


def test_the_old_settings_are_the_single_route_default() -> None:
    settings = Settings(  # type: ignore[call-arg]
        llm_provider="openai",
        openai_base_url="http://vllm:8000/v1",
        llm_model_analysis="qwen-a",
        llm_model_profile="qwen-p",
    )

    table = settings.llm_routing()

    assert {p: [r.label for r in rs] for p, rs in table.items()} == {
        "analysis": ["openai/qwen-a@vllm:8000"],
        "profile": ["openai/qwen-p@vllm:8000"],
        "classification": ["openai/qwen-a@vllm:8000"],
        "planning": ["openai/qwen-a@vllm:8000"],
    }
    assert Settings().llm_routing() == {}  # type: ignore[call-arg]
    assert get_llm(Settings()) is None  # type: ignore[call-arg]


def test_the_default_openai_key_goes_only_to_the_default_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHI_TEST_VLLM_KEY", "vllm-key")
    settings = Settings(openai_api_key="sk-default")  # type: ignore[call-arg]

    assert route_api_key(LlmRoute(model="gpt-4o"), settings) == "sk-default"
    assert route_api_key(LlmRoute(model="q", base_url="http://vllm:8000/v1"), settings) == "not-needed"
    assert route_api_key(LlmRoute(model="q", base_url="http://x/v1", api_key_env="PHI_TEST_VLLM_KEY"), settings) == (
        "vllm-key"
    )


def test_routes_needing_the_default_key_require_it_at_cold_start() -> None:
    needs_key = Settings(llm_routes=json.dumps({"default": [{"model": "gpt-4o"}]}))  # type: ignore[call-arg]
    local_only = Settings(  # type: ignore[call-arg]
        llm_routes=json.dumps({"default": [{"model": "q", "base_url": "http://ollama:11434/v1"}]})
    )

    assert "openai_api_key" in str(requirements_for(names.Service.THINK, needs_key))
    assert "openai_api_key" not in str(requirements_for(names.Service.THINK, local_only))


def test_scripted_routes_fall_back_and_report_tokens(tmp_path: Path) -> None:
    script = tmp_path / "llm.json"
    script.write_text(json.dumps({"planning": [{"fail": 503}, {"text": "plan", "prompt_tokens": 40}]}))
    routes = {"default": [{"provider": "scripted", "model": "primary"}, {"provider": "scripted", "model": "backup"}]}
    settings = Settings(llm_routes=json.dumps(routes), scripted_llm_file=str(script))  # type: ignore[call-arg]
    ledger = Ledger()
    llm = get_llm(settings, accounting=ledger)
    assert llm is not None

    answer = llm.chat(HELLO, purpose="planning")

    assert (answer.text, answer.model, answer.prompt_tokens) == ("plan", "backup", 40)
    assert [(c.model, c.ok) for c in ledger.calls] == [("primary", False), ("backup", True)]
    assert [s["model"] for s in json.loads(script.read_text())["seen"]] == ["primary", "backup"]


def test_a_route_s_label_never_shows_credentials_in_its_base_url() -> None:
    route = LlmRoute(model="m", base_url="https://proxy-user:sk-proxy-secret@llm.example.com:8443/v1")
    assert route.label == "openai/m@llm.example.com:8443"
    assert LlmRoute(model="m", base_url="http://ollama:11434/v1").label == "openai/m@ollama:11434"
    assert LlmRoute(model="m", base_url="https://api.example.com").label == "openai/m@api.example.com"

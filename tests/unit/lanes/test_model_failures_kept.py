"""What a request keeps about a model that failed is shown to every member of the organisation: a provider's error
text, which can echo a masked API key or the request, stays out of it; the project's own words about an unusable
answer stay in. The provider is the real OpenAI client against a local server answering as OpenAI does to a wrong
key (OpenAI itself cannot be reached here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from phi.llm.openai_provider import OpenAIProvider
from phi.services import requests as requests_service
from phi.services.planning import Budget
from tests.support.fake_openai import wrong_key_server

KEY = "sk-abcd1234EFGH5678ijkl9012MNOP3456qrst7890UVWXyz"


@pytest.fixture
def provider() -> Iterator[OpenAIProvider]:
    with wrong_key_server() as base_url:
        yield OpenAIProvider(model="m", api_key=KEY, base_url=base_url, timeout_seconds=10, temperature=0)


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

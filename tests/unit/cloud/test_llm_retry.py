"""LLM calls: transient failures are retried with backoff, others surface at once."""

from __future__ import annotations

import pytest

from phi.workflows.retry import call_llm_with_retry


class RateLimited(Exception):
    status_code = 429


class BadRequest(Exception):
    status_code = 400


def test_a_rate_limit_is_retried_until_the_call_succeeds() -> None:
    attempts: list[int] = []

    def call() -> str:
        attempts.append(1)
        if len(attempts) < 2:
            raise RateLimited("slow down")
        return "narrative"

    assert call_llm_with_retry(call) == "narrative"
    assert len(attempts) == 2


def test_a_client_error_is_not_retried() -> None:
    attempts: list[int] = []

    def call() -> str:
        attempts.append(1)
        raise BadRequest("bad prompt")

    with pytest.raises(BadRequest):
        call_llm_with_retry(call)
    assert len(attempts) == 1

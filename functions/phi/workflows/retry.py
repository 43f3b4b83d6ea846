"""LLM calls retried with exponential backoff, bounded in attempts and total time."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

T = TypeVar("T")
_MAX_TOTAL_SECONDS = 120


def _is_transient(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status == 429 or status >= 500
    return isinstance(exc, ConnectionError | TimeoutError) or type(exc).__name__ in {
        "APIConnectionError",
        "APITimeoutError",
        "RateLimitError",
        "InternalServerError",
    }


def call_llm_with_retry(call: Callable[[], T]) -> T:
    retrying = Retrying(
        retry=retry_if_exception(_is_transient),
        stop=stop_after_attempt(4) | stop_after_delay(_MAX_TOTAL_SECONDS),
        wait=wait_exponential_jitter(initial=1, max=20),
        reraise=True,
    )
    return retrying(call)

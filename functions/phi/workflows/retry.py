"""LLM calls retried with exponential backoff, bounded in attempts and total time. Each attempt goes through
every route of the purpose in order (phi.llm.routing), so a retry happens only once all of them failed."""

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

from phi.llm.failures import is_transient

T = TypeVar("T")
_MAX_TOTAL_SECONDS = 120


def call_llm_with_retry(call: Callable[[], T]) -> T:
    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(4) | stop_after_delay(_MAX_TOTAL_SECONDS),
        wait=wait_exponential_jitter(initial=1, max=20),
        reraise=True,
    )
    return retrying(call)

"""Which LLM failures are worth another try — on the next route now (phi.llm.routing), or later (the retry layer).

Transient: the connection failed or timed out, the server answered 5xx, 408 or 429 (rate limit / quota). Another
route may well answer the same request. Not transient: every other 4xx — a malformed request, a schema the model
rejects, a bad key or an unknown model — which says something is wrong with the request or this configuration;
trying elsewhere would hide it, so it surfaces at once."""

from __future__ import annotations

_TRANSIENT_NAMES = {"APIConnectionError", "APITimeoutError", "RateLimitError", "InternalServerError"}


def http_status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(exc: BaseException) -> bool:
    status = http_status(exc)
    if status is not None:
        return status in (408, 429) or status >= 500
    return isinstance(exc, ConnectionError | TimeoutError) or type(exc).__name__ in _TRANSIENT_NAMES


def describe(exc: BaseException) -> str:
    """The failure's kind and HTTP status only: error bodies can echo request content or a masked key."""
    status = http_status(exc)
    return type(exc).__name__ + (f" (HTTP {status})" if status is not None else "")


def explain(exc: BaseException) -> str:
    """Why an LLM call failed, fit for a task's error, a request's refusal and the events people read: the
    project's own words (every route failed, an answer over the cap, a configuration gap) as they are; a provider's
    error by its kind and status only (describe)."""
    from phi.llm.bounded_http import AnswerTooLarge
    from phi.llm.routing import LlmRoutesFailed, RouteUnavailable

    if isinstance(exc, LlmRoutesFailed | RouteUnavailable | AnswerTooLarge) or type(exc) is RuntimeError:
        return str(exc)
    return describe(exc)

"""Domain errors. Each carries a stable code; the API maps them to HTTP statuses in one place (api/errors.py)."""

from __future__ import annotations

from typing import Any


class PhiError(Exception):
    code = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(PhiError):
    code = "not_found"


class BadRequest(PhiError):
    code = "bad_request"


class UnstorableValue(BadRequest):
    """A value the database cannot store (a NUL character, an out-of-range number): the client's to fix."""

    code = "invalid_value"


class Unauthorized(PhiError):
    code = "unauthorized"


class Forbidden(PhiError):
    code = "forbidden"


class WrongPassword(Forbidden):
    """A signed-in caller's proof of their current password failed."""

    code = "wrong_password"


class Conflict(PhiError):
    code = "conflict"


class PayloadTooLarge(PhiError):
    code = "payload_too_large"


class RateLimited(PhiError):
    code = "rate_limited"


class ServiceUnavailable(PhiError):
    code = "service_unavailable"


class RequestTimedOut(ServiceUnavailable):
    """The database stopped a statement that ran past the request's time limit."""

    code = "request_timed_out"


class InvalidDefinition(BadRequest):
    """A workflow definition that does not validate; details["errors"] lists {node, field, message}."""

    code = "invalid_definition"


class LlmBudgetExhausted(RateLimited):
    """The organisation's monthly LLM token budget is spent; details: budget_tokens, used_tokens, resets_at,
    retry_after_seconds (until the month turns, UTC)."""

    code = "llm_budget_exhausted"

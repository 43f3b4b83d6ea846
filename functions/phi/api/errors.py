"""Domain errors → HTTP, in one place. Every error body is {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from phi.api.console import is_console_request
from phi.api.security_headers import security_headers
from phi.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PhiError,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
)

# Validation errors named in an answer: a body of a million unknown keys is a million errors (a 100 MB answer,
# built while every other request waited); the count says how many there were.
MAX_REPORTED_ERRORS = 20

_STATUS: dict[type[PhiError], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    RateLimited: 429,
    ServiceUnavailable: 503,
}


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable code", examples=["not_found"])
    message: str = Field(description="Readable explanation", examples=["Agent not found."])
    details: dict[str, Any] = Field(default_factory=dict, description="Structured context, e.g. invalid fields")


class ErrorBody(BaseModel):
    error: ErrorDetail


# Documented on every operation; the example is what a client really receives.
_DOCUMENTED_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Unknown tools: fax; see GET /tools."),
    401: ("unauthorized", "Authentication required: send 'Authorization: Bearer <token>'."),
    403: ("forbidden", "Only an owner or admin of the organisation can do this."),
    404: ("not_found", "Agent not found."),
    409: ("conflict", "This agent is disabled; enable it to run tasks."),
    422: ("validation_error", "Invalid request: name: String should have at least 1 character"),
    429: ("rate_limited", "Too many failed log-ins for this account; try again in 840 seconds."),
}


def error_body(code: str, message: str, details: object | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": encodable(message), "details": encodable(details or {})}}


def encodable(value: Any) -> Any:
    """`value` (an error's message or details) with every lone surrogate half in its texts and keys made U+FFFD,
    so that the answer (JSON or a console page) can be written as UTF-8: messages quote the caller's keys and
    values, and a field typed as any JSON keeps `{"\ud800": 1}` (its 400 had failed to render, a 500)."""
    if isinstance(value, str):
        from phi.wording import without_lone_surrogates  # on use: the API's cold start does not need phi.wording

        return without_lone_surrogates(value)
    if isinstance(value, list | tuple):
        return [encodable(item) for item in value]
    if isinstance(value, dict):
        return {encodable(key): encodable(item) for key, item in value.items()}
    return value


def _headers_for(status: int, exc: PhiError) -> dict[str, str] | None:
    if status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if status == 429 and "retry_after_seconds" in exc.details:
        return {"Retry-After": str(exc.details["retry_after_seconds"])}
    return None


def _console_error(request: Request, status: int, message: str) -> Response:
    # Imported when a console request fails, not with the handlers: the renderer brings Jinja2 and the console's
    # session module, which API requests never need (see phi.api.console).
    from phi.api.console.rendering import console_error_response

    return console_error_response(request, status, encodable(message))


def _console_validation_error(request: Request, exc: RequestValidationError) -> Response:
    """A malformed id in a console URL is a page that does not exist (404); a form field or a query parameter
    out of its bounds (a filter longer than its limit, a version that is not a number) is the user's input,
    answered with 400 and a message naming the field."""
    errors = exc.errors()
    if any(error["loc"][:1] == ("path",) for error in errors):
        return _console_error(request, 404, "This page does not exist, or you have no access to it.")
    shown, more = _reported(errors)
    summary = "; ".join(
        f"{str(error['loc'][-1])[:200] if error['loc'] else 'form'}: {validation_message(error)}" for error in shown
    )
    return _console_error(request, 400, f"Invalid request: {summary}{more}.")


def validation_message(error: Mapping[str, Any]) -> str:
    """A validation error's message without pydantic's "Value error, " / "Assertion failed, " lead-in, which
    names Python's exception rather than saying anything to the caller."""
    if error.get("type") == "json_invalid":  # its location is a character position, not a field
        position = next((part for part in error.get("loc", ()) if isinstance(part, int)), None)
        where = f" at character {position}" if position is not None else ""
        return f"not valid JSON{where} ({(error.get('ctx') or {}).get('error', 'decode error')})"
    message = str(error.get("msg", ""))
    for lead_in in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(lead_in)
    return message


def validation_field(error: Mapping[str, Any]) -> str:
    """Where a validation error is: 'config.thresholds', 'query.limit'; the body itself for JSON that does not parse."""
    if error.get("type") == "json_invalid":
        return "body"
    return ".".join(str(part) for part in error.get("loc", ()) if part != "body")[:200]


def _reported(errors: Sequence[Any]) -> tuple[Sequence[Any], str]:
    """The errors an answer names, and what it says of the rest ("; and 12,345 more", or nothing)."""
    rest = len(errors) - MAX_REPORTED_ERRORS
    return errors[:MAX_REPORTED_ERRORS], (f"; and {rest:,} more" if rest > 0 else "")


def status_of(exc: PhiError) -> int:
    """The HTTP status of a domain error: the one place the mapping is made (a console form showing the error on
    its own page uses it too)."""
    return next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 500)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PhiError)
    async def domain_error(request: Request, exc: PhiError) -> Response:
        status = status_of(exc)
        if is_console_request(request):
            return _console_error(request, status, exc.message)
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details),
            status_code=status,
            headers=_headers_for(status, exc),
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if is_console_request(request):
            return _console_validation_error(request, exc)
        errors = exc.errors()
        shown, more = _reported(errors)
        fields = [{"field": validation_field(e), "message": validation_message(e)} for e in shown]
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields) + more
        details = {"fields": fields, "error_count": len(errors)}
        return JSONResponse(error_body("validation_error", f"Invalid request: {summary}", details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_console_request(request):
            return _console_error(request, exc.status_code, str(exc.detail))
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        from phi.log import logger

        logger.exception("unhandled error")
        if is_console_request(request):
            response = _console_error(request, 500, "Something went wrong on our side.")
        else:
            response = JSONResponse(error_body("internal_error", "Something went wrong on our side."), 500)
        # Starlette sends this answer outside every middleware, SecurityHeaders included.
        response.headers.update(security_headers(request.scope))
        return response

    _document_errors(app)


def _document_errors(app: FastAPI) -> None:
    """Adds the shared error shape, with examples, to every operation of the OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error_schema.pop("$defs", {}))
        components["ErrorBody"] = error_schema
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                _add_error_responses(operation)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_error_responses(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status, (code, message) in _DOCUMENTED_ERRORS.items():
        if status == 422 and "requestBody" not in operation and not operation.get("parameters"):
            continue
        responses[str(status)] = {
            "description": responses.get(str(status), {}).get("description") or code.replace("_", " "),
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/ErrorBody"},
                    "example": error_body(code, message),
                }
            },
        }

"""Every route that needs credentials refuses a request without them before touching the database, AWS or a
secret: on AWS a missing token must cost no Secrets Manager call and no database connection."""

from __future__ import annotations

import contextvars
import re
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from phi.api.app import create_app


class TouchedOutside(Exception):
    pass


# Set while this test's own app serves a request (and in the worker threads FastAPI runs its sync dependencies in,
# which inherit the request's context): the embedded stack that other tests started may still be running in this
# process, and its scheduler, ingest poller and API threads must neither be counted nor broken by the patches.
IN_TEST_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("in_test_request", default=False)


def _marked(app: Any) -> Any:
    async def serve(scope: Any, receive: Any, send: Any) -> None:
        token = IN_TEST_REQUEST.set(True)
        try:
            await app(scope, receive, send)
        finally:
            IN_TEST_REQUEST.reset(token)

    return serve


@pytest.fixture
def exploding_io(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Database pools, AWS clients and secrets all explode (and are recorded) when a test request touches them."""
    touched: list[str] = []

    def explode(what: str, original: Any) -> Any:
        def _explode(*args: Any, **kwargs: Any) -> Any:
            if not IN_TEST_REQUEST.get():
                return original(*args, **kwargs)
            touched.append(what)
            raise TouchedOutside(what)

        return _explode

    import phi.db.connection
    import phi.secrets
    import phi.services.security

    monkeypatch.setattr("phi.db.connection.get_pool", explode("database pool", phi.db.connection.get_pool))
    monkeypatch.setattr("phi.db.connection.resolve_dsn", explode("database secret", phi.db.connection.resolve_dsn))
    monkeypatch.setattr("phi.aws._clients", {})  # no cached client: every phi.aws.client() call creates one
    monkeypatch.setattr(boto3.session.Session, "client", explode("AWS client", boto3.session.Session.client))
    monkeypatch.setattr("phi.services.security._jwt_secret", explode("JWT secret", phi.services.security._jwt_secret))
    monkeypatch.setattr("phi.secrets._secret_string", explode("secret", phi.secrets._secret_string))
    return touched


def _secured_operations() -> list[tuple[str, str]]:
    schema = create_app().openapi()
    operations = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if operation.get("security"):
                concrete = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)
                operations.append((method.upper(), concrete))
    return operations


SECURED = _secured_operations()


def test_the_routes_open_without_credentials_are_only_sign_up_log_in_and_health() -> None:
    schema = create_app().openapi()
    open_routes = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if not operation.get("security")
    }
    assert open_routes == {("POST", "/auth/signup"), ("POST", "/auth/login"), ("GET", "/health")}
    assert len(SECURED) > 30


@pytest.mark.parametrize(("method", "path"), SECURED, ids=[f"{m} {p}" for m, p in SECURED])
def test_a_request_without_credentials_is_refused_before_any_database_or_secret_access(
    exploding_io: list[str], method: str, path: str
) -> None:
    client = TestClient(_marked(create_app()), raise_server_exceptions=False)
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401, (headers, response.status_code, response.text, exploding_io)
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    assert exploding_io == []

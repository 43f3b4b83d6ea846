"""Every route that needs credentials refuses a request without them before touching the database, AWS or a
secret: on AWS a missing token must cost no Secrets Manager call and no database connection."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from phi.api.app import create_app


class TouchedOutside(Exception):
    pass


@pytest.fixture
def exploding_io(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Database pools, AWS clients and secrets all explode (and are recorded) when touched."""
    touched: list[str] = []

    def explode(what: str) -> Any:
        def _explode(*_: Any, **__: Any) -> Any:
            touched.append(what)
            raise TouchedOutside(what)

        return _explode

    monkeypatch.setattr("phi.db.connection.get_pool", explode("database pool"))
    monkeypatch.setattr("phi.db.connection.resolve_dsn", explode("database secret"))
    monkeypatch.setattr("phi.aws._clients", {})  # no cached client: every phi.aws.client() call creates one
    monkeypatch.setattr(boto3.session.Session, "client", explode("AWS client"))
    monkeypatch.setattr("phi.services.security._jwt_secret", explode("JWT secret"))
    monkeypatch.setattr("phi.secrets._secret_string", explode("secret"))
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
    client = TestClient(create_app(), raise_server_exceptions=False)
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401, (headers, response.status_code, response.text, exploding_io)
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    assert exploding_io == []

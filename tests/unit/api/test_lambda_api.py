"""The API as Lambda serves it: through Mangum behind an API Gateway stage, with CORS as the preflight says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phi import names
from phi.api.app import create_app
from phi.api.stage_root import lambda_handler
from phi.settings import get_settings
from tests.support.lambda_events import EXECUTE_API_DOMAIN, body_of, rest_event
from tests.support.lambda_events import LambdaContext as Context

ORIGIN = "https://app.example.com"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("PHI_CORS_ALLOW_ORIGINS", ORIGIN)
    get_settings.cache_clear()
    yield create_app()
    get_settings.cache_clear()


def test_docs_behind_the_stage_load_the_openapi_document_with_the_stage_prefix(app: Any) -> None:
    handler = lambda_handler(app)
    response = handler(rest_event("GET", "/docs", EXECUTE_API_DOMAIN), Context())
    assert response["statusCode"] == 200
    assert "'/dev/openapi.json'" in body_of(response)
    # Swagger UI's own files, under the stage too, each reaching the browser as text.
    for link in ('"/dev/docs/static/swagger-ui-bundle.js"', '"/dev/docs/static/swagger-ui.css"'):
        assert link in body_of(response)
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        answer = handler(rest_event("GET", f"/docs/static/{asset}", EXECUTE_API_DOMAIN), Context())
        assert answer["statusCode"] == 200 and answer["isBase64Encoded"] is False, asset
        assert len(body_of(answer)) > 10_000, asset
    # The routes themselves still match: the stage is a prefix of links, not of the path.
    assert handler(rest_event("GET", "/health", EXECUTE_API_DOMAIN), Context())["statusCode"] == 200


def test_a_custom_domain_without_the_stage_in_its_urls_is_left_alone(app: Any) -> None:
    handler = lambda_handler(app)
    response = handler(rest_event("GET", "/docs", "api.example.com"), Context())
    assert "'/openapi.json'" in body_of(response)


def test_the_app_answers_preflight_like_api_gateway_without_credentials(app: Any) -> None:
    client = TestClient(app)
    response = client.options(
        "/health",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-credentials" not in response.headers
    assert names.CORS_ALLOW_CREDENTIALS is False


def test_the_consoles_static_files_load_behind_the_stage_and_on_a_custom_domain(app: Any) -> None:
    """A mount (the console's static files) matched the path without the stage against its root with it: 404."""
    handler = lambda_handler(app)
    for domain in (EXECUTE_API_DOMAIN, "api.example.com"):
        response = handler(rest_event("GET", "/console/static/console.css", domain), Context())
        assert response["statusCode"] == 200, domain
        assert "{" in body_of(response)
        assert handler(rest_event("GET", "/console/static/missing.css", domain), Context())["statusCode"] == 404
        assert handler(rest_event("GET", "/health", domain), Context())["statusCode"] == 200


def test_text_answers_reach_api_gateway_as_text_not_base64(app: Any) -> None:
    # API Gateway decodes a base64 body only for its binary media types (multipart uploads): any other answer that
    # Mangum encoded would reach a browser or curl as base64 text
    from fastapi import FastAPI
    from fastapi.responses import Response

    handler = lambda_handler(app)
    paths = ("/console/static/favicon.svg", "/console/static/console.css", "/console/static/console.js", "/docs")
    for path in paths:
        response = handler(rest_event("GET", path, EXECUTE_API_DOMAIN), Context())
        assert response["statusCode"] == 200 and response["isBase64Encoded"] is False, path
    config_like = FastAPI()  # the agent's configuration file is YAML (its route needs a database; the type decides)

    @config_like.get("/config")
    def config() -> Response:
        return Response("version: 1\n", media_type="application/yaml")

    response = lambda_handler(config_like)(rest_event("GET", "/config", EXECUTE_API_DOMAIN), Context())
    assert response["isBase64Encoded"] is False and response["body"] == "version: 1\n"

"""Security headers (phi.api.security_headers): every answer is nosniff; the console's answers also refuse to be
framed, load only the console's own files and, except its static files, are never stored — whoever builds the
answer (a page, a redirect, an error page, the 500 of an unhandled error) and behind the API Gateway stage too."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phi.api.app import create_app
from phi.api.stage_root import lambda_handler
from tests.support.lambda_events import EXECUTE_API_DOMAIN, rest_event
from tests.support.lambda_events import LambdaContext as Context

CONSOLE = Path(__file__).resolve().parents[3] / "functions" / "phi" / "api" / "console"
AGENT_PAGE = "/console/agents/00000000-0000-0000-0000-000000000001"


def _directives(policy: str) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in policy.split(";") if d.strip()}


def _assert_console_headers(headers: Any, *, stored: bool) -> None:
    policy = _directives(headers["content-security-policy"])
    assert policy["frame-ancestors"] == "'none'" and headers["x-frame-options"] == "DENY"
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert "unsafe" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert ("no-store" in headers.get("cache-control", "")) is not stored


@pytest.fixture(scope="module")
def app() -> Any:
    app = create_app()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("unhandled")

    @app.get("/console/boom")
    def console_boom() -> None:
        raise RuntimeError("unhandled")

    return app


def test_console_pages_redirects_and_error_pages_carry_the_console_headers(app: Any) -> None:
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    for path, status in (("/console/login", 200), (AGENT_PAGE, 303), ("/console/nope", 404), ("/console/boom", 500)):
        response = client.get(path)
        assert response.status_code == status, path
        _assert_console_headers(response.headers, stored=False)
    static = client.get("/console/static/console.js")
    assert static.status_code == 200
    _assert_console_headers(static.headers, stored=True)


def test_api_answers_are_never_sniffed_and_carry_no_console_policy(app: Any) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    for path, status in (("/health", 200), ("/orgs", 401), ("/nope", 404), ("/boom", 500)):
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert "content-security-policy" not in response.headers, path
    refused = client.post("/orgs", content=b"{}", headers={"content-length": str(10**12)})
    assert refused.status_code == 413 and refused.headers["x-content-type-options"] == "nosniff"


def test_behind_the_api_gateway_stage_the_console_still_carries_them() -> None:
    handler = lambda_handler(create_app())
    page = handler(rest_event("GET", "/console/login", EXECUTE_API_DOMAIN), Context())
    assert page["statusCode"] == 200
    _assert_console_headers({k.lower(): v for k, v in page["headers"].items()}, stored=False)
    static = handler(rest_event("GET", "/console/static/console.css", EXECUTE_API_DOMAIN), Context())
    assert static["statusCode"] == 200
    _assert_console_headers({k.lower(): v for k, v in static["headers"].items()}, stored=True)


# What the policy refuses, as it would appear in a template: the console's pages must not need any of it.
_REFUSED_BY_THE_POLICY = {
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>"),
    "a script or style sheet from elsewhere": re.compile(
        r"<(?:script|link)[^>]*(?:src|href)=\"(?!\{\{ C \}\}/static/)"
    ),
    "a style element or attribute": re.compile(r"<style|\sstyle=", re.IGNORECASE),
    "an inline event handler": re.compile(r"\son[a-z]+=", re.IGNORECASE),
    "an htmx attribute htmx evaluates as script": re.compile(r"hx-on|hx-vars|js:|javascript:"),
    "an htmx trigger filter (compiled with Function())": re.compile(r"hx-trigger=\"[^\"]*\["),
}


@pytest.mark.parametrize("template", sorted((CONSOLE / "templates").glob("*.html")), ids=lambda p: p.name)
def test_the_console_templates_need_nothing_the_policy_refuses(template: Path) -> None:
    text = template.read_text()
    found = [what for what, pattern in _REFUSED_BY_THE_POLICY.items() if pattern.search(text)]
    assert found == [], f"{template.name} holds {found}"


def test_htmx_keeps_no_copy_of_a_page_in_the_browsers_storage() -> None:
    # htmx's history cache would store a snapshot of the page at each pushed URL (the document search) in the
    # tab's sessionStorage, where it outlives Cache-Control: no-store and the log-out; back to such a URL reloads.
    base = (CONSOLE / "templates" / "base.html").read_text()
    found = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", base)
    assert found is not None
    config = json.loads(found.group(1))
    assert config["historyCacheSize"] == 0
    assert config["refreshOnHistoryMiss"] is True

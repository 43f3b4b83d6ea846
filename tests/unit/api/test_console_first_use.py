"""The console is installed into the API's app at its first request (phi.api.route_groups): API
requests never import it, and once installed it behaves as before — pages, static files, error pages, the
session and CSRF cookies under the stage — through the Lambda handler as deployed."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient

from phi.api.app import create_app
from phi.api.stage_root import lambda_handler
from tests.support.fresh_interpreter import json_from_fresh_interpreter
from tests.support.lambda_events import LambdaContext as Context
from tests.support.lambda_events import body_of, rest_event


def set_cookies(response: dict[str, Any]) -> list[str]:
    """Mangum answers one cookie in headers, several in multiValueHeaders."""
    single = (response.get("headers") or {}).get("set-cookie")
    return [single] if single else list((response.get("multiValueHeaders") or {}).get("set-cookie", []))


def test_api_requests_never_import_the_console_and_the_first_console_request_does() -> None:
    # A fresh interpreter: in this one, other tests have imported the console already.
    found = json_from_fresh_interpreter(
        """
        import json, sys
        from fastapi.testclient import TestClient
        from phi.api.app import create_app

        def console_modules():
            return sorted(m for m in sys.modules if m.startswith("phi.api.console.") or m == "jinja2")

        client = TestClient(create_app())
        seen = {"built": console_modules()}
        answers = {
            "health": client.get("/health").status_code,
            "unknown": client.get("/nope").json(),
            "no_token": client.get("/orgs").status_code,
            "openapi": "/health" in client.get("/openapi.json").json()["paths"],
        }
        seen["after_api_requests"] = console_modules()
        answers["console"] = client.get("/console/login").status_code
        seen["after_console"] = console_modules()
        print(json.dumps({"seen": seen, "answers": answers}))
        """
    )
    assert found["seen"]["built"] == []
    assert found["seen"]["after_api_requests"] == []
    assert found["answers"] == {
        "health": 200,
        "unknown": {"error": {"code": "not_found", "message": "Not Found", "details": {}}},
        "no_token": 401,
        "openapi": True,
        "console": 200,
    }
    assert {"phi.api.console.site", "phi.api.console.pages", "jinja2"} <= set(found["seen"]["after_console"])


def test_the_console_behind_the_stage_keeps_its_session_csrf_and_error_pages_when_installed_on_first_use() -> None:
    handler = lambda_handler(create_app())

    # The very first request of the function is a console page: installed, then served.
    page = handler(rest_event("GET", "/console/login"), Context())
    assert page["statusCode"] == 200
    assert page["headers"]["content-type"].startswith("text/html")
    html = body_of(page)
    assert 'action="/dev/console/login"' in html
    token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    csrf_cookie = next(c for c in set_cookies(page) if c.startswith("phi_console_csrf="))
    assert "HttpOnly" in csrf_cookie and "Path=/dev/console" in csrf_cookie and "SameSite=lax" in csrf_cookie

    form = {"content-type": "application/x-www-form-urlencoded"}
    # A change without the CSRF token is refused with the console's error page, not the API's JSON.
    refused = handler(
        rest_event("POST", "/console/login", headers=form, body=urlencode({"email": "a@example.com"})), Context()
    )
    assert refused["statusCode"] == 403
    assert "did not come from the console" in body_of(refused)
    assert refused["headers"]["content-type"].startswith("text/html")
    # With the cookie and the field, the form is handled (an empty password is shown at its field; no database).
    accepted = handler(
        rest_event(
            "POST",
            "/console/login",
            headers={**form, "cookie": f"phi_console_csrf={token}"},
            body=urlencode({"email": "a@example.com", "csrf_token": token}),
        ),
        Context(),
    )
    assert accepted["statusCode"] == 400
    assert "Enter your password." in body_of(accepted)

    # Without a session, a page leads to the log-in page under the stage; an unknown console path is its 404 page.
    dashboard = handler(rest_event("GET", "/console/orgs"), Context())
    assert dashboard["statusCode"] == 303
    assert dashboard["headers"]["location"] == "/dev/console/login?next=%2Forgs"  # back to the page after log-in
    missing = handler(rest_event("GET", "/console/no-such-page"), Context())
    assert missing["statusCode"] == 404 and missing["headers"]["content-type"].startswith("text/html")

    # The API beside it is unchanged: JSON errors, and 404 for unknown paths.
    unknown = handler(rest_event("GET", "/no-such-route"), Context())
    assert unknown["statusCode"] == 404
    assert json.loads(body_of(unknown)) == {"error": {"code": "not_found", "message": "Not Found", "details": {}}}
    assert handler(rest_event("GET", "/health"), Context())["statusCode"] == 200


def test_the_console_is_installed_once_and_leaves_the_openapi_document_alone() -> None:
    app = create_app()
    before = app.openapi()
    routes_before = len(app.routes)
    client = TestClient(app)
    assert client.get("/console").status_code in (200, 303, 307, 404)
    installed = len(app.routes)
    assert installed > routes_before
    for _ in range(3):
        assert client.get("/console/login").status_code == 200
    assert client.get("/console/static/htmx.min.js").status_code == 200
    assert len(app.routes) == installed
    app.openapi_schema = None  # rebuilt from the routes as they are now
    assert app.openapi() == before
    assert not any(path.startswith("/console") for path in before["paths"])

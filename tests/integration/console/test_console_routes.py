"""The console's routes over HTTP against the embedded stack: session cookies, CSRF, roles and tenancy.
(The journeys in a real browser are in tests/e2e/test_console.py.)"""

from __future__ import annotations

import uuid

import httpx

from tests.support.api import ApiSession
from tests.support.console import ConsoleSession
from tests.support.invitations import invite_and_accept_in_console


def _api_owner_with_agent(api_url: str) -> tuple[ApiSession, dict[str, object]]:
    owner = ApiSession(api_url)
    owner.sign_up(f"owner-{uuid.uuid4().hex[:12]}@example.com")
    owner.create_org(f"Org {uuid.uuid4().hex[:6]}")
    return owner, owner.create_agent()


def test_pages_without_a_session_lead_to_the_login_page(api_url: str) -> None:
    client = httpx.Client(base_url=api_url)
    response = client.get("/console/orgs")
    assert response.status_code == 303
    assert response.headers["location"].endswith("/console/login")
    htmx = client.get("/console/orgs", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].endswith("/console/login")


def test_signup_sets_an_httponly_samesite_session_and_a_post_without_csrf_is_refused(api_url: str) -> None:
    console = ConsoleSession(api_url)
    email = f"c-{uuid.uuid4().hex[:12]}@example.com"

    refused = console.post("/console/signup", {"email": email, "password": "console-password-1"}, with_csrf=False)
    assert refused.status_code == 403
    assert "did not come from the console" in refused.text

    forged = console.post(
        "/console/signup", {"email": email, "password": "console-password-1", "csrf_token": "x" * 43}, with_csrf=False
    )
    assert forged.status_code == 403

    accepted = console.post("/console/signup", {"email": email, "password": "console-password-1"})
    assert accepted.status_code == 303
    session_cookie = next(h for h in accepted.headers.get_list("set-cookie") if h.startswith("phi_console_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie and "Path=/console" in session_cookie
    assert console.client.get("/console/orgs").status_code == 200


def test_every_state_changing_route_refuses_a_request_without_the_csrf_token(api_url: str) -> None:
    console = ConsoleSession(api_url)
    console.sign_up()
    created = console.post("/console/orgs", {"name": "Northwind"})
    org_path = created.headers["location"].split("/console", 1)[1]

    # Logged in, but neither the form field nor the header carries the token
    for path in ("/console/orgs", f"/console{org_path}/agents", f"/console{org_path}/invitations", "/console/logout"):
        response = console.post(path, {"name": "Other"}, with_csrf=False)
        assert response.status_code == 403, path
    # The htmx header is accepted in place of the form field
    token = console.csrf()
    by_header = console.client.post("/console/orgs", data={"name": "Via htmx"}, headers={"X-CSRF-Token": token})
    assert by_header.status_code == 303


def test_short_password_is_shown_at_its_field(api_url: str) -> None:
    console = ConsoleSession(api_url)
    response = console.post("/console/signup", {"email": f"s-{uuid.uuid4().hex[:8]}@example.com", "password": "short"})
    assert response.status_code == 400
    assert 'id="password-error"' in response.text and "at least 10 characters" in response.text
    assert 'aria-invalid="true" aria-describedby="password-error"' in response.text


def test_wrong_password_is_a_clear_error_and_the_right_one_logs_in(api_url: str) -> None:
    console = ConsoleSession(api_url)
    email = console.sign_up()
    fresh = ConsoleSession(api_url)
    wrong = fresh.log_in(email, "not-the-password")
    assert wrong.status_code == 401 and "Wrong email or password." in wrong.text
    right = fresh.log_in(email, "console-password-1")
    assert right.status_code == 303


def test_another_organisations_agent_and_task_urls_show_not_found(api_url: str) -> None:
    owner, agent = _api_owner_with_agent(api_url)
    outsider = ConsoleSession(api_url)
    outsider.sign_up()

    for path in (
        f"/console/agents/{agent['id']}",
        f"/console/agents/{agent['id']}/documents",
        f"/console/agents/{agent['id']}/config",
        f"/console/agents/{agent['id']}/workflows",
        f"/console/orgs/{owner.org_id}",
        f"/console/orgs/{owner.org_id}/fleet",
        f"/console/orgs/{owner.org_id}/members",
        f"/console/tasks/{uuid.uuid4()}",
        "/console/agents/not-a-uuid",
    ):
        response = outsider.client.get(path)
        assert response.status_code == 404, path
        assert "<h1>Not found</h1>" in response.text, path
        assert agent["name"] not in response.text  # nothing of the other organisation leaks

    # Changes are refused the same way
    run = outsider.post(f"/console/agents/{agent['id']}/run", {"task_type": "DAILY_WAREHOUSE_REPORT"})
    assert run.status_code == 404


def test_a_member_sees_no_admin_actions_and_cannot_use_them(api_url: str) -> None:
    owner, agent = _api_owner_with_agent(api_url)
    member = ConsoleSession(api_url)
    invite_and_accept_in_console(owner, str(owner.org_id), member, member.sign_up(), "MEMBER")

    page = member.client.get(f"/console/agents/{agent['id']}")
    assert page.status_code == 200 and agent["name"] in page.text
    for admin_action in ("Generate profile", "Issue an agent key", 'id="upload-form"'):
        assert admin_action not in page.text
    assert "Download config" in page.text and "Run test task" in page.text
    assert "New agent" not in member.client.get(f"/console/orgs/{owner.org_id}/agents").text
    assert "/console/admin/tasks" not in page.text

    assert member.post(f"/console/agents/{agent['id']}/profile").status_code == 403
    assert member.post(f"/console/agents/{agent['id']}/keys").status_code == 403
    assert member.client.get(f"/console/orgs/{owner.org_id}/agents/new").status_code == 403
    assert member.client.get("/console/admin/tasks").status_code == 403
    assert owner.ok("GET", f"/agents/{agent['id']}/keys") == []


def test_the_config_download_is_the_apis(api_url: str) -> None:
    owner, agent = _api_owner_with_agent(api_url)
    member = ConsoleSession(api_url)
    invite_and_accept_in_console(owner, str(owner.org_id), member, member.sign_up(), "MEMBER")

    download = member.client.get(f"/console/agents/{agent['id']}/config")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="phi-agent-config.yaml"'
    assert download.text == owner.ok("GET", f"/agents/{agent['id']}/config")


def test_console_routes_are_not_in_the_openapi_document(api_url: str) -> None:
    paths = httpx.get(f"{api_url}/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/console")]

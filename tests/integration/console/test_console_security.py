"""The console's answers to a signed-in browser (security headers) and where log-in goes next, over HTTP
against the embedded stack."""

from __future__ import annotations

import uuid

import httpx

from tests.support.api import ApiSession
from tests.support.console import ConsoleSession

PASSWORD = "console-password-1"


def _owner_with_agent(api_url: str) -> tuple[str, str]:
    email = f"sec-{uuid.uuid4().hex[:10]}@example.com"
    owner = ApiSession(api_url)
    owner.sign_up(email, PASSWORD)
    owner.create_org("Headers Ltd")
    return email, owner.create_agent()["id"]


def test_a_signed_in_page_is_never_stored_framed_or_sniffed(api_url: str) -> None:
    email, agent_id = _owner_with_agent(api_url)
    console = ConsoleSession(api_url)
    assert console.log_in(email, PASSWORD).status_code == 303
    page = console.client.get(f"/console/agents/{agent_id}")
    assert page.status_code == 200 and "Issue an agent key" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    key = console.post(f"/console/agents/{agent_id}/keys", headers={"HX-Request": "true"})
    assert key.status_code == 200 and key.headers["cache-control"] == "no-store"


def test_log_in_goes_next_only_to_a_console_page(api_url: str) -> None:
    email, agent_id = _owner_with_agent(api_url)
    for next_path, lands_on in (
        ("/../../openapi.json", "/console/orgs"),
        ("/%2e%2e/docs", "/console/orgs"),
        ("/..\\..\\docs", "/console/orgs"),
        ("//evil.com", "/console/orgs"),
        (f"/agents/{agent_id}", f"/console/agents/{agent_id}"),
        (f"/orgs/../agents//{agent_id}", f"/console/agents/{agent_id}"),
    ):
        console = ConsoleSession(api_url)
        response = console.post("/console/login", {"email": email, "password": PASSWORD, "next": next_path})
        assert response.status_code == 303, next_path
        resolved = httpx.URL(api_url).join(response.headers["location"])
        assert (resolved.host, resolved.path) == (httpx.URL(api_url).host, lands_on), next_path
        assert console.client.get(resolved).status_code == 200, next_path


def test_a_csrf_token_is_bound_to_its_session(api_url: str) -> None:
    # Given a signed-in browser
    console = ConsoleSession(api_url)
    email = console.sign_up()
    session = console.client.cookies["phi_console_session"]

    # When someone who can write cookies into it (a sibling domain, a plain-HTTP answer) plants a CSRF cookie of
    # their own and posts a form with the same value
    planted = "planted-csrf-token-" + uuid.uuid4().hex
    forged = httpx.post(
        f"{api_url}/console/orgs",
        data={"name": "Made by a forged form", "csrf_token": planted},
        cookies={"phi_console_session": session, "phi_console_csrf": planted},
    )
    # Then the form is refused: the pair matches, but not the session
    assert forged.status_code == 403, forged.headers.get("location")

    # And a new log-in gets a new token: the previous session's no longer passes
    previous_token = console.csrf()
    assert console.post("/console/logout").status_code == 303
    assert console.log_in(email, PASSWORD).status_code == 303
    stale = console.client.post("/console/orgs", data={"name": "Stale token", "csrf_token": previous_token})
    assert stale.status_code == 403
    assert console.post("/console/orgs", {"name": "Fresh token"}).status_code == 303

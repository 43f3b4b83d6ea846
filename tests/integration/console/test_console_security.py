"""The console's answers to a signed-in browser (security headers), over HTTP against the embedded stack."""

from __future__ import annotations

import uuid

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

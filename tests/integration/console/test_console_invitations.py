"""The console's invitations: an owner invites from the members page (errors at the field), the pending
invitations are listed and revoked there, and the invitee follows the e-mailed link through log-in or sign-up
back to the accept page, then joins with a POST."""

from __future__ import annotations

import html
import json
import re
import uuid
from urllib.parse import parse_qs, urlsplit

from tests.integration.api.tenant_fixtures import sql
from tests.support.api import ApiSession
from tests.support.console import ConsoleSession
from tests.support.invitations import ACCEPT_LINK, invitation_email, invite

PASSWORD = "console-password-1"


def _owner(api_url: str) -> tuple[ApiSession, ConsoleSession, str]:
    """The owner twice: the console for the forms, the API to read the outbox as an inviter would."""
    email = f"inv-owner-{uuid.uuid4().hex[:10]}@example.com"
    api = ApiSession(api_url)
    api.sign_up(email, PASSWORD)
    org_id = api.create_org(f"Invited Co {uuid.uuid4().hex[:4]}")
    console = ConsoleSession(api_url)
    assert console.log_in(email, PASSWORD).status_code == 303
    return api, console, org_id


def _shown_link(page: str) -> str:
    """The link the members page shows the inviter once (no e-mail service here)."""
    shown = re.search(r'<code class="secret">([^<]+)</code>', page)
    assert shown, "no link shown"
    link = html.unescape(shown.group(1))
    assert ACCEPT_LINK.fullmatch(link), link
    return link


def _path(location: str) -> str:
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_an_owner_invites_and_revokes_from_the_members_page_with_errors_at_the_field(api_url: str) -> None:
    owner, console, org_id = _owner(api_url)
    members = f"/console/orgs/{org_id}/members"
    invitee = f"inv-{uuid.uuid4().hex[:10]}@example.com"

    page = console.client.get(members).text
    not_an_address = console.post(f"/console/orgs/{org_id}/invitations", {"email": "not-an-address", "role": "MEMBER"})
    a_member = console.post(f"/console/orgs/{org_id}/invitations", {"email": owner.ok("GET", "/me")["user"]["email"]})
    invited = console.post(f"/console/orgs/{org_id}/invitations", {"email": invitee, "role": "ADMIN"})
    listed = console.client.get(members).text
    [pending] = owner.ok("GET", f"/orgs/{org_id}/invitations")
    revoked = console.post(f"/console/orgs/{org_id}/invitations/{pending['id']}/revoke")

    assert ">Invite</button>" in page and "Add member" not in page
    assert not_an_address.status_code == 400 and 'id="email-error"' in not_an_address.text
    assert a_member.status_code == 409 and 'id="email-error"' in a_member.text
    # No e-mail service here: the inviter is shown the link once, on the answer's page only; the outbox keeps the
    # message without it
    assert invited.status_code == 200 and "no e-mail was sent" in invited.text
    token = ACCEPT_LINK.fullmatch(_shown_link(invited.text)).group(2)  # type: ignore[union-attr]
    assert token not in json.dumps(invitation_email(owner, org_id, invitee))
    assert invitee in listed and f"/invitations/{pending['id']}/revoke" in listed and "token=" not in listed
    assert revoked.status_code == 303 and owner.ok("GET", f"/orgs/{org_id}/invitations") == []
    assert console.post(f"/console/orgs/{org_id}/invitations", {"email": invitee}, with_csrf=False).status_code == 403


def test_the_invitee_signs_up_from_the_link_and_comes_back_to_accept(api_url: str) -> None:
    owner, console, org_id = _owner(api_url)
    invitee_email = f"newcomer-{uuid.uuid4().hex[:10]}@example.com"
    invited = console.post(f"/console/orgs/{org_id}/invitations", {"email": invitee_email, "role": "ADMIN"})
    assert invited.status_code == 200
    link = _path(_shown_link(invited.text))
    invitee = ConsoleSession(api_url)

    to_login = invitee.client.get(link)
    login_page = invitee.client.get(_path(to_login.headers["location"])).text
    signup_href = re.search(r'href="([^"]*/signup\?[^"]*)"', login_page)
    assert to_login.status_code == 303 and signup_href
    signup_next = parse_qs(urlsplit(signup_href.group(1).replace("&amp;", "&")).query)["next"][0]
    signed_up = invitee.post(
        "/console/signup", {"email": invitee_email, "password": PASSWORD, "full_name": "New", "next": signup_next}
    )
    offer = invitee.client.get(_path(signed_up.headers["location"]))
    accepted = invitee.post("/console/invitations/accept", {"token": parse_qs(urlsplit(link).query)["token"][0]})

    assert signed_up.status_code == 303 and _path(signed_up.headers["location"]) == link
    assert offer.status_code == 200 and "Accept and join" in offer.text and "ADMIN" in offer.text
    assert accepted.status_code == 303 and accepted.headers["location"].endswith(f"/console/orgs/{org_id}")
    member = next(m for m in owner.ok("GET", f"/orgs/{org_id}/members") if m["email"] == invitee_email)
    assert member["role"] == "ADMIN"
    assert invitee.client.get(link).status_code == 404  # used up


def test_a_signed_in_invitee_logs_in_through_the_link_and_another_account_gets_not_found(api_url: str) -> None:
    owner, console, org_id = _owner(api_url)
    invitee_email = f"existing-{uuid.uuid4().hex[:10]}@example.com"
    ApiSession(api_url).sign_up(invitee_email, PASSWORD)
    stranger = ConsoleSession(api_url)
    stranger.sign_up()
    link = _path(_shown_link(console.post(f"/console/orgs/{org_id}/invitations", {"email": invitee_email}).text))
    token = parse_qs(urlsplit(link).query)["token"][0]

    wrong_account_page = stranger.client.get(link)
    wrong_account_post = stranger.post("/console/invitations/accept", {"token": token})
    invitee = ConsoleSession(api_url)
    to_login = invitee.client.get(link)
    next_path = parse_qs(urlsplit(to_login.headers["location"]).query)["next"][0]
    logged_in = invitee.post("/console/login", {"email": invitee_email, "password": PASSWORD, "next": next_path})
    offer = invitee.client.get(_path(logged_in.headers["location"]))
    without_csrf = invitee.post("/console/invitations/accept", {"token": token}, with_csrf=False)
    accepted = invitee.post("/console/invitations/accept", {"token": token})

    assert (wrong_account_page.status_code, wrong_account_post.status_code) == (404, 404)
    assert _path(logged_in.headers["location"]) == link
    assert offer.status_code == 200 and "Accept and join" in offer.text
    assert without_csrf.status_code == 403
    assert accepted.status_code == 303
    assert invitee_email in [m["email"] for m in owner.ok("GET", f"/orgs/{org_id}/members")]


def test_an_expired_invitation_is_listed_as_expired_until_renewed_or_revoked(api_url: str) -> None:
    owner, console, org_id = _owner(api_url)
    invitee_email = f"late-{uuid.uuid4().hex[:10]}@example.com"
    invite(owner, org_id, invitee_email)
    sql("UPDATE org_invitations SET expires_at = now() - interval '1 minute' WHERE org_id = %s", (org_id,))

    expired_page = console.client.get(f"/console/orgs/{org_id}/members").text
    renewed = console.post(f"/console/orgs/{org_id}/invitations", {"email": invitee_email})

    row = re.search(rf"<tr>\s*<td>{re.escape(invitee_email)}</td>.*?</tr>", expired_page, re.S)
    assert row and "EXPIRED" in row.group(0) and "invite the address again" in row.group(0)
    assert renewed.status_code == 200
    [pending] = owner.ok("GET", f"/orgs/{org_id}/invitations")
    assert (
        pending["status"] == "PENDING" and "EXPIRED" not in console.client.get(f"/console/orgs/{org_id}/members").text
    )

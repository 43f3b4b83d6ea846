"""Invitations: the only way into an organisation. The e-mailed token and an account using the invited address
are both needed; every unusable invitation is the same 404; the inviter learns nothing about accounts."""

from __future__ import annotations

import hashlib
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest

from tests.conftest import apply_settings
from tests.integration.api.tenant_fixtures import signed_up, sql, unique_email, user_id
from tests.support.api import ApiSession
from tests.support.invitations import ACCEPT_LINK, invitation_email, invite, invite_and_accept, link_to_pass_on


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _accept(session: ApiSession, token: str) -> tuple[int, str]:
    response = session.request("POST", "/invitations/accept", json={"token": token})
    return response.status_code, response.json().get("error", {}).get("message", "")


def _owner(api_url: str, name: str = "Invites Ltd") -> tuple[ApiSession, str]:
    owner = signed_up(api_url, "owner")
    return owner, owner.create_org(name)


def test_an_account_registered_first_with_the_invited_address_cannot_join_without_the_emailed_token(
    api_url: str,
) -> None:
    owner, org = _owner(api_url)
    victim_address = unique_email("victim")
    attacker = ApiSession(api_url)
    attacker.sign_up(victim_address)  # before the victim: addresses are not verified
    attacker_own = signed_up(api_url, "attacker")

    invited = owner.request("POST", f"/orgs/{org}/invitations", json={"email": victim_address, "role": "ADMIN"})
    # the attacker controls another invited mailbox: that invitation's token is theirs to read
    other_token = invite(owner, org, attacker_own.ok("GET", "/me")["user"]["email"])

    assert invited.status_code == 201
    assert attacker.request("GET", f"/orgs/{org}").status_code == 404  # inviting made no membership
    assert attacker.request("GET", f"/orgs/{org}/outbox").status_code == 404  # nor can they read the e-mail
    assert _accept(attacker, "guessed-" + uuid.uuid4().hex)[0] == 404
    assert _accept(attacker, other_token)[0] == 404
    assert attacker.request("GET", f"/orgs/{org}").status_code == 404
    assert [i["email"] for i in owner.ok("GET", f"/orgs/{org}/invitations")].count(victim_address) == 1


def test_the_invitee_joins_with_the_invited_role_and_the_answer_is_the_organisation(api_url: str) -> None:
    owner, org = _owner(api_url, "Welcome Ltd")
    bo = signed_up(api_url, "bo")
    email = bo.ok("GET", "/me")["user"]["email"]

    link = link_to_pass_on(owner, org, email.upper(), "ADMIN")  # the address's case does not matter
    status, _ = _accept(bo, parse_qs(urlsplit(link).query)["token"][0])
    joined = bo.ok("GET", f"/orgs/{org}")

    assert status == 200
    assert link.startswith(f"{api_url}/console/invitations/accept?token=")
    assert (joined["name"], joined["role"]) == ("Welcome Ltd", "ADMIN")
    assert [m["role"] for m in owner.ok("GET", f"/orgs/{org}/members") if m["user_id"] == user_id(bo)] == ["ADMIN"]
    assert owner.ok("GET", f"/orgs/{org}/invitations") == []


def test_the_token_is_given_once_to_the_inviter_and_stored_only_as_its_hash(api_url: str) -> None:
    owner, org = _owner(api_url)
    bo = signed_up(api_url, "bo")
    email = bo.ok("GET", "/me")["user"]["email"]

    first = owner.ok("POST", f"/orgs/{org}/invitations", json={"email": email})
    listed = owner.request("GET", f"/orgs/{org}/invitations").text
    token = invite(owner, org, email)  # again: a new token, which no later answer and no stored row may hold
    again = owner.ok("GET", f"/orgs/{org}/invitations")
    outbox = owner.request("GET", f"/orgs/{org}/outbox", params={"limit": 200}).text
    rows = sql("SELECT * FROM org_invitations WHERE org_id = %s", (UUID(org),))
    emails = sql("SELECT * FROM notifications WHERE org_id = %s", (UUID(org),))
    accepted = bo.request("POST", "/invitations/accept", json={"token": token}).text

    # no e-mail service here: the inviter's answer holds the link to pass on (its own token), nothing else does
    assert ACCEPT_LINK.fullmatch(first["link_to_pass_on"]) and token not in json.dumps(first)
    for answer in (listed, json.dumps(again), outbox, accepted):
        assert token not in answer and "token=" not in answer
    assert [r["token_hash"] for r in rows] == [_sha256(token)]
    assert len(emails) == 2 and token not in json.dumps(rows + emails, default=str)


def test_a_member_does_not_see_invitation_emails_in_the_outbox(api_url: str) -> None:
    owner, org = _owner(api_url)
    member = signed_up(api_url, "member")
    invite_and_accept(owner, org, member)
    invited = unique_email("invitee")
    invite(owner, org, invited)
    message = invitation_email(owner, org, invited)

    assert message["status"] == "CAPTURED" and "the link was shown once to whoever sent" in message["body"]
    assert [m["id"] for m in member.ok("GET", f"/orgs/{org}/outbox")] == []
    assert member.request("GET", f"/orgs/{org}/outbox/{message['id']}").status_code == 404
    assert member.request("GET", f"/orgs/{org}/invitations").status_code == 403


def test_the_right_token_with_another_address_s_account_is_the_same_404_as_an_unknown_token(api_url: str) -> None:
    owner, org = _owner(api_url)
    invited, other = signed_up(api_url, "invited"), signed_up(api_url, "other")
    token = invite(owner, org, invited.ok("GET", "/me")["user"]["email"])

    wrong_account = _accept(other, token)
    unknown = _accept(other, "x" * 43)

    assert wrong_account[0] == 404 and wrong_account == unknown
    assert other.request("GET", f"/orgs/{org}").status_code == 404
    assert _accept(invited, token)[0] == 200  # still usable by its addressee


def test_a_token_works_once(api_url: str) -> None:
    owner, org = _owner(api_url)
    bo = signed_up(api_url, "bo")
    token = invite(owner, org, bo.ok("GET", "/me")["user"]["email"])

    first, second = _accept(bo, token), _accept(bo, token)

    assert first[0] == 200
    assert second == _accept(bo, "x" * 43) and second[0] == 404


def test_an_expired_invitation_is_the_same_404(api_url: str) -> None:
    owner, org = _owner(api_url)
    bo = signed_up(api_url, "bo")
    email = bo.ok("GET", "/me")["user"]["email"]
    token = invite(owner, org, email)
    [pending] = owner.ok("GET", f"/orgs/{org}/invitations")
    valid_for = datetime.fromisoformat(pending["expires_at"]) - datetime.fromisoformat(pending["created_at"])
    sql("UPDATE org_invitations SET expires_at = now() - interval '1 second' WHERE token_hash = %s",
        (_sha256(token),))  # fmt: skip

    assert _accept(bo, token) == _accept(bo, "x" * 43)
    assert bo.request("GET", f"/orgs/{org}").status_code == 404
    assert valid_for == timedelta(days=7)
    # The inviter sees it expired, not pending; inviting again renews it and a fresh link works
    [expired] = owner.ok("GET", f"/orgs/{org}/invitations")
    assert (expired["id"], expired["status"]) == (pending["id"], "EXPIRED")
    assert _accept(bo, invite(owner, org, email))[0] == 200
    assert owner.ok("GET", f"/orgs/{org}/invitations") == []


def test_a_revoked_invitation_is_the_same_404_and_inviting_again_replaces_the_token(api_url: str) -> None:
    owner, org = _owner(api_url)
    bo = signed_up(api_url, "bo")
    email = bo.ok("GET", "/me")["user"]["email"]
    revoked_token = invite(owner, org, email)
    [pending] = owner.ok("GET", f"/orgs/{org}/invitations")

    revoked = owner.request("DELETE", f"/orgs/{org}/invitations/{pending['id']}")
    revoked_again = owner.request("DELETE", f"/orgs/{org}/invitations/{pending['id']}")
    replaced_token = invite(owner, org, email, "MEMBER")
    new_token = invite(owner, org, email, "ADMIN")

    assert (revoked.status_code, revoked_again.status_code) == (204, 404)
    assert _accept(bo, revoked_token) == _accept(bo, "x" * 43)
    assert _accept(bo, replaced_token)[0] == 404
    assert [i["role"] for i in owner.ok("GET", f"/orgs/{org}/invitations")] == ["ADMIN"]
    assert _accept(bo, new_token)[0] == 200 and bo.ok("GET", f"/orgs/{org}")["role"] == "ADMIN"


def test_the_inviter_gets_the_same_answer_whether_or_not_an_account_uses_the_address(api_url: str) -> None:
    owner, org = _owner(api_url)
    existing = signed_up(api_url, "exists").ok("GET", "/me")["user"]["email"]
    nobody = unique_email("nobody")

    answers = [owner.request("POST", f"/orgs/{org}/invitations", json={"email": e}) for e in (existing, nobody)]
    mails = [invitation_email(owner, org, e) for e in (existing, nobody)]

    assert [a.status_code for a in answers] == [201, 201]
    shapes = [
        {k: v for k, v in a.json().items() if k not in ("id", "email", "created_at", "expires_at", "link_to_pass_on")}
        for a in answers
    ]
    assert shapes[0] == shapes[1] and shapes[0]["status"] == "PENDING"
    assert all(ACCEPT_LINK.fullmatch(a.json()["link_to_pass_on"]) for a in answers)
    assert [m["status"] for m in mails] == ["CAPTURED", "CAPTURED"]


def test_concurrent_acceptances_of_one_token_make_one_membership(api_url: str) -> None:
    owner, org = _owner(api_url)
    bo = signed_up(api_url, "bo")
    token = invite(owner, org, bo.ok("GET", "/me")["user"]["email"])
    sessions = []
    for _ in range(6):
        session = ApiSession(api_url)
        session.token = bo.token
        sessions.append(session)

    with ThreadPoolExecutor(len(sessions)) as pool:
        statuses = sorted(pool.map(lambda s: _accept(s, token)[0], sessions))

    assert statuses == [200, 404, 404, 404, 404, 404]
    assert [m["user_id"] for m in owner.ok("GET", f"/orgs/{org}/members")].count(user_id(bo)) == 1


@pytest.mark.usefixtures("stack")
def test_with_ses_the_outbox_keeps_the_invitation_without_its_link(
    api_url: str, settings_override: dict[str, str]
) -> None:
    from phi.aws import client

    owner, org = _owner(api_url)
    sender = f"invites-{uuid.uuid4().hex[:8]}@example.com"
    settings_override.update({"PHI_EMAIL_DELIVERY": "ses", "PHI_EMAIL_SENDER": sender})
    apply_settings(settings_override)
    client("ses").verify_email_identity(EmailAddress=sender)
    invited = unique_email("invitee")

    created = owner.request("POST", f"/orgs/{org}/invitations", json={"email": invited})
    message = invitation_email(owner, org, invited)

    assert created.status_code == 201 and created.json()["link_to_pass_on"] is None  # e-mailed, not given
    assert (message["delivery"], message["status"]) == ("ses", "SENT") and message["provider_message_id"]
    assert "token=" not in message["body"] and ACCEPT_LINK.search(message["body"]) is None


def test_an_admin_reading_the_outbox_cannot_take_the_seat_of_an_owner_invitation(api_url: str) -> None:
    # Given an admin of the organisation, and an owner invitation to an address with no account yet
    owner, org = _owner(api_url)
    admin = signed_up(api_url, "admin")
    invite_and_accept(owner, org, admin, "ADMIN")
    address = unique_email("future-owner")
    sent = owner.ok("POST", f"/orgs/{org}/invitations", json={"email": address, "role": "OWNER"})

    # When the admin reads every e-mail of the outbox and signs up with the invited address (not verified)
    outbox = admin.ok("GET", f"/orgs/{org}/outbox", params={"limit": 200})
    bodies = [admin.ok("GET", f"/orgs/{org}/outbox/{m['id']}")["body"] for m in outbox]
    impostor = ApiSession(api_url)
    impostor.sign_up(address)

    # Then no e-mail holds the link: only the owner who invited was given it, and the seat stays free
    assert any(address in body for body in bodies)
    assert not [body for body in bodies if ACCEPT_LINK.search(body) or "token=" in body]
    token = parse_qs(urlsplit(sent["link_to_pass_on"]).query)["token"][0]
    assert all(token not in body for body in bodies)
    assert impostor.request("GET", f"/orgs/{org}").status_code == 404
    assert [m["role"] for m in owner.ok("GET", f"/orgs/{org}/members")].count("OWNER") == 1


def test_an_admin_can_neither_replace_nor_revoke_an_owner_s_invitation_of_an_owner(api_url: str) -> None:
    # Given an owner's invitation of a future owner, and an admin of the organisation
    owner, org = _owner(api_url)
    admin = signed_up(api_url, "admin")
    invite_and_accept(owner, org, admin, "ADMIN")
    address = unique_email("future-owner")
    token = invite(owner, org, address, "OWNER")
    [pending] = owner.ok("GET", f"/orgs/{org}/invitations")

    # When the admin invites the same address (another case) as a member, or revokes the invitation
    replaced = admin.request("POST", f"/orgs/{org}/invitations", json={"email": address.upper(), "role": "MEMBER"})
    revoked = admin.request("DELETE", f"/orgs/{org}/invitations/{pending['id']}")

    # Then both are refused, and the owner's link still makes an owner
    assert (replaced.status_code, revoked.status_code) == (403, 403), (replaced.text, revoked.text)
    assert "Only an owner" in revoked.json()["error"]["message"]
    assert [(i["id"], i["role"]) for i in owner.ok("GET", f"/orgs/{org}/invitations")] == [(pending["id"], "OWNER")]
    future = ApiSession(api_url)
    future.sign_up(address)
    assert _accept(future, token)[0] == 200 and future.ok("GET", f"/orgs/{org}")["role"] == "OWNER"
    # An admin's own invitations of members stay theirs to replace and revoke
    member_address = unique_email("member")
    invite(admin, org, member_address, "MEMBER")
    invite(admin, org, member_address, "ADMIN")
    [mine] = [i for i in owner.ok("GET", f"/orgs/{org}/invitations") if i["email"] == member_address]
    assert mine["role"] == "ADMIN"
    assert admin.request("DELETE", f"/orgs/{org}/invitations/{mine['id']}").status_code == 204

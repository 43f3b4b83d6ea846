"""Joining an organisation as a real invitee does: an owner or admin invites the address, the link arrives in
the e-mail (on the embedded stack, where none is sent, the invitation's answer gives it to the inviter, who passes
it on) and the invitee accepts it signed in with that address."""

from __future__ import annotations

import re
from typing import Any

from tests.support.api import ApiSession
from tests.support.console import ConsoleSession

ACCEPT_LINK = re.compile(r"(\S*/console/invitations/accept\?token=([A-Za-z0-9_\-]+))")


def invitation_email(inviter: ApiSession, org_id: str, email: str) -> dict[str, Any]:
    """The newest invitation e-mail sent to `email` by the organisation, read from its outbox."""
    messages = inviter.ok("GET", f"/orgs/{org_id}/outbox", params={"channel": "email", "limit": 200})
    sent = [m for m in messages if m["node_id"] is None and [r.lower() for r in m["recipients"]] == [email.lower()]]
    assert sent, f"no invitation e-mail to {email} in the outbox"
    return dict(sent[0])


def link_to_pass_on(inviter: ApiSession, org_id: str, email: str, role: str = "MEMBER") -> str:
    """Invites the address; the link the answer gives the inviter to pass on (no e-mail service here)."""
    link = inviter.ok("POST", f"/orgs/{org_id}/invitations", json={"email": email, "role": role})["link_to_pass_on"]
    assert isinstance(link, str) and ACCEPT_LINK.fullmatch(link), link
    return link


def invite(inviter: ApiSession, org_id: str, email: str, role: str = "MEMBER") -> str:
    """Invites the address and returns the invitation's token (from the link to pass on)."""
    found = ACCEPT_LINK.fullmatch(link_to_pass_on(inviter, org_id, email, role))
    assert found
    return found.group(2)


def invite_and_accept(inviter: ApiSession, org_id: str, invitee: ApiSession, role: str = "MEMBER") -> None:
    """`invitee` (signed in through the API) joins `org_id` with `role`, and works in it from now on."""
    email = invitee.ok("GET", "/me")["user"]["email"]
    invitee.ok("POST", "/invitations/accept", json={"token": invite(inviter, org_id, email, role)})
    invitee.org_id = org_id


def invite_and_accept_in_console(
    inviter: ApiSession, org_id: str, invitee: ConsoleSession, email: str, role: str = "MEMBER"
) -> None:
    """`invitee`, signed in to the console with `email`, joins `org_id` with `role` through the accept page."""
    token = invite(inviter, org_id, email, role)
    accepted = invitee.post("/console/invitations/accept", {"token": token})
    assert accepted.status_code == 303, accepted.text

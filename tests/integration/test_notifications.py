"""Notifications through the live ports on the embedded stack (PostgreSQL, moto's SES): the captured outbox
read through the API, SES through moto, signed webhooks to a real local HTTPS server, the `http` node's port;
and the API for the allow-list of hosts and the webhook secret (roles, tenancy, the secret shown once)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from phi.db import tasks as tasks_repo
from phi.db.connection import transaction
from phi.guarded_http import OutboundPolicy, OutboundRefused
from phi.workflows.contracts import TaskContext
from phi.workflows.live_ports import GuardedHttp, OrgNotifier
from phi.workflows.ports import EmailMessage, HttpFetch, WebhookMessage
from tests.conftest import apply_settings
from tests.support.api import ApiSession
from tests.support.invitations import invite_and_accept
from tests.support.tls_server import HOST, TlsServer, tls_server


@pytest.fixture(scope="module")
def server() -> Iterator[TlsServer]:
    with tls_server() as running:
        yield running


def _task(session: ApiSession) -> TaskContext:
    """A task row of the session's organisation (the notifications' owner), without running anything; its agent
    may e-mail ops@example.com (the recipient of its email tool)."""
    agent = session.create_agent(tools={"db": {}, "email": {"recipients": ["ops@example.com"]}})
    with transaction() as conn:
        task = tasks_repo.create_task(
            conn,
            org_id=UUID(str(session.org_id)),
            agent_id=UUID(agent["id"]),
            task_type="late_alert",
            task_input={},
            trigger="api",
            created_by=None,
        )
    return TaskContext.model_validate(
        {
            "task_id": str(task.id),
            "org_id": session.org_id,
            "agent_id": agent["id"],
            "type": "late_alert",
            "queue_url": agent["queue_url"],
            "max_steps": 5,
            "tool_timeout_seconds": 60,
            "tool_heartbeat_seconds": 30,
        }
    )


def _test_policy(server: TlsServer) -> Any:
    """The production policy factory's inputs (the organisation's hosts, timeout, cap) plus the test seams."""

    def factory(hosts: frozenset[str], timeout: float, cap: int) -> OutboundPolicy:
        return server.policy(allowed_hosts=hosts, timeout_seconds=timeout, max_response_bytes=cap)

    return factory


def _signed_with(secret: str, received: Any) -> bool:
    """Whether a received webhook carries the signature a receiver computes with its copy of `secret`."""
    timestamp = received.headers["X-Phi-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256).hexdigest()
    return bool(received.headers["X-Phi-Signature"] == f"sha256={expected}")


def _email(node: str = "alert") -> EmailMessage:
    return EmailMessage(node_id=node, to=["ops@example.com"], subject="Late rate 7.1%", body="7 late orders.")


def test_emails_are_captured_in_the_outbox_and_read_through_the_api(new_user: ApiSession, stack: object) -> None:
    ctx = _task(new_user)
    report = OrgNotifier(ctx).email(_email())
    assert report.status == "CAPTURED" and report.delivery == "outbox"

    listed = new_user.request("GET", f"/orgs/{new_user.org_id}/outbox", params={"task_id": ctx.task_id})
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "1"
    [message] = listed.json()
    assert message["id"] == report.notification_id
    assert (message["channel"], message["status"], message["node_id"]) == ("email", "CAPTURED", "alert")
    assert message["recipients"] == ["ops@example.com"] and message["body"] == "7 late orders."
    one = new_user.ok("GET", f"/orgs/{new_user.org_id}/outbox/{report.notification_id}")
    assert one["subject"] == "Late rate 7.1%" and one["sent_at"] is not None

    # the same node of the same task again (a replayed step): the same notification, not a second one
    again = OrgNotifier(ctx).email(_email())
    assert again.notification_id == report.notification_id
    assert new_user.request("GET", f"/orgs/{new_user.org_id}/outbox", params={"task_id": ctx.task_id}).json() == [
        message
    ]

    # another organisation sees none of it
    other = ApiSession(new_user.base_url)
    other.sign_up(f"other-{uuid.uuid4().hex[:10]}@example.com")
    other.create_org("Other")
    assert other.request("GET", f"/orgs/{new_user.org_id}/outbox").status_code == 404
    assert other.request("GET", f"/orgs/{other.org_id}/outbox/{report.notification_id}").status_code == 404
    assert other.ok("GET", f"/orgs/{other.org_id}/outbox") == []


def test_emails_go_through_ses_when_configured(
    new_user: ApiSession, settings_override: dict[str, str], stack: object
) -> None:
    from phi.aws import client

    sender = f"alerts-{uuid.uuid4().hex[:8]}@example.com"
    settings_override.update({"PHI_EMAIL_DELIVERY": "ses", "PHI_EMAIL_SENDER": sender})
    apply_settings(settings_override)
    ctx = _task(new_user)

    # an identity SES has not verified: SES refuses, and the outbox says why
    refused = OrgNotifier(ctx).email(_email("unverified"))
    assert refused.status == "FAILED" and refused.delivery == "ses"
    assert refused.error and "SES refused the email" in refused.error

    client("ses").verify_email_identity(EmailAddress=sender)
    sent = OrgNotifier(ctx).email(_email("verified"))
    assert sent.status == "SENT" and sent.delivery == "ses"
    message = new_user.ok("GET", f"/orgs/{new_user.org_id}/outbox/{sent.notification_id}")
    assert message["provider_message_id"]


def test_webhooks_are_signed_and_only_reach_allow_listed_hosts(
    new_user: ApiSession, server: TlsServer, stack: object
) -> None:
    ctx = _task(new_user)
    org = new_user.org_id
    notifier = OrgNotifier(ctx, policy=_test_policy(server))
    url = server.url("/echo")

    # no secret yet: refused, with the reason kept
    first = notifier.webhook(WebhookMessage(node_id="no_secret", url=url, body={"late": 7}))
    assert first.status == "FAILED" and "no webhook secret" in str(first.error)

    secret = new_user.ok("POST", f"/orgs/{org}/webhook-secret")["secret"]
    # host not on the allow-list: refused before any connection
    before = len(server.received)
    second = notifier.webhook(WebhookMessage(node_id="not_allowed", url=url, body={"late": 7}))
    assert second.status == "FAILED" and "Http.HostNotAllowed" in str(second.error)
    assert len(server.received) == before

    new_user.ok("POST", f"/orgs/{org}/outbound-hosts", json={"host": f"{HOST}:{server.port}"})
    sent = notifier.webhook(WebhookMessage(node_id="hook", url=url, body={"late": 7, "text": "7 late"}))
    assert sent.status == "SENT" and sent.response_status == 200
    received = server.received[-1]
    assert received.method == "POST" and json.loads(received.body) == {"late": 7, "text": "7 late"}
    assert _signed_with(secret, received)
    assert received.headers["X-Phi-Notification-Id"] == sent.notification_id

    # a webhook that answers 500 is FAILED with its status
    failed = notifier.webhook(WebhookMessage(node_id="broken", url=server.url("/fail"), body={}))
    assert failed.status == "FAILED" and failed.response_status == 500

    listed = new_user.ok("GET", f"/orgs/{org}/outbox", params={"task_id": ctx.task_id, "channel": "webhook"})
    assert {m["node_id"]: m["status"] for m in listed} == {
        "no_secret": "FAILED",
        "not_allowed": "FAILED",
        "hook": "SENT",
        "broken": "FAILED",
    }
    assert all(secret not in json.dumps(m) for m in listed)


def test_the_http_port_fetches_from_allow_listed_hosts_only(
    new_user: ApiSession, server: TlsServer, stack: object
) -> None:
    ctx = _task(new_user)
    http = GuardedHttp(ctx, policy=_test_policy(server))
    request = HttpFetch(url=server.url("/json"), params={"day": "2026-11-20"})
    with pytest.raises(OutboundRefused) as refused:
        http.fetch(request)
    assert refused.value.code == "Http.HostNotAllowed"

    new_user.ok("POST", f"/orgs/{new_user.org_id}/outbound-hosts", json={"host": f"{HOST}:{server.port}"})
    fetched = http.fetch(request)
    assert fetched.status == 200 and fetched.content_type == "application/json"
    assert json.loads(fetched.content)["data"]["items"][0] == {"carrier": "DHL", "late": 3}
    assert server.received[-1].path == "/json?day=2026-11-20"
    # a node cannot ask for more than the deployment allows, only for less
    with pytest.raises(OutboundRefused) as too_big:
        http.fetch(HttpFetch(url=server.url("/big"), max_bytes=100_000))
    assert too_big.value.code == "Http.TooLarge"


def test_the_allow_list_is_managed_by_owners_and_admins(new_user: ApiSession, stack: object) -> None:
    org = new_user.org_id
    added = new_user.request("POST", f"/orgs/{org}/outbound-hosts", json={"host": "Hooks.Example.COM"})
    assert added.status_code == 201 and added.json()["host"] == "hooks.example.com"
    new_user.ok("POST", f"/orgs/{org}/outbound-hosts", json={"host": "api.example.com:8443"})
    for bad in ("https://hooks.example.com", "10.0.0.1", "*.example.com", "hooks.example.com/path", "localhost"):
        response = new_user.request("POST", f"/orgs/{org}/outbound-hosts", json={"host": bad})
        assert response.status_code == 400, bad
    hosts = [h["host"] for h in new_user.ok("GET", f"/orgs/{org}/outbound-hosts")]
    assert hosts == ["api.example.com:8443", "hooks.example.com"]

    # a member reads but cannot change; another organisation gets 404
    member = ApiSession(new_user.base_url)
    email = f"member-{uuid.uuid4().hex[:10]}@example.com"
    member.sign_up(email)
    invite_and_accept(new_user, org, member, "MEMBER")
    assert [h["host"] for h in member.ok("GET", f"/orgs/{org}/outbound-hosts")] == hosts
    assert member.request("POST", f"/orgs/{org}/outbound-hosts", json={"host": "x.example.com"}).status_code == 403
    assert member.request("DELETE", f"/orgs/{org}/outbound-hosts/hooks.example.com").status_code == 403
    assert member.request("POST", f"/orgs/{org}/webhook-secret").status_code == 403
    stranger = ApiSession(new_user.base_url)
    stranger.sign_up(f"stranger-{uuid.uuid4().hex[:10]}@example.com")
    assert stranger.request("GET", f"/orgs/{org}/outbound-hosts").status_code == 404

    assert new_user.request("DELETE", f"/orgs/{org}/outbound-hosts/hooks.example.com").status_code == 204
    assert new_user.request("DELETE", f"/orgs/{org}/outbound-hosts/hooks.example.com").status_code == 404
    assert [h["host"] for h in new_user.ok("GET", f"/orgs/{org}/outbound-hosts")] == ["api.example.com:8443"]


def test_the_webhook_secret_is_shown_once(new_user: ApiSession, stack: object) -> None:
    org = new_user.org_id
    assert new_user.ok("GET", f"/orgs/{org}/webhook-secret") == {"exists": False, "created_at": None, "encrypted": None}
    created = new_user.request("POST", f"/orgs/{org}/webhook-secret")
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("phi_whsec_") and len(secret) > 40
    info = new_user.request("GET", f"/orgs/{org}/webhook-secret")
    assert info.json()["exists"] is True and info.json()["encrypted"] is True and secret not in info.text
    rotated = new_user.ok("POST", f"/orgs/{org}/webhook-secret")["secret"]
    assert rotated != secret


def test_the_webhook_secret_is_stored_encrypted_and_bound_to_its_organisation(
    new_user: ApiSession, server: TlsServer, stack: object, api_url: str
) -> None:
    """Only KMS's ciphertext is in the database (a backup or snapshot cannot sign a webhook); copied onto another
    organisation's row it does not decrypt (the organisation is in the encryption context), and the webhook fails
    with a reason instead of being signed with another organisation's secret."""
    org = new_user.org_id
    secret = new_user.ok("POST", f"/orgs/{org}/webhook-secret")["secret"]
    with transaction() as conn:
        row = conn.execute(
            "SELECT secret, secret_ciphertext FROM org_webhook_secrets WHERE org_id = %s", (org,)
        ).fetchone()
    assert row is not None and row["secret"] is None
    assert secret.encode() not in bytes(row["secret_ciphertext"])

    other = ApiSession(api_url)
    other.sign_up(f"other-{uuid.uuid4().hex[:10]}@example.com")
    other.create_org("Other Ltd")
    other.ok("POST", f"/orgs/{other.org_id}/outbound-hosts", json={"host": f"{HOST}:{server.port}"})
    other.ok("POST", f"/orgs/{other.org_id}/webhook-secret")
    with transaction() as conn:  # someone with write access to the database copies the ciphertext across
        conn.execute(
            "UPDATE org_webhook_secrets SET secret_ciphertext = %s WHERE org_id = %s",
            (row["secret_ciphertext"], other.org_id),
        )
    before = len(server.received)
    sent = OrgNotifier(_task(other), policy=_test_policy(server)).webhook(
        WebhookMessage(node_id="copied", url=server.url("/echo"), body={"late": 7})
    )
    assert sent.status == "FAILED" and "cannot be decrypted" in str(sent.error)
    assert len(server.received) == before


def test_a_secret_stored_in_plain_text_before_encryption_keeps_signing_until_rotated(
    new_user: ApiSession, server: TlsServer, stack: object
) -> None:
    org = new_user.org_id
    new_user.ok("POST", f"/orgs/{org}/outbound-hosts", json={"host": f"{HOST}:{server.port}"})
    legacy = "phi_whsec_" + uuid.uuid4().hex
    with transaction() as conn:  # as migration 0027 leaves a secret stored before it
        conn.execute("INSERT INTO org_webhook_secrets (org_id, secret) VALUES (%s, %s)", (org, legacy))
    notifier = OrgNotifier(_task(new_user), policy=_test_policy(server))
    sent = notifier.webhook(WebhookMessage(node_id="legacy", url=server.url("/echo"), body={"n": 1}))
    assert sent.status == "SENT"
    assert _signed_with(legacy, server.received[-1])

    assert new_user.ok("GET", f"/orgs/{org}/webhook-secret")["encrypted"] is False  # an admin sees it needs rotating
    new_user.ok("POST", f"/orgs/{org}/webhook-secret")  # rotating replaces the plain text
    assert new_user.ok("GET", f"/orgs/{org}/webhook-secret")["encrypted"] is True
    with transaction() as conn:
        row = conn.execute("SELECT secret FROM org_webhook_secrets WHERE org_id = %s", (org,)).fetchone()
    assert row is not None and row["secret"] is None


def test_a_key_service_failure_fails_the_webhook_or_the_rotation_with_a_reason_not_the_task(
    new_user: ApiSession, server: TlsServer, stack: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KMS throttled or unreachable (mocked: moto does not fail so): the webhook is FAILED with the reason, as any
    refusal is, and the task goes on; rotating the secret answers 503, and the secret stored before still signs."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    from phi.services import notifications as notifications_service
    from phi.workflows import live_ports

    org = new_user.org_id
    new_user.ok("POST", f"/orgs/{org}/outbound-hosts", json={"host": f"{HOST}:{server.port}"})
    secret = new_user.ok("POST", f"/orgs/{org}/webhook-secret")["secret"]
    notifier = OrgNotifier(_task(new_user), policy=_test_policy(server))

    def throttled(*_: object) -> str:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "Decrypt")

    def unreachable(*_: object) -> bytes:
        raise EndpointConnectionError(endpoint_url="https://kms.example")

    before = len(server.received)
    monkeypatch.setattr(live_ports, "decrypt_webhook_secret", throttled)
    sent = notifier.webhook(WebhookMessage(node_id="throttled", url=server.url("/echo"), body={"n": 1}))
    assert sent.status == "FAILED" and "could not be decrypted now (KMS: ThrottlingException)" in str(sent.error)
    assert len(server.received) == before and secret not in str(sent.error)

    monkeypatch.setattr(notifications_service, "encrypt_webhook_secret", unreachable)
    refused = new_user.request("POST", f"/orgs/{org}/webhook-secret")
    assert refused.status_code == 503 and "try again" in refused.json()["error"]["message"]
    monkeypatch.undo()
    again = notifier.webhook(WebhookMessage(node_id="after", url=server.url("/echo"), body={"n": 2}))
    assert again.status == "SENT"
    assert _signed_with(secret, server.received[-1])

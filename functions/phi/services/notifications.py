"""The organisation's outbox (every notification its workflows sent, and the invitations it e-mailed), the
allow-list of hosts its workflows may call (webhooks, `http` nodes) and its webhook signing secret. Reading: any
member, except that only an owner or admin sees the invitations (who was invited; no row keeps an accept link);
changing: owner or admin (checked by the routes' dependencies)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from phi.db import notifications as repo
from phi.db.connection import DbConnection
from phi.domain.request_body import RequestBody
from phi.errors import BadRequest, NotFound, ServiceUnavailable
from phi.secrets import encrypt_webhook_secret

HOST_PATTERN = re.compile(r"^(?=.{1,253}(:|$))([a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:[0-9]{1,5})?$")
MAX_HOSTS = 200
SECRET_PREFIX = "phi_whsec_"


class OutboxMessage(BaseModel):
    """One notification a workflow sent: email (SES, or captured in the outbox on the embedded stack) or webhook."""

    id: UUID
    agent_id: UUID | None
    task_id: UUID | None
    node_id: str | None = Field(
        description="the workflow node that sent it; none for the product's own e-mails (an invitation)"
    )
    channel: repo.Channel
    delivery: repo.Delivery = Field(description="outbox (captured, not sent), ses, or https (a webhook)")
    recipients: list[str] = Field(description="e-mail addresses, or the webhook's URL")
    subject: str | None
    body: str = Field(description="the e-mail's text, or the webhook's JSON body")
    status: repo.Status
    provider_message_id: str | None = Field(description="SES's message id")
    response_status: int | None = Field(description="the webhook's HTTP status")
    error: str | None
    created_at: datetime
    sent_at: datetime | None


class OutboundHost(BaseModel):
    host: str = Field(examples=["hooks.example.com", "api.example.com:8443"])
    created_at: datetime


class NewOutboundHost(RequestBody):
    host: str = Field(
        min_length=1,
        max_length=260,
        examples=["hooks.example.com"],
        description="a host name (port 443), or host:port; no scheme, no path, no IP address",
    )


class WebhookSecretInfo(BaseModel):
    exists: bool
    created_at: datetime | None
    encrypted: bool | None = Field(
        default=None,
        description="whether it is stored encrypted; false for one made before encryption: rotate it",
    )


class NewWebhookSecret(BaseModel):
    secret: str = Field(description="shown once: store it where your webhook receiver can read it")
    created_at: datetime
    algorithm: str = "HMAC-SHA256 over '<X-Phi-Timestamp>.<body>', hex, in X-Phi-Signature as sha256=<hex>"


def _message(row: repo.NotificationRow) -> OutboxMessage:
    return OutboxMessage.model_validate(row.model_dump())


def list_outbox(
    conn: DbConnection,
    org_id: UUID,
    *,
    limit: int,
    offset: int,
    channel: repo.Channel | None,
    task_id: UUID | None,
    workflow_only: bool,
) -> tuple[list[OutboxMessage], int]:
    rows, total = repo.list_for_org(
        conn, org_id, limit=limit, offset=offset, channel=channel, task_id=task_id, workflow_only=workflow_only
    )
    return [_message(r) for r in rows], total


def get_message(conn: DbConnection, org_id: UUID, message_id: UUID, *, workflow_only: bool) -> OutboxMessage:
    row = repo.get(conn, message_id, org_id, workflow_only=workflow_only)
    if row is None:
        raise NotFound("Message not found.")
    return _message(row)


def normalise_host(raw: str) -> str:
    """host or host:port, lower case, IDNA; refuses schemes, paths, wildcards and IP addresses."""
    text = raw.strip().lower().rstrip(".")
    name, _, port = text.partition(":")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise BadRequest(f"{raw!r} is not a valid host name") from exc
    host = f"{name}:{port}" if port else name
    if not HOST_PATTERN.match(host) or (port and not 0 < int(port) < 65536):
        raise BadRequest(
            f"{raw!r} is not a host name: give a name such as hooks.example.com or api.example.com:8443 "
            "(no https://, no path, no IP address, no wildcard)"
        )
    return host


def list_hosts(conn: DbConnection, org_id: UUID) -> list[OutboundHost]:
    return [OutboundHost.model_validate(h.model_dump()) for h in repo.list_hosts(conn, org_id)]


def add_host(conn: DbConnection, org_id: UUID, raw: str, user_id: UUID) -> OutboundHost:
    host = normalise_host(raw)
    if len(repo.list_hosts(conn, org_id)) >= MAX_HOSTS:
        raise BadRequest(f"The allow-list holds at most {MAX_HOSTS} hosts.")
    return OutboundHost.model_validate(repo.add_host(conn, org_id, host, user_id).model_dump())


def remove_host(conn: DbConnection, org_id: UUID, raw: str) -> None:
    if not repo.remove_host(conn, org_id, normalise_host(raw)):
        raise NotFound("That host is not on the allow-list.")


def webhook_secret_info(conn: DbConnection, org_id: UUID) -> WebhookSecretInfo:
    status = repo.webhook_secret_status(conn, org_id)
    if status is None:
        return WebhookSecretInfo(exists=False, created_at=None)
    created, encrypted = status
    return WebhookSecretInfo(exists=True, created_at=created, encrypted=encrypted)


def rotate_webhook_secret(conn: DbConnection, org_id: UUID, user_id: UUID) -> NewWebhookSecret:
    """A new secret (replacing any earlier one), returned this once and never again."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    # Only its KMS ciphertext is stored: a copy of the database (a backup, a snapshot) cannot sign a webhook.
    from botocore.exceptions import BotoCoreError, ClientError  # here: the API's cold start does not need botocore

    try:
        ciphertext = encrypt_webhook_secret(org_id, secret)
    except (ClientError, BotoCoreError) as exc:
        raise ServiceUnavailable("The key service is not reachable right now; try again shortly.") from exc
    created = repo.set_webhook_secret(conn, org_id, ciphertext, user_id)
    return NewWebhookSecret(secret=secret, created_at=created)

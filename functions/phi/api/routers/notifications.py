"""The organisation's outbox, its allow-list of outbound hosts and its webhook signing secret."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from phi.api.deps import LIST_HEADERS, TOTAL_COUNT_HEADER, AdminOrg, CallerOrg, Conn, CurrentUser, Page, is_manager
from phi.db.notifications import Channel
from phi.services import notifications as service
from phi.services.notifications import (
    NewOutboundHost,
    NewWebhookSecret,
    OutboundHost,
    OutboxMessage,
    WebhookSecretInfo,
)

router = APIRouter(tags=["notifications"])


@router.get(
    "/orgs/{org_id}/outbox",
    response_model=list[OutboxMessage],
    responses=LIST_HEADERS,
    summary="Notifications the organisation's workflows sent, newest first (any member)",
    description="Every email (status CAPTURED on the embedded stack, which never sends real email; SENT when "
    "Amazon SES accepted it) and every webhook (SENT on a 2xx answer), with failures and their reasons. Owners "
    "and admins also see the invitation e-mails (no node_id), never with their accept link.",
)
def list_outbox(
    org: CallerOrg,
    conn: Conn,
    page: Page,
    response: Response,
    channel: Annotated[Channel | None, Query(description="email or webhook")] = None,
    task_id: Annotated[UUID | None, Query(description="only this task's")] = None,
) -> list[OutboxMessage]:
    messages, total = service.list_outbox(
        conn,
        org.id,
        limit=page.limit,
        offset=page.offset,
        channel=channel,
        task_id=task_id,
        workflow_only=not is_manager(org),
    )
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return messages


@router.get("/orgs/{org_id}/outbox/{message_id}", response_model=OutboxMessage, summary="One notification (any member)")
def get_message(message_id: UUID, org: CallerOrg, conn: Conn) -> OutboxMessage:
    return service.get_message(conn, org.id, message_id, workflow_only=not is_manager(org))


@router.get(
    "/orgs/{org_id}/outbound-hosts",
    response_model=list[OutboundHost],
    summary="Hosts the organisation's webhooks and http nodes may call (any member)",
)
def list_hosts(org: CallerOrg, conn: Conn) -> list[OutboundHost]:
    return service.list_hosts(conn, org.id)


@router.post(
    "/orgs/{org_id}/outbound-hosts",
    status_code=status.HTTP_201_CREATED,
    response_model=OutboundHost,
    summary="Allow a host (owner, admin)",
    description="HTTPS only, always; the host's addresses are still checked at every request (private, "
    "loopback, link-local and metadata addresses are refused).",
)
def add_host(body: NewOutboundHost, org: AdminOrg, conn: Conn, user: CurrentUser) -> OutboundHost:
    return service.add_host(conn, org.id, body.host, user.id)


@router.delete(
    "/orgs/{org_id}/outbound-hosts/{host}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a host from the allow-list (owner, admin)",
)
def remove_host(host: str, org: AdminOrg, conn: Conn) -> Response:
    service.remove_host(conn, org.id, host)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/orgs/{org_id}/webhook-secret",
    response_model=WebhookSecretInfo,
    summary="Whether the organisation has a webhook signing secret, and since when (owner, admin)",
    description="Never the secret itself: it is shown once, when created.",
)
def secret_info(org: AdminOrg, conn: Conn) -> WebhookSecretInfo:
    return service.webhook_secret_info(conn, org.id)


@router.post(
    "/orgs/{org_id}/webhook-secret",
    status_code=status.HTTP_201_CREATED,
    response_model=NewWebhookSecret,
    summary="Create (or replace) the webhook signing secret; shown this once (owner, admin)",
)
def rotate_secret(org: AdminOrg, conn: Conn, user: CurrentUser) -> NewWebhookSecret:
    return service.rotate_webhook_secret(conn, org.id, user.id)

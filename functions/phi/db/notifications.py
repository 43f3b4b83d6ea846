"""Notifications (the outbox / delivery log), each organisation's outbound host allow-list and its webhook
signing secret. Every query is scoped to the organisation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from phi.db.connection import DbConnection

Channel = Literal["email", "webhook"]
Delivery = Literal["outbox", "ses", "https"]
Status = Literal["PENDING", "SENT", "CAPTURED", "FAILED"]


class NotificationRow(BaseModel):
    id: UUID
    org_id: UUID
    agent_id: UUID | None
    task_id: UUID | None
    node_id: str | None
    channel: Channel
    delivery: Delivery
    recipients: list[str]
    subject: str | None
    body: str
    status: Status
    provider_message_id: str | None
    response_status: int | None
    error: str | None
    created_at: datetime
    sent_at: datetime | None


class OutboundHostRow(BaseModel):
    host: str
    created_at: datetime


# A workflow's notification names its node; the product's own e-mails (invitations) name none.
_FROM_A_WORKFLOW = "node_id IS NOT NULL"
_COLUMNS = """id, org_id, agent_id, task_id, node_id, channel, delivery, recipients, subject, body, status,
              provider_message_id, response_status, error, created_at, sent_at"""


def claim(
    conn: DbConnection,
    *,
    org_id: UUID,
    agent_id: UUID,
    task_id: UUID,
    node_id: str,
    channel: Channel,
    delivery: Delivery,
    recipients: list[str],
    subject: str | None,
    body: str,
) -> tuple[NotificationRow, bool]:
    """The (task, node) notification, created PENDING if new: (row, True when it still has to be delivered).
    A row already SENT or CAPTURED is returned as it is, so a replayed node never sends twice."""
    row = conn.execute(
        f"""INSERT INTO notifications (org_id, agent_id, task_id, node_id, channel, delivery, recipients, subject,
                                       body, status)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'PENDING')
            ON CONFLICT (task_id, node_id) DO UPDATE SET body = notifications.body
            RETURNING {_COLUMNS}""",
        (org_id, agent_id, task_id, node_id, channel, delivery, Jsonb(recipients), subject, body),
    ).fetchone()
    assert row is not None
    found = NotificationRow.model_validate(row)
    if found.org_id != org_id:  # task ids are unique across organisations; never hand back another's row
        raise LookupError("notification belongs to another organisation")
    return found, found.status in ("PENDING", "FAILED")


def add_pending_email(
    conn: DbConnection, *, org_id: UUID, delivery: Delivery, recipients: list[str], subject: str, body: str
) -> NotificationRow:
    """An e-mail the product itself sends for the organisation (an invitation), not a workflow's: no agent, task
    or node. PENDING until its delivery, which runs after this row is committed, records the outcome."""
    row = conn.execute(
        f"""INSERT INTO notifications (org_id, channel, delivery, recipients, subject, body, status)
            VALUES (%s, 'email', %s, %s, %s, %s, 'PENDING') RETURNING {_COLUMNS}""",
        (org_id, delivery, Jsonb(recipients), subject, body),
    ).fetchone()
    assert row is not None
    return NotificationRow.model_validate(row)


def record_delivery(
    conn: DbConnection,
    notification_id: UUID,
    org_id: UUID,
    *,
    status: Status,
    provider_message_id: str | None = None,
    response_status: int | None = None,
    error: str | None = None,
) -> NotificationRow:
    row = conn.execute(
        f"""UPDATE notifications SET status = %s, provider_message_id = %s, response_status = %s, error = %s,
                   sent_at = CASE WHEN %s IN ('SENT', 'CAPTURED') THEN now() ELSE sent_at END
            WHERE id = %s AND org_id = %s RETURNING {_COLUMNS}""",
        (status, provider_message_id, response_status, error, status, notification_id, org_id),
    ).fetchone()
    assert row is not None
    return NotificationRow.model_validate(row)


def list_for_org(
    conn: DbConnection,
    org_id: UUID,
    *,
    limit: int,
    offset: int,
    channel: Channel | None = None,
    task_id: UUID | None = None,
    workflow_only: bool = False,
) -> tuple[list[NotificationRow], int]:
    where: list[str] = ["org_id = %s"]
    args: list[Any] = [org_id]
    if workflow_only:
        where.append(_FROM_A_WORKFLOW)
    if channel is not None:
        where.append("channel = %s")
        args.append(channel)
    if task_id is not None:
        where.append("task_id = %s")
        args.append(task_id)
    clause = " AND ".join(where)
    count = conn.execute(f"SELECT count(*) AS n FROM notifications WHERE {clause}", args).fetchone()
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM notifications WHERE {clause}
            ORDER BY created_at DESC, id LIMIT %s OFFSET %s""",
        [*args, limit, offset],
    ).fetchall()
    return [NotificationRow.model_validate(r) for r in rows], int(count["n"]) if count else 0


def get(
    conn: DbConnection, notification_id: UUID, org_id: UUID, *, workflow_only: bool = False
) -> NotificationRow | None:
    scope = f" AND {_FROM_A_WORKFLOW}" if workflow_only else ""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM notifications WHERE id = %s AND org_id = %s{scope}", (notification_id, org_id)
    ).fetchone()
    return NotificationRow.model_validate(row) if row else None


# --- the allow-list of outbound hosts -----------------------------------------------------------------------


def list_hosts(conn: DbConnection, org_id: UUID) -> list[OutboundHostRow]:
    rows = conn.execute(
        "SELECT host, created_at FROM org_outbound_hosts WHERE org_id = %s ORDER BY host", (org_id,)
    ).fetchall()
    return [OutboundHostRow.model_validate(r) for r in rows]


def add_host(conn: DbConnection, org_id: UUID, host: str, user_id: UUID) -> OutboundHostRow:
    row = conn.execute(
        """INSERT INTO org_outbound_hosts AS h (org_id, host, created_by) VALUES (%s, %s, %s)
           ON CONFLICT (org_id, host) DO UPDATE SET host = h.host RETURNING host, created_at""",
        (org_id, host, user_id),
    ).fetchone()
    assert row is not None
    return OutboundHostRow.model_validate(row)


def remove_host(conn: DbConnection, org_id: UUID, host: str) -> bool:
    deleted = conn.execute("DELETE FROM org_outbound_hosts WHERE org_id = %s AND host = %s", (org_id, host))
    return deleted.rowcount > 0


# --- the webhook signing secret -----------------------------------------------------------------------------


def set_webhook_secret(conn: DbConnection, org_id: UUID, ciphertext: bytes, user_id: UUID) -> datetime:
    """Stores the secret as KMS encrypted it (phi.secrets); a secret stored in plain text before is replaced."""
    row: Any = conn.execute(
        """INSERT INTO org_webhook_secrets (org_id, secret_ciphertext, created_by) VALUES (%s, %s, %s)
           ON CONFLICT (org_id) DO UPDATE SET secret = NULL, secret_ciphertext = excluded.secret_ciphertext,
                                              created_by = excluded.created_by, created_at = now()
           RETURNING created_at""",
        (org_id, ciphertext, user_id),
    ).fetchone()
    return row["created_at"]


def webhook_secret_status(conn: DbConnection, org_id: UUID) -> tuple[datetime, bool] | None:
    """When the secret was made, and whether it is stored encrypted (one made before migration 0027 is not)."""
    row = conn.execute(
        "SELECT created_at, secret_ciphertext IS NOT NULL AS encrypted FROM org_webhook_secrets WHERE org_id = %s",
        (org_id,),
    ).fetchone()
    return (row["created_at"], bool(row["encrypted"])) if row else None


class StoredWebhookSecret(BaseModel):
    """The secret as stored: its KMS ciphertext, or (a secret created before migration 0027, until rotated) the
    plain text."""

    ciphertext: bytes | None
    plaintext: str | None = Field(repr=False)


def webhook_secret(conn: DbConnection, org_id: UUID) -> StoredWebhookSecret | None:
    """For signing only (phi.workflows.live_ports), never for a response or a log."""
    row = conn.execute(
        "SELECT secret_ciphertext, secret FROM org_webhook_secrets WHERE org_id = %s", (org_id,)
    ).fetchone()
    if row is None:
        return None
    ciphertext = row["secret_ciphertext"]
    return StoredWebhookSecret(
        ciphertext=bytes(ciphertext) if ciphertext is not None else None, plaintext=row["secret"]
    )

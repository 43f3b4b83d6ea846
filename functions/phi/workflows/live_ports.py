"""The ports of a task running in Think: PostgreSQL for the task and its events, the organisation's documents,
the configured LLM, the local agent through a LangGraph interrupt, and the task's tables in S3."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import IO, Any
from uuid import UUID

from botocore.exceptions import BotoCoreError, ClientError
from langgraph.types import interrupt

from phi.aws import client
from phi.db import agents as agents_repo
from phi.db import documents as documents_repo
from phi.db import notifications as notifications_repo
from phi.db import tasks as tasks_repo
from phi.db.connection import DbConnection, after_commit, transaction
from phi.db.notifications import StoredWebhookSecret
from phi.definitions.table import TableError
from phi.definitions.table_format import TableLimits
from phi.documents.models import SearchHit
from phi.domain.models import EventType
from phi.domain.recipients import EmailRecipients
from phi.email_delivery import send_with_ses
from phi.guarded_http import OutboundPolicy, OutboundRefused
from phi.guarded_http import request as guarded_request
from phi.llm import get_llm
from phi.llm.accounting import DbLlmAccounting
from phi.secrets import decrypt_webhook_secret
from phi.settings import get_settings
from phi.workflows.contracts import ApprovalOutcome, ApprovalRequest, TaskContext, ToolOutcome, ToolRequest
from phi.workflows.ports import (
    DeliveryReport,
    EmailMessage,
    HttpFetch,
    HttpFetched,
    Ports,
    SystemClock,
    TaskSnapshot,
    WebhookMessage,
)


class DbTask:
    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx

    def load(self) -> TaskSnapshot | None:
        org_id = UUID(self.ctx.org_id)
        with transaction() as conn:
            task = tasks_repo.get_task(conn, UUID(self.ctx.task_id), org_id)
            agent = agents_repo.get_agent_in_org(conn, UUID(self.ctx.agent_id), org_id)
        if task is None or agent is None:
            return None
        return TaskSnapshot(
            task_id=self.ctx.task_id,
            org_id=self.ctx.org_id,
            agent_id=self.ctx.agent_id,
            type=task.type,
            input=task.input,
            agent_name=agent.name,
            agent_config=agent.config,
        )


class DbEvents:
    def __init__(self, ctx: TaskContext) -> None:
        self.task_id, self.org_id = UUID(ctx.task_id), UUID(ctx.org_id)

    def record(self, event: EventType, message: str, data: dict[str, Any]) -> None:
        with transaction() as conn:
            tasks_repo.add_event(conn, self.task_id, self.org_id, event, message, data)


class AgentDocuments:
    """The agent's own documents and the organisation-wide ones, and nothing of another organisation."""

    def __init__(self, ctx: TaskContext) -> None:
        self.org_id, self.agent_id = UUID(ctx.org_id), UUID(ctx.agent_id)

    def has_documents(self) -> bool:
        with transaction() as conn:
            return documents_repo.has_ready_chunks(conn, self.org_id, self.agent_id)

    def search(self, query: str, top_k: int) -> list[SearchHit]:
        from phi.documents.search import search_documents

        with transaction() as conn:
            return search_documents(conn, self.org_id, query, top_k=top_k, agent_id=self.agent_id)


class LocalAgentTools:
    """Suspends the graph until Think resumes it with the local agent's answer (must run inside a node)."""

    def call(self, request: ToolRequest) -> ToolOutcome:
        return ToolOutcome.model_validate(interrupt(request.model_dump()))


PolicyFactory = Callable[[frozenset[str], float, int], OutboundPolicy]
WEBHOOK_MAX_RESPONSE_BYTES = 64 * 1024
SIGNATURE_HEADER = "X-Phi-Signature"
TIMESTAMP_HEADER = "X-Phi-Timestamp"


def default_policy(hosts: frozenset[str], timeout_seconds: float, max_bytes: int) -> OutboundPolicy:
    return OutboundPolicy(allowed_hosts=hosts, timeout_seconds=timeout_seconds, max_response_bytes=max_bytes)


def _allowed_hosts(conn: DbConnection, org_id: UUID) -> frozenset[str]:
    return frozenset(h.host for h in notifications_repo.list_hosts(conn, org_id))


# KMS's answers for a ciphertext it will never decrypt with this key: the secret has to be made again.
_UNREADABLE_CIPHERTEXT = frozenset({"InvalidCiphertextException", "IncorrectKeyException", "NotFoundException"})


class UnreadableSecret(Exception):
    """The secret could not be decrypted; the message says why and what to do (never the secret)."""


def _readable_secret(org_id: UUID, stored: StoredWebhookSecret) -> str:
    """The signing secret: decrypted by KMS, or the plain text of one stored before secrets were encrypted.
    UnreadableSecret when KMS does not decrypt it — a webhook then fails with the reason, like any refusal, rather
    than failing the task. Never logged."""
    if stored.ciphertext is None:
        return stored.plaintext or ""
    try:
        return decrypt_webhook_secret(org_id, stored.ciphertext)
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        logging.getLogger("phi.notifications").warning("webhook secret of org %s not decrypted: %s", org_id, code)
        if code in _UNREADABLE_CIPHERTEXT:
            raise UnreadableSecret(
                f"the organisation's webhook secret cannot be decrypted with the current key (KMS: {code}): rotate it"
            ) from None
        raise UnreadableSecret(
            f"the organisation's webhook secret could not be decrypted now (KMS: {code}); the webhook was not sent"
        ) from None


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex: what a receiver recomputes with its copy of the secret."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class OrgNotifier:
    """Email (Amazon SES, or the captured outbox) and signed webhooks for one task. Each notification is a row
    committed PENDING first; the delivery runs after that commit (an after-commit hook) and records its outcome,
    so a rollback sends nothing and a replayed node finds the row delivered instead of sending twice.

    E-mail goes only to the recipients the agent's email tool lists at the moment of sending: a workflow saved
    when an address was listed fails its delivery (FAILED, with the reason) once the address is removed."""

    def __init__(self, ctx: TaskContext, policy: PolicyFactory = default_policy) -> None:
        self.org_id, self.agent_id, self.task_id = UUID(ctx.org_id), UUID(ctx.agent_id), UUID(ctx.task_id)
        self.policy = policy

    def email(self, message: EmailMessage) -> DeliveryReport:
        settings = get_settings()
        delivery = "ses" if settings.email_delivery == "ses" else "outbox"

        def send(conn: DbConnection, notification_id: UUID) -> dict[str, Any]:
            refusal = _recipients_now(conn, self.org_id, self.agent_id).refusal(message.to)
            if refusal is not None:
                return {"status": "FAILED", "error": f"not sent: {refusal}"}
            if delivery == "outbox":
                return {"status": "CAPTURED"}
            return send_with_ses(settings.required("email_sender"), message.to, message.subject, message.body)

        return self._deliver("email", delivery, message.to, message.subject, message.body, message.node_id, send)

    def webhook(self, message: WebhookMessage) -> DeliveryReport:
        settings = get_settings()
        body = json.dumps(message.body, default=str, separators=(",", ":"), sort_keys=True)

        def send(conn: DbConnection, notification_id: UUID) -> dict[str, Any]:
            stored = notifications_repo.webhook_secret(conn, self.org_id)
            if stored is None:
                return {"status": "FAILED", "error": "the organisation has no webhook secret: create one first"}
            try:
                secret = _readable_secret(self.org_id, stored)
            except UnreadableSecret as exc:
                return {"status": "FAILED", "error": str(exc)}
            policy = self.policy(
                _allowed_hosts(conn, self.org_id), settings.outbound_timeout_seconds, WEBHOOK_MAX_RESPONSE_BYTES
            )
            return _post_webhook(policy, message.url, body.encode(), secret, str(notification_id))

        return self._deliver("webhook", "https", [message.url], None, body, message.node_id, send)

    def _deliver(
        self,
        channel: Any,
        delivery: Any,
        recipients: list[str],
        subject: str | None,
        body: str,
        node_id: str,
        send: Callable[[DbConnection, UUID], dict[str, Any]],
    ) -> DeliveryReport:
        delivered: dict[str, Any] = {}
        with transaction() as conn:
            row, pending = notifications_repo.claim(
                conn,
                org_id=self.org_id,
                agent_id=self.agent_id,
                task_id=self.task_id,
                node_id=node_id,
                channel=channel,
                delivery=delivery,
                recipients=recipients,
                subject=subject,
                body=body,
            )
            delivered["row"] = row
            if pending:

                def deliver() -> None:  # after the PENDING row is committed
                    outcome = send(conn, row.id)
                    delivered["row"] = notifications_repo.record_delivery(conn, row.id, self.org_id, **outcome)

                after_commit(conn, deliver)
        final = delivered["row"]
        return DeliveryReport(
            notification_id=str(final.id),
            channel=final.channel,
            delivery=final.delivery,
            status=final.status,
            error=final.error,
            response_status=final.response_status,
        )


def _recipients_now(conn: DbConnection, org_id: UUID, agent_id: UUID) -> EmailRecipients:
    agent = agents_repo.get_agent_in_org(conn, agent_id, org_id)
    return EmailRecipients.of_tools(agent.tools if agent else [])


def _post_webhook(policy: OutboundPolicy, url: str, body: bytes, secret: str, notification_id: str) -> dict[str, Any]:
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "phi-agents-webhook/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign_webhook(secret, timestamp, body),
        "X-Phi-Notification-Id": notification_id,
    }
    try:
        response = guarded_request(policy, "POST", url, content=body, headers=headers)
    except OutboundRefused as exc:
        return {"status": "FAILED", "error": f"{exc.code}: {exc.message}"}
    if 200 <= response.status < 300:
        return {"status": "SENT", "response_status": response.status}
    return {
        "status": "FAILED",
        "response_status": response.status,
        "error": f"the webhook answered HTTP {response.status}",
    }


class GuardedHttp:
    """The `http` node's requests: to the organisation's allow-listed hosts only, through phi.guarded_http."""

    def __init__(self, ctx: TaskContext, policy: PolicyFactory = default_policy) -> None:
        self.org_id = UUID(ctx.org_id)
        self.policy = policy

    def fetch(self, request: HttpFetch) -> HttpFetched:
        settings = get_settings()
        with transaction() as conn:
            hosts = _allowed_hosts(conn, self.org_id)
        timeout = min(request.timeout_seconds or settings.outbound_timeout_seconds, settings.outbound_timeout_seconds)
        cap = min(request.max_bytes or settings.outbound_max_response_bytes, settings.outbound_max_response_bytes)
        content = None if request.json_body is None else json.dumps(request.json_body, default=str).encode()
        headers = {"Accept": "application/json, text/csv;q=0.9", "User-Agent": "phi-agents-http/1"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        response = guarded_request(
            self.policy(hosts, timeout, cap),
            request.method,
            request.url,
            content=content,
            headers=headers,
            params=request.params or None,
        )
        return HttpFetched(status=response.status, content_type=response.content_type, content=response.content)


class S3Tables:
    """The task's tables in the claim-check bucket: the local agent's large results
    (`<prefix><task>/<tool call>.jsonl.gz`) and the outputs of table nodes (`<prefix><task>/tables/<node>.jsonl.gz`).
    Only keys under the task's own prefix are read: a reference in the state can never name another task's object."""

    def __init__(self, ctx: TaskContext, bucket: str) -> None:
        settings = get_settings()
        self.bucket = bucket
        self.prefix = f"{settings.tool_results_prefix}{ctx.task_id}/"
        self.limits = TableLimits(max_bytes=settings.max_tool_result_bytes, max_rows=settings.max_tool_result_rows)

    def open(self, key: str) -> IO[bytes]:
        if not key.startswith(self.prefix) or ".." in key:
            raise TableError("a table reference names an object outside this task's results")
        try:
            body: IO[bytes] = client("s3").get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise TableError(f"the stored table {key.removeprefix(self.prefix)!r} is gone (expired?)") from None
            raise
        return body

    def save(self, name: str, body: IO[bytes]) -> str:
        key = f"{self.prefix}tables/{name}.jsonl.gz"
        client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/gzip")
        return key


APPROVAL_INTERRUPT_KEY = "approval"


class PersonApprovals:
    """Suspends the graph until Think resumes it with a person's decision (must run inside a node); the state
    machine waits on a task token meanwhile (AwaitApproval)."""

    def request(self, request: ApprovalRequest) -> ApprovalOutcome:
        return ApprovalOutcome.model_validate(interrupt({APPROVAL_INTERRUPT_KEY: request.model_dump()}))


def live_ports(ctx: TaskContext) -> Ports:
    bucket = get_settings().documents_bucket
    return Ports(
        task=DbTask(ctx),
        events=DbEvents(ctx),
        documents=AgentDocuments(ctx),
        tools=LocalAgentTools(),
        llm=get_llm(
            accounting=DbLlmAccounting(UUID(ctx.org_id), task_id=UUID(ctx.task_id), agent_id=UUID(ctx.agent_id))
        ),
        clock=SystemClock(),
        notifier=OrgNotifier(ctx),
        http=GuardedHttp(ctx),
        tables=S3Tables(ctx, bucket) if bucket else None,
        approvals=PersonApprovals(),
    )

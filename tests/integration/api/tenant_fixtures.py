"""A fully furnished organisation (owner, admin, member, agent, task, key, document, schedule) and direct
database writes for rows the API creates only through long-running flows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from tests.support.api import ApiSession
from tests.support.invitations import invite_and_accept

WORKFLOW = {"type": "DAILY_WAREHOUSE_REPORT", "schedule": "0 6 * * *", "timezone": "UTC"}


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def signed_up(api_url: str, prefix: str) -> ApiSession:
    session = ApiSession(api_url)
    session.sign_up(unique_email(prefix))
    return session


def user_id(session: ApiSession) -> str:
    return str(session.ok("GET", "/me")["user"]["id"])


def sql(query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Runs in the test process, which is also the embedded stack's process (same PHI_DATABASE_URL)."""
    from phi.db.connection import transaction

    with transaction() as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []  # type: ignore[return-value]


def insert_task(
    org_id: str, agent_id: str, task_type: str = "DAILY_WAREHOUSE_REPORT", status: str = "SUCCEEDED"
) -> str:
    row = sql(
        """INSERT INTO tasks (org_id, agent_id, type, status, trigger) VALUES (%s, %s, %s, %s, 'api')
           RETURNING id""",
        (UUID(org_id), UUID(agent_id), task_type, status),
    )[0]
    return str(row["id"])


def insert_approval(org_id: str, agent_id: str, task_id: str) -> str:
    """A pending approval for the owners and admins, as an approval node leaves it (the token is never used:
    the probes are refused, or fail validation, before any decision is recorded)."""
    row = sql(
        """INSERT INTO approvals (org_id, agent_id, task_id, step, node_id, title, approver_roles, on_timeout,
                                  task_token, expires_at)
           VALUES (%s, %s, %s, 1, 'sign_off', 'Sign off', ARRAY['OWNER', 'ADMIN'], 'fail', 'token-never-sent',
                   now() + interval '1 day')
           RETURNING id""",
        (UUID(org_id), UUID(agent_id), UUID(task_id)),
    )[0]
    return str(row["id"])


def insert_document(org_id: str, agent_id: str | None, chunks: list[str], source_type: str = "SOP") -> str:
    document = sql(
        """INSERT INTO documents (org_id, agent_id, filename, source_type, s3_key, bytes, sha256, status)
           VALUES (%s, %s, %s, %s, %s, 1, 'x', 'READY') RETURNING id""",
        (
            UUID(org_id),
            UUID(agent_id) if agent_id else None,
            f"{source_type.lower()}-{uuid.uuid4().hex[:6]}.md",
            source_type,
            f"docs/{uuid.uuid4()}",
        ),
    )[0]
    for index, text in enumerate(chunks):
        sql(
            """INSERT INTO document_chunks (document_id, org_id, agent_id, chunk_index, text, heading, content_hash,
                                            embedding, embedding_model)
               VALUES (%s, %s, %s, %s, %s, 'Procedure', 'h', '[0.1, 0.2, 0.3]', 'test-model')""",
            (document["id"], UUID(org_id), UUID(agent_id) if agent_id else None, index, text),
        )
    return str(document["id"])


@dataclass
class Tenant:
    owner: ApiSession
    admin: ApiSession
    member: ApiSession
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def org_id(self) -> str:
        assert self.owner.org_id is not None
        return self.owner.org_id


def furnished_tenant(api_url: str) -> Tenant:
    owner, admin, member = (signed_up(api_url, p) for p in ("owner", "admin", "member"))
    org_id = owner.create_org("Victim Ltd")
    for session, role in ((admin, "ADMIN"), (member, "MEMBER")):
        invite_and_accept(owner, org_id, session, role)
    agent = owner.create_agent(workflows=[WORKFLOW])
    key = owner.ok("POST", f"/agents/{agent['id']}/keys")
    assert owner.org_id is not None
    tenant = Tenant(owner=owner, admin=admin, member=member)
    tenant.ids = {
        "org_id": owner.org_id,
        "agent_id": agent["id"],
        "task_id": insert_task(owner.org_id, agent["id"]),
        "key_id": key["id"],
        "user_id": user_id(owner),
        "document_id": insert_document(owner.org_id, agent["id"], ["Pick faster."]),
        "workflow_type": WORKFLOW["type"],
        "agent_key": key["key"],
    }
    tenant.ids["approval_id"] = insert_approval(owner.org_id, agent["id"], tenant.ids["task_id"])
    schedule = sql("SELECT id FROM schedules WHERE agent_id = %s", (UUID(agent["id"]),))
    if schedule:
        tenant.ids["schedule_id"] = str(schedule[0]["id"])
    return tenant

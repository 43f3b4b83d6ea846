"""Agent keys: stored as SHA-256 of a high-entropy secret (a password hash would only slow every tool
call)."""

from __future__ import annotations

from uuid import UUID

from phi.db.connection import DbConnection
from phi.domain.models import AgentKey

_COLUMNS = "id, agent_id, org_id, prefix, created_at, last_used_at, revoked_at"


def insert_key(
    conn: DbConnection,
    agent_id: UUID,
    org_id: UUID,
    prefix: str,
    key_hash: str,
    created_by: UUID | None,
) -> AgentKey:
    row = conn.execute(
        f"""INSERT INTO agent_keys (agent_id, org_id, prefix, key_hash, created_by)
            VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
        (agent_id, org_id, prefix, key_hash, created_by),
    ).fetchone()
    return AgentKey.model_validate(row)


def list_keys(conn: DbConnection, agent_id: UUID, org_id: UUID) -> list[AgentKey]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM agent_keys WHERE agent_id = %s AND org_id = %s ORDER BY created_at",
        (agent_id, org_id),
    ).fetchall()
    return [AgentKey.model_validate(r) for r in rows]


def revoke_key(conn: DbConnection, key_id: UUID, agent_id: UUID, org_id: UUID) -> bool:
    row = conn.execute(
        """UPDATE agent_keys SET revoked_at = COALESCE(revoked_at, now())
           WHERE id = %s AND agent_id = %s AND org_id = %s RETURNING id""",
        (key_id, agent_id, org_id),
    ).fetchone()
    return row is not None


def use_key(conn: DbConnection, key_hash: str) -> AgentKey | None:
    """The active key with this hash, its last use stamped; None for unknown or revoked keys."""
    row = conn.execute(
        """UPDATE agent_keys k SET last_used_at = now()
            FROM agents a WHERE k.key_hash = %s AND k.revoked_at IS NULL
              AND a.id = k.agent_id AND a.status <> 'DELETED'
            RETURNING k.id, k.agent_id, k.org_id, k.prefix, k.created_at, k.last_used_at, k.revoked_at""",
        (key_hash,),
    ).fetchone()
    return AgentKey.model_validate(row) if row else None


def revoke_all(conn: DbConnection, agent_id: UUID, org_id: UUID) -> int:
    return conn.execute(
        "UPDATE agent_keys SET revoked_at = now() WHERE agent_id = %s AND org_id = %s AND revoked_at IS NULL",
        (agent_id, org_id),
    ).rowcount

"""Document records as the API sees them (chunks and search live in phi.documents.store)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from phi.db.connection import DbConnection

_COLUMNS = """id, org_id, agent_id, filename, source_type, content_type, s3_key, bytes, sha256, status, error,
              pages, chunk_count, embedding_model, created_at, updated_at"""


class Document(BaseModel):
    id: UUID
    org_id: UUID
    agent_id: UUID | None
    filename: str
    source_type: str
    content_type: str | None
    s3_key: str
    bytes: int | None
    sha256: str | None
    status: str
    error: str | None
    pages: int | None
    chunk_count: int | None
    embedding_model: str | None
    created_at: datetime
    updated_at: datetime


def insert(conn: DbConnection, **values: Any) -> Document:
    columns = ", ".join(values)
    placeholders = ", ".join(f"%({name})s" for name in values)
    row = conn.execute(
        f"INSERT INTO documents ({columns}) VALUES ({placeholders}) RETURNING {_COLUMNS}", values
    ).fetchone()
    return Document.model_validate(row)


def get_in_org(conn: DbConnection, document_id: UUID, org_id: UUID) -> Document | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM documents WHERE id = %s AND org_id = %s", (document_id, org_id)
    ).fetchone()
    return Document.model_validate(row) if row else None


def list_for_agent(conn: DbConnection, org_id: UUID, agent_id: UUID) -> list[Document]:
    """The agent's own documents and the organisation-wide ones it also learns from."""
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM documents WHERE org_id = %s AND (agent_id = %s OR agent_id IS NULL)
            ORDER BY created_at DESC, id""",
        (org_id, agent_id),
    ).fetchall()
    return [Document.model_validate(r) for r in rows]


def find_same_content(
    conn: DbConnection, org_id: UUID, agent_id: UUID | None, sha256: str
) -> Document | None:
    row = conn.execute(
        f"""SELECT {_COLUMNS} FROM documents WHERE org_id = %s AND agent_id IS NOT DISTINCT FROM %s
              AND sha256 = %s AND status <> 'FAILED' ORDER BY created_at LIMIT 1""",
        (org_id, agent_id, sha256),
    ).fetchone()
    return Document.model_validate(row) if row else None


def set_key(conn: DbConnection, document_id: UUID, s3_key: str) -> None:
    conn.execute("UPDATE documents SET s3_key = %s WHERE id = %s", (s3_key, document_id))


def record_object(conn: DbConnection, document_id: UUID, size: int, sha256: str) -> None:
    conn.execute(
        "UPDATE documents SET bytes = %s, sha256 = %s, updated_at = now() WHERE id = %s",
        (size, sha256, document_id),
    )


def delete(conn: DbConnection, document_id: UUID, org_id: UUID) -> None:
    conn.execute("DELETE FROM documents WHERE id = %s AND org_id = %s", (document_id, org_id))


def has_ready_chunks(conn: DbConnection, org_id: UUID, agent_id: UUID) -> bool:
    """Whether the agent (or its organisation, org-wide) has any searchable passage."""
    row = conn.execute(
        """SELECT EXISTS (SELECT 1 FROM document_chunks c JOIN documents d ON d.id = c.document_id
                          WHERE c.org_id = %s AND (c.agent_id = %s OR c.agent_id IS NULL)
                            AND d.status = 'READY') AS present""",
        (org_id, agent_id),
    ).fetchone()
    return bool(row and row["present"])

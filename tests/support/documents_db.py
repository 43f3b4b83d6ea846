"""Rows the document tests need: agents and uploaded (PROCESSING) documents."""

from __future__ import annotations

import hashlib
import uuid

import psycopg


def add_org(conn: psycopg.Connection) -> uuid.UUID:
    org_id = uuid.uuid4()
    conn.execute("INSERT INTO organizations (id, name) VALUES (%s, 'Documents test org')", (org_id,))
    return org_id


def add_agent(conn: psycopg.Connection, org_id: uuid.UUID) -> uuid.UUID:
    agent_id = uuid.uuid4()
    conn.execute("INSERT INTO agents (id, org_id, name) VALUES (%s, %s, 'Documents test agent')", (agent_id, org_id))
    return agent_id


def add_document(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    filename: str,
    data: bytes,
    agent_id: uuid.UUID | None = None,
) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO documents (org_id, agent_id, filename, source_type, s3_key, bytes, sha256)"
        " VALUES (%s, %s, %s, 'SOP', %s, %s, %s) RETURNING id",
        (org_id, agent_id, filename, f"docs/{filename}", len(data), hashlib.sha256(data).hexdigest()),
    ).fetchone()
    assert row is not None
    return row[0]

"""A throwaway embedded PostgreSQL (pgserver, with pgvector) holding the documents schema.

The schema is the one the lead's migration creates (documents, document_chunks), on minimal
organizations/agents tables. One server per test session; tests use fresh organisation ids, so
they never see each other's rows.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

# Helper modules next to these tests, and the real-file makers of the unit tests.
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "documents"))

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE organizations (id uuid PRIMARY KEY);
CREATE TABLE agents (id uuid PRIMARY KEY, org_id uuid NOT NULL REFERENCES organizations(id));
CREATE TABLE documents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  agent_id uuid NULL REFERENCES agents(id) ON DELETE SET NULL,
  filename text NOT NULL,
  source_type text NOT NULL CHECK (source_type IN ('JD','SOP','POLICY','MANUAL','OTHER')),
  content_type text, s3_key text NOT NULL, bytes bigint NOT NULL, sha256 text NOT NULL,
  status text NOT NULL DEFAULT 'PROCESSING' CHECK (status IN ('PROCESSING','READY','FAILED')),
  error text, pages int, chunk_count int, embedding_model text,
  created_by uuid NULL, created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE document_chunks (
  id bigserial PRIMARY KEY,
  document_id uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  org_id uuid NOT NULL, agent_id uuid NULL,
  chunk_index int NOT NULL, text text NOT NULL, page int, heading text, content_hash text NOT NULL,
  embedding vector NOT NULL, embedding_model text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (document_id, chunk_index));
CREATE INDEX ON document_chunks (org_id, agent_id);
"""


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    pgserver = pytest.importorskip("pgserver")
    data_dir = Path(tempfile.mkdtemp(prefix="phi-docs-pg-"))
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    try:
        server.psql("CREATE DATABASE phi_documents_test;")
        url = server.get_uri("phi_documents_test")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA)
        yield url
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def new_org(conn: psycopg.Connection) -> uuid.UUID:
    org_id = uuid.uuid4()
    conn.execute("INSERT INTO organizations (id) VALUES (%s)", (org_id,))
    return org_id

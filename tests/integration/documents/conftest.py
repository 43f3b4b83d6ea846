"""A throwaway embedded PostgreSQL (pgserver, with pgvector) with the project's real migrations applied.

One server per test session; tests use fresh organisation ids, so they never see each other's rows.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from phi.db.migrate import apply_migrations
from tests.support.documents_db import add_org


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    pgserver = pytest.importorskip("pgserver")
    data_dir = Path(tempfile.mkdtemp(prefix="phi-docs-pg-"))
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    try:
        server.psql("CREATE DATABASE phi_documents_test;")
        url = server.get_uri("phi_documents_test")
        apply_migrations(url)
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
    return add_org(conn)

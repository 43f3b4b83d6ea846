"""A throwaway embedded PostgreSQL (pgserver, with pgvector) with the project's real migrations applied.

One server per test session; tests use fresh organisation ids, so they never see each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from phi.embedded.postgres import scratch_database
from tests.support.documents_db import add_org


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with scratch_database("phi_documents_test") as url:
        yield url


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def new_org(conn: psycopg.Connection) -> uuid.UUID:
    return add_org(conn)

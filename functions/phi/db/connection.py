"""The process-wide connection pool, built from settings once (DSN on the embedded stack, Secrets Manager on AWS)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from phi.errors import ServiceUnavailable
from phi.settings import Settings, get_settings

_pool: ConnectionPool | None = None
_lock = threading.Lock()


def resolve_dsn(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    if settings.db_secret_arn and settings.db_host:
        from phi.aws import client

        secret = json.loads(client("secretsmanager").get_secret_value(SecretId=settings.db_secret_arn)["SecretString"])
        user, password = quote(secret["username"]), quote(secret["password"])
        return f"postgresql://{user}:{password}@{settings.db_host}:5432/{settings.db_name}?sslmode=require"
    raise RuntimeError("No database configured: set PHI_DATABASE_URL, or PHI_DB_SECRET_ARN and PHI_DB_HOST")


def get_pool() -> ConnectionPool:
    global _pool
    with _lock:
        if _pool is None:
            settings = get_settings()
            _pool = ConnectionPool(
                resolve_dsn(settings),
                min_size=0,
                max_size=settings.db_pool_max,
                kwargs={"row_factory": dict_row, "autocommit": False},
                open=True,
                timeout=10,
                check=ConnectionPool.check_connection,
            )
        return _pool


def close_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
            _pool = None


@contextmanager
def transaction() -> Iterator[psycopg.Connection]:
    """One unit of work: commits on success, rolls back on error. Outages surface as ServiceUnavailable."""
    try:
        with get_pool().connection() as conn:
            yield conn
    except (psycopg.OperationalError, TimeoutError) as exc:
        raise ServiceUnavailable("The database is not reachable right now; try again shortly.") from exc

"""Process-wide connection pools, built from settings once (DSN on the embedded stack, Secrets Manager on AWS):
one for transactions, one in autocommit mode for LangGraph's checkpointer."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import quote

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from phi.errors import ServiceUnavailable
from phi.settings import Settings, get_settings

# Every pooled connection returns rows as dicts (see _POOL_KWARGS); repositories are typed accordingly.
DbConnection = psycopg.Connection[DictRow]

_pools: dict[str, ConnectionPool] = {}
_lock = threading.Lock()
_POOL_KWARGS: dict[str, dict[str, Any]] = {
    "transactions": {"row_factory": dict_row, "autocommit": False},
    "checkpoints": {"row_factory": dict_row, "autocommit": True, "prepare_threshold": 0},
}


def resolve_dsn(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    if settings.db_secret_arn and settings.db_host:
        from phi.aws import client

        secret = json.loads(client("secretsmanager").get_secret_value(SecretId=settings.db_secret_arn)["SecretString"])
        user, password = quote(secret["username"]), quote(secret["password"])
        return f"postgresql://{user}:{password}@{settings.db_host}:5432/{settings.db_name}?sslmode=require"
    raise RuntimeError("No database configured: set PHI_DATABASE_URL, or PHI_DB_SECRET_ARN and PHI_DB_HOST")


def get_pool(kind: str = "transactions") -> ConnectionPool:
    with _lock:
        if kind not in _pools:
            settings = get_settings()
            _pools[kind] = ConnectionPool(
                resolve_dsn(settings),
                min_size=0,
                max_size=settings.db_pool_max,
                kwargs=_POOL_KWARGS[kind],
                open=True,
                timeout=settings.db_connect_timeout_seconds,
                check=ConnectionPool.check_connection,
            )
        return _pools[kind]


def close_pool() -> None:
    with _lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


@contextmanager
def _unavailable_on_outage() -> Iterator[None]:
    try:
        yield
    except (psycopg.OperationalError, TimeoutError) as exc:
        logging.getLogger("phi.db").warning("database unavailable: %s: %s", type(exc).__name__, exc)
        raise ServiceUnavailable("The database is not reachable right now; try again shortly.") from exc


@contextmanager
def transaction() -> Iterator[DbConnection]:
    """One unit of work: commits on success, rolls back on error. Outages surface as ServiceUnavailable."""
    with _unavailable_on_outage(), get_pool().connection() as conn:
        yield cast(DbConnection, conn)


@contextmanager
def checkpoint_connection() -> Iterator[DbConnection]:
    with _unavailable_on_outage(), get_pool("checkpoints").connection() as conn:
        yield cast(DbConnection, conn)

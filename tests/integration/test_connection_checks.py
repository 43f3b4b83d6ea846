"""The pool checks a connection with a round trip only when it sat idle: one handed back a moment ago is handed
out as it is; one idle for longer (a frozen Lambda's) is checked, and a dead one is refused so the pool replaces it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from phi.db import connection
from phi.db.connection import RECHECK_AFTER_IDLE_SECONDS, transaction
from phi.settings import get_settings


@pytest.fixture
def dead_connection(stack: object) -> Iterator[psycopg.Connection[Any]]:
    """A connection whose server process has been ended (as a failover or an idle timeout ends it)."""
    dsn = connection.resolve_dsn(get_settings())
    with psycopg.connect(dsn, autocommit=True) as victim, psycopg.connect(dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (victim.info.backend_pid,))
        yield victim


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    made: list[object] = []
    real = connection.ConnectionPool.check_connection

    def counted(conn: psycopg.Connection[Any]) -> None:
        made.append(conn)
        real(conn)

    monkeypatch.setattr(connection.ConnectionPool, "check_connection", counted)
    return made


def test_a_connection_the_pool_has_not_seen_returned_is_checked_and_refused_when_dead(
    dead_connection: psycopg.Connection[Any],
) -> None:
    with pytest.raises(psycopg.OperationalError):
        connection._check_unless_just_used(dead_connection)


def test_a_connection_idle_longer_than_the_limit_is_checked_again(dead_connection: psycopg.Connection[Any]) -> None:
    connection._returned_at[dead_connection] = time.time() - RECHECK_AFTER_IDLE_SECONDS - 1
    with pytest.raises(psycopg.OperationalError):
        connection._check_unless_just_used(dead_connection)


def test_a_clock_set_back_since_the_return_checks_the_connection(dead_connection: psycopg.Connection[Any]) -> None:
    connection._returned_at[dead_connection] = time.time() + 3600
    with pytest.raises(psycopg.OperationalError):
        connection._check_unless_just_used(dead_connection)


def test_a_connection_handed_back_a_moment_ago_is_handed_out_without_a_round_trip(
    stack: object, checks: list[object]
) -> None:
    with transaction() as conn:
        conn.execute("SELECT 1")
    connection._returned_at[conn] = time.time()  # as the transaction above left it (other threads share the pool)

    connection._check_unless_just_used(conn)

    assert conn not in checks


def test_a_transaction_records_when_its_connection_went_back(stack: object) -> None:
    before = time.time()
    with transaction() as conn:
        pass
    assert before <= connection._returned_at[conn] <= time.time()


def test_behind_rds_proxy_no_statement_is_prepared_and_the_checkpointer_still_works(stack: object) -> None:
    # On AWS (the proxy host and its secret, no DSN) a session that prepares a statement would be pinned by RDS
    # Proxy; here the same connection options against the embedded PostgreSQL, checked on the server itself.
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    from phi.settings import Settings

    on_aws = Settings(database_url=None, db_secret_arn="arn:aws:secretsmanager:x", db_host="proxy.example")
    embedded = get_settings()
    for kind in ("transactions", "checkpoints"):
        assert connection.connection_kwargs(kind, on_aws)["prepare_threshold"] is None
    assert connection.connection_kwargs("checkpoints", embedded)["prepare_threshold"] == 0
    kwargs = connection.connection_kwargs("checkpoints", on_aws)
    assert kwargs["row_factory"] is dict_row
    with psycopg.connect(connection.resolve_dsn(embedded), **kwargs) as conn:
        saver = PostgresSaver(conn)
        config = {"configurable": {"thread_id": f"no-prepare-{time.time_ns()}", "checkpoint_ns": ""}}
        for _ in range(7):  # past psycopg's default threshold of 5 runs of one statement
            assert saver.get_tuple(config) is None
        assert conn.execute("SELECT count(*) AS n FROM pg_prepared_statements").fetchone() == {"n": 0}

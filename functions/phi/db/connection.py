"""Process-wide connection pools, built from settings once (DSN on the embedded stack, Secrets Manager on AWS):
one for transactions, one in autocommit mode for LangGraph's checkpointer.

Who commits (the unit of work):
- `transaction()` is the unit of work. It commits when its block ends without an error and rolls back
  otherwise. An API request runs in one (api/deps.get_conn, committed before the response is sent); each
  step of the task loop (runner, live ports) opens its own short ones.
- Side effects outside the database (SQS queues, Scheduler schedules, S3 deletes) are registered with
  `after_commit(conn, hook)` and run only once the data they belong to is committed; a rollback drops them.
- `commit(conn)` commits early and runs the hooks registered so far. Only these call it: routes whose response
  needs what a hook made (creating an agent returns its queue URL) and services/tasks.run_task (StartTask
  reads the task row, so it must be committed before StartExecution). services/documents.upload commits the
  document row before putting the object (the object-created event must find the row) and deletes the row
  again if the put fails. Repositories never commit.
- Hooks run after the commit while the connection is still held, so a hook may write on it (the queue URL of
  a new agent); that write is committed when the block ends. A hook that fails cannot undo the commit before
  it: it is logged and re-raised (the client sees the error; the database stays the source of truth, and the
  schedule/queue resync repairs AWS from it)."""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import quote

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from phi.errors import Conflict, RequestTimedOut, ServiceUnavailable, UnstorableValue
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


def connection_kwargs(kind: str, settings: Settings) -> dict[str, Any]:
    """How a pool's connections are made. On AWS (the RDS Proxy host and its secret) no statement is prepared on the
    server: RDS Proxy pins a client session that prepares one to its database connection until the client goes,
    which a frozen Lambda's pool never does, and pinned sessions would use up the database's connections. psycopg
    then sends every statement unnamed (its default prepares one run five times; the checkpointer's, at once)."""
    kwargs = dict(_POOL_KWARGS[kind])
    if settings.database_url is None:
        kwargs["prepare_threshold"] = None
    return kwargs


def get_pool(kind: str = "transactions") -> ConnectionPool:
    with _lock:
        if kind not in _pools:
            settings = get_settings()
            _pools[kind] = ConnectionPool(
                resolve_dsn(settings),
                min_size=0,
                max_size=settings.db_pool_max,
                kwargs=connection_kwargs(kind, settings),
                open=True,
                timeout=settings.db_connect_timeout_seconds,
                check=_check_unless_just_used,
            )
        return _pools[kind]


# A connection handed back within this many seconds is handed out again without a round trip to check it: one
# that dies meanwhile (a failover) fails its request with a 503 and leaves the pool. The check is for connections
# that sat idle, as a frozen Lambda's do (the wall clock counts the frozen time, which a monotonic clock may not).
# Under load every round trip also waits for the interpreter lock again: the check was one of four in a
# one-statement transaction.
RECHECK_AFTER_IDLE_SECONDS = 5.0
_returned_at: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = weakref.WeakKeyDictionary()


def _check_unless_just_used(conn: psycopg.Connection[Any]) -> None:
    returned = _returned_at.get(conn)
    if returned is None or not 0 <= time.time() - returned < RECHECK_AFTER_IDLE_SECONDS:
        ConnectionPool.check_connection(conn)


@contextmanager
def _pooled(kind: str) -> Iterator[DbConnection]:
    with get_pool(kind).connection() as pooled:
        conn = cast(DbConnection, pooled)
        try:
            yield conn
        finally:
            _returned_at[conn] = time.time()


def close_pool() -> None:
    with _lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


# SQLSTATE class 40: PostgreSQL rolled the transaction back (to break a deadlock, or a serialization failure); the
# database is fine, and the request may be tried again.
_TRANSACTION_ROLLBACK = "40"


@contextmanager
def _unavailable_on_outage() -> Iterator[None]:
    try:
        yield
    except psycopg.errors.QueryCanceled as exc:  # an OperationalError too, but the database is fine
        raise RequestTimedOut(
            "The request took longer than the database allows and was stopped; ask for less (a shorter period,"
            " fewer rows) or try again."
        ) from exc
    except (psycopg.OperationalError, TimeoutError) as exc:
        if isinstance(exc, psycopg.OperationalError) and (exc.sqlstate or "").startswith(_TRANSACTION_ROLLBACK):
            logging.getLogger("phi.db").warning("transaction rolled back: %s: %s", type(exc).__name__, exc)
            raise Conflict("Another change to the same data was made at the same moment; try again.") from exc
        logging.getLogger("phi.db").warning("database unavailable: %s: %s", type(exc).__name__, exc)
        raise ServiceUnavailable("The database is not reachable right now; try again shortly.") from exc


AfterCommit = Callable[[], None]
_after_commit: weakref.WeakKeyDictionary[DbConnection, list[AfterCommit]] = weakref.WeakKeyDictionary()


def after_commit(conn: DbConnection, hook: AfterCommit) -> None:
    """Runs `hook` once the current transaction on `conn` commits; never if it rolls back."""
    if conn not in _after_commit:
        raise RuntimeError("after_commit needs a connection from transaction()")
    _after_commit[conn].append(hook)


def commit(conn: DbConnection) -> None:
    """Commits now and runs the after-commit hooks registered so far; `conn` stays usable."""
    conn.commit()
    _run_hooks(conn)


def rollback(conn: DbConnection) -> None:
    """Rolls back now and forgets the after-commit hooks registered so far; `conn` stays usable (a page that
    shows a refused change's error on the same request reads on after it)."""
    conn.rollback()
    hooks = _after_commit.get(conn)
    if hooks:
        hooks.clear()


def _run_hooks(conn: DbConnection) -> None:
    hooks = _after_commit.get(conn)
    while hooks:
        hook = hooks.pop(0)
        try:
            hook()
        except Exception:
            logging.getLogger("phi.db").exception("after-commit hook %s failed", getattr(hook, "__name__", hook))
            hooks.clear()
            raise


@contextmanager
def transaction(statement_timeout_seconds: float | None = None) -> Iterator[DbConnection]:
    """One unit of work: commits on success, rolls back on error. After the commit, and still holding the
    connection, it runs the after-commit hooks (what a hook writes on `conn` is committed in turn).
    Outages surface as ServiceUnavailable; with `statement_timeout_seconds`, a statement of this transaction
    that runs longer is stopped and surfaces as RequestTimedOut (the limit ends with the transaction, as with
    SET LOCAL; whether RDS Proxy then pins the session is not measured: see the README's Security section)."""
    with _unavailable_on_outage(), _pooled("transactions") as conn:
        _after_commit[conn] = []
        try:
            if statement_timeout_seconds is not None:
                milliseconds = max(1, round(statement_timeout_seconds * 1000))
                conn.execute("SELECT set_config('statement_timeout', %s, true)", (f"{milliseconds}ms",))
            yield conn
            commit(conn)
        finally:
            _after_commit.pop(conn, None)


@contextmanager
def api_transaction() -> Iterator[DbConnection]:
    """The unit of work of an API or console request, log-in included: each statement limited to
    PHI_API_STATEMENT_TIMEOUT_SECONDS (RequestTimedOut, a 503, past it; 0 sets no limit). A value of the
    request that PostgreSQL cannot store is the client's to fix: UnstorableValue, a 400."""
    try:
        with transaction(get_settings().api_statement_timeout_seconds or None) as conn:
            yield conn
    except psycopg.DataError as exc:
        raise UnstorableValue("The request holds a value that cannot be stored.") from exc
    except UnicodeEncodeError as exc:
        # A lone surrogate half (JSON's escape "\ud800", kept by a field typed as any JSON) has no UTF-8 form:
        # psycopg fails to write the parameter before PostgreSQL sees it, so no DataError; the client's to fix too.
        raise UnstorableValue("The request holds a value that cannot be stored.") from exc


@contextmanager
def checkpoint_connection() -> Iterator[DbConnection]:
    with _unavailable_on_outage(), _pooled("checkpoints") as conn:
        yield conn

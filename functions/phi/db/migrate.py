"""Versioned SQL migrations (yoyo-migrations), the same files on AWS and on the embedded stack."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib.resources import files

from yoyo import get_backend, read_migrations

from phi.names import MIGRATE_TIMEOUT_SECONDS

log = logging.getLogger("phi.db.migrate")
# On a first deploy RDS Proxy can take many minutes to register the new instance as a healthy target, and a failed
# migration rolls the whole first stack back: connecting is retried for most of the migrate Lambda's time
# (names.MIGRATE_TIMEOUT_SECONDS), and the rest is kept for the migrations and the checkpointer's setup.
MIGRATIONS_RESERVE_SECONDS = 180.0
CONNECT_BUDGET_SECONDS = MIGRATE_TIMEOUT_SECONDS - MIGRATIONS_RESERVE_SECONDS
_CONNECT_TIMEOUT_SECONDS = 10
_MAX_WAIT_SECONDS = 15.0


def wait_for_database(
    dsn: str,
    budget_seconds: float = CONNECT_BUDGET_SECONDS,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Connects until PostgreSQL answers (a bounded retry with backoff), returning the attempts it took; raises
    the last connection error once ``budget_seconds`` have passed."""
    import psycopg

    deadline = clock() + budget_seconds
    attempt, wait = 0, 1.0
    while True:
        attempt += 1
        try:
            with psycopg.connect(dsn, connect_timeout=_CONNECT_TIMEOUT_SECONDS) as conn:
                conn.execute("SELECT 1")
            return attempt
        except psycopg.OperationalError as exc:
            remaining = deadline - clock()
            if remaining <= 0:
                raise
            log.warning("database not reachable yet (attempt %d): %s", attempt, str(exc).strip()[:200])
            sleep(min(wait, remaining))
            wait = min(wait * 2, _MAX_WAIT_SECONDS)


def connect_budget_seconds(remaining_seconds: float) -> float:
    """How long to retry connecting when the invocation has ``remaining_seconds`` left: at most the connect budget,
    never into the migrations' reserve (a run that finds the database only then fails fast, not by timing out)."""
    return max(0.0, min(CONNECT_BUDGET_SECONDS, remaining_seconds - MIGRATIONS_RESERVE_SECONDS))


def migrations_dir() -> str:
    return str(files("phi.db").joinpath("migrations"))


def _yoyo_url(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    return f"postgresql+psycopg://{rest}" if scheme in {"postgresql", "postgres"} else dsn


def apply_migrations(dsn: str, connect_budget: float = CONNECT_BUDGET_SECONDS) -> list[str]:
    """Waits up to ``connect_budget`` seconds for the database, then applies every pending migration under a lock;
    returns the ids applied."""
    wait_for_database(dsn, connect_budget)
    backend = get_backend(_yoyo_url(dsn))
    migrations = read_migrations(migrations_dir())
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    _setup_checkpointer(dsn)
    return [m.id for m in pending]


def _setup_checkpointer(dsn: str) -> None:
    """LangGraph's checkpoint tables carry their own versioned migrations; applied in the same step."""
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
        PostgresSaver(conn).setup()

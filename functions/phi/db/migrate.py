"""Versioned SQL migrations (yoyo-migrations), the same files on AWS and on the embedded stack."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib.resources import files

from yoyo import get_backend, read_migrations

log = logging.getLogger("phi.db.migrate")
# On a first deploy RDS Proxy can take many minutes to register the new instance as a healthy target, and a failed
# migration rolls the whole first stack back; the migrate Lambda's timeout is 900 s (Lambda's most), which leaves
# the migrations themselves three minutes.
CONNECT_BUDGET_SECONDS = 720.0
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


def migrations_dir() -> str:
    return str(files("phi.db").joinpath("migrations"))


def _yoyo_url(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    return f"postgresql+psycopg://{rest}" if scheme in {"postgresql", "postgres"} else dsn


def apply_migrations(dsn: str) -> list[str]:
    """Applies every pending migration under a lock; returns the ids applied."""
    wait_for_database(dsn)
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

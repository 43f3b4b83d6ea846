"""A throwaway embedded PostgreSQL (pgserver, pgvector included) with the project's migrations applied:
for tests and benchmarks that need a real database of their own."""

from __future__ import annotations

import atexit
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from phi.db.migrate import apply_migrations

log = logging.getLogger(__name__)

START_ATTEMPTS = 3
READY_WAIT_SECONDS = 180.0


def start_server(pgdata: Path) -> Any:
    """pgserver's server for `pgdata` (started, or adopted when already running), patient with a busy machine:
    pgserver gives `pg_ctl start` 10 s, which a loaded machine's first start can pass while PostgreSQL goes on
    starting. Then this waits for the server to say it is ready (or to die) and asks pgserver again, which
    adopts the running server."""
    import pgserver
    from pgserver.postgres_server import PostgresServer

    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return pgserver.get_server(pgdata, cleanup_mode="stop")
        except subprocess.TimeoutExpired:
            if attempt == START_ATTEMPTS:
                raise
            log.warning("PostgreSQL is slow to start (attempt %d of %d); waiting for it", attempt, START_ATTEMPTS)
            # pgserver registered the half-made handle before it failed: forget it, or it would be handed out again
            failed = PostgresServer._instances.pop(pgdata.expanduser().resolve(), None)
            if failed is not None:
                atexit.unregister(failed._cleanup)
            _wait_until_ready_or_gone(pgdata)
    raise AssertionError("unreachable")


def _wait_until_ready_or_gone(pgdata: Path) -> None:
    from pgserver.utils import PostmasterInfo

    deadline = time.monotonic() + READY_WAIT_SECONDS
    while time.monotonic() < deadline:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is None or not info.is_running() or info.status == "ready":
            return
        time.sleep(0.5)


@contextmanager
def scratch_database(name: str = "phi_scratch", *, migrate: bool = True) -> Iterator[str]:
    """Yields a DSN; the server and its data folder are gone afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    server = start_server(data_dir)
    try:
        server.psql(f"CREATE DATABASE {name};")
        url: str = server.get_uri(name)
        if migrate:
            apply_migrations(url)
        yield url
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)

"""A throwaway embedded PostgreSQL (pgserver, pgvector included) with the project's migrations applied:
for tests and benchmarks that need a real database of their own."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from phi.db.migrate import apply_migrations


@contextmanager
def scratch_database(name: str = "phi_scratch", *, migrate: bool = True) -> Iterator[str]:
    """Yields a DSN; the server and its data folder are gone afterwards."""
    import pgserver

    data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    try:
        server.psql(f"CREATE DATABASE {name};")
        url: str = server.get_uri(name)
        if migrate:
            apply_migrations(url)
        yield url
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)

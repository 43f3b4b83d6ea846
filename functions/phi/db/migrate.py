"""Versioned SQL migrations (yoyo-migrations), the same files on AWS and on the embedded stack."""

from __future__ import annotations

from importlib.resources import files

from yoyo import get_backend, read_migrations


def migrations_dir() -> str:
    return str(files("phi.db").joinpath("migrations"))


def _yoyo_url(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    return f"postgresql+psycopg://{rest}" if scheme in {"postgresql", "postgres"} else dsn


def apply_migrations(dsn: str) -> list[str]:
    """Applies every pending migration under a lock; returns the ids applied."""
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

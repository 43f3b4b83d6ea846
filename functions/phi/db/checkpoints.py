"""LangGraph's checkpoint tables (created by its own migrations, phi.db.migrate): pruning the threads of tasks
that ended. A task's thread id is its id; its checkpoints serve only while it runs (each Think step resumes from
the latest), and they hold every node's results again after each node, so kept they grow without end."""

from __future__ import annotations

from typing import Any

from phi.db.connection import DbConnection
from phi.domain.models import FINAL_TASK_STATUSES

_FINAL = tuple(sorted(status.value for status in FINAL_TASK_STATUSES))
_TABLES = ("checkpoint_writes", "checkpoint_blobs", "checkpoints")
_UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def ended_threads(conn: DbConnection, ended_before_seconds: int, limit: int) -> list[str]:
    """Thread ids with checkpoints whose task ended more than `ended_before_seconds` ago. Driven from the
    checkpoints, which hold only running and recently ended tasks once pruning runs, each looked up by the tasks'
    key: a system query across organisations, as the sweeper's are."""
    rows: list[Any] = conn.execute(
        f"""SELECT c.thread_id FROM (SELECT DISTINCT thread_id FROM checkpoints) c
            JOIN tasks t ON t.id = (CASE WHEN c.thread_id ~* %s THEN c.thread_id::uuid END)
            WHERE t.status IN ({", ".join(["%s"] * len(_FINAL))})
              AND t.finished_at < now() - make_interval(secs => %s)
            LIMIT %s""",
        (_UUID_PATTERN, *_FINAL, ended_before_seconds, limit),
    ).fetchall()
    return [row["thread_id"] for row in rows]


def delete_threads(conn: DbConnection, thread_ids: list[str]) -> None:
    for table in _TABLES:
        conn.execute(f"DELETE FROM {table} WHERE thread_id = ANY(%s)", (thread_ids,))

"""Tasks, their event timeline and their tool calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb
from pydantic import BaseModel

from phi.db.connection import DbConnection
from phi.domain.models import FINAL_TASK_STATUSES, EventType, Task, TaskEvent, TaskStatus, ToolCall

_COLUMNS = """id, org_id, agent_id, type, trigger, status, input, output, error, execution_arn,
              created_at, started_at, finished_at, workflow_version_id"""
_QUALIFIED_COLUMNS = ", ".join(f"t.{column.strip()}" for column in _COLUMNS.split(","))
# Every status UPDATE below is conditional on the task not being final yet: the first final status written wins,
# so a step finishing at the moment a person cancels never overwrites CANCELLED (nor the reverse).
_FINAL = tuple(sorted(s.value for s in FINAL_TASK_STATUSES))


def create_task(
    conn: DbConnection,
    *,
    org_id: UUID,
    agent_id: UUID,
    task_type: str,
    task_input: dict[str, Any],
    trigger: str,
    created_by: UUID | None,
    workflow_version_id: UUID | None = None,
) -> Task:
    row = conn.execute(
        f"""INSERT INTO tasks (org_id, agent_id, type, input, trigger, created_by, workflow_version_id)
            VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
        (org_id, agent_id, task_type, Jsonb(task_input), trigger, created_by, workflow_version_id),
    ).fetchone()
    return Task.model_validate(row)


def get_task(conn: DbConnection, task_id: UUID, org_id: UUID) -> Task | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM tasks WHERE id = %s AND org_id = %s", (task_id, org_id)).fetchone()
    return Task.model_validate(row) if row else None


def status_of(conn: DbConnection, task_id: UUID, org_id: UUID) -> TaskStatus | None:
    row: Any = conn.execute("SELECT status FROM tasks WHERE id = %s AND org_id = %s", (task_id, org_id)).fetchone()
    return TaskStatus(row["status"]) if row else None


def get_task_for_user(conn: DbConnection, task_id: UUID, user_id: UUID) -> Task | None:
    row = conn.execute(
        f"""SELECT {", ".join("t." + c.strip() for c in _COLUMNS.split(","))} FROM tasks t
            JOIN organization_members m ON m.org_id = t.org_id WHERE t.id = %s AND m.user_id = %s""",
        (task_id, user_id),
    ).fetchone()
    return Task.model_validate(row) if row else None


def set_execution_arn(conn: DbConnection, task_id: UUID, execution_arn: str) -> None:
    conn.execute("UPDATE tasks SET execution_arn = %s WHERE id = %s", (execution_arn, task_id))


def task_of_execution(conn: DbConnection, agent_id: UUID, org_id: UUID, execution_arn: str) -> UUID | None:
    row: Any = conn.execute(
        "SELECT id FROM tasks WHERE execution_arn = %s AND agent_id = %s AND org_id = %s ORDER BY created_at LIMIT 1",
        (execution_arn, agent_id, org_id),
    ).fetchone()
    return UUID(str(row["id"])) if row else None


def mark_running(conn: DbConnection, task_id: UUID, org_id: UUID, execution_arn: str) -> bool:
    """PENDING → RUNNING; False when the task is already past it (a retried StartTask)."""
    row = conn.execute(
        """UPDATE tasks SET status = 'RUNNING', started_at = now(), execution_arn = %s
           WHERE id = %s AND org_id = %s AND status = 'PENDING' RETURNING id""",
        (execution_arn, task_id, org_id),
    ).fetchone()
    return row is not None


def finish(
    conn: DbConnection,
    task_id: UUID,
    org_id: UUID,
    status: TaskStatus,
    *,
    output: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    only_from: TaskStatus | None = None,
) -> bool:
    """Sets the final status once; a second call (retry) changes nothing and returns False. `only_from`: only a
    task that still has that status (the sweeper's PENDING check leaves alone a task StartTask has just started)."""
    row = conn.execute(
        f"""UPDATE tasks SET status = %s, output = COALESCE(%s, output), error = %s, finished_at = now()
            WHERE id = %s AND org_id = %s AND status NOT IN {_FINAL} AND (%s::text IS NULL OR status = %s)
            RETURNING id""",
        (
            status.value,
            Jsonb(output) if output is not None else None,
            Jsonb(error) if error else None,
            task_id,
            org_id,
            only_from.value if only_from else None,
            only_from.value if only_from else None,
        ),
    ).fetchone()
    return row is not None


def cancel(conn: DbConnection, task_id: UUID, org_id: UUID, error: dict[str, Any]) -> tuple[Task, TaskStatus] | None:
    """PENDING/RUNNING → CANCELLED, with the reason as the task's error: the task and the status it had when the
    row was locked (a StartTask may have made a PENDING task RUNNING since the caller read it); None when the task
    is already final. The lock is FOR NO KEY UPDATE: an approval decided at the same moment adds the task an event,
    whose foreign key takes KEY SHARE on this row; FOR UPDATE blocked it while the cancel waited for the approval's
    row, a deadlock."""
    row = conn.execute(
        f"""WITH before AS (
                SELECT id, status FROM tasks WHERE id = %s AND org_id = %s AND status NOT IN {_FINAL}
                FOR NO KEY UPDATE
            )
            UPDATE tasks t SET status = 'CANCELLED', error = %s, finished_at = now()
            FROM before WHERE t.id = before.id
            RETURNING {_QUALIFIED_COLUMNS}, before.status AS previous_status""",
        (task_id, org_id, Jsonb(error)),
    ).fetchone()
    if row is None:
        return None
    previous = TaskStatus(row.pop("previous_status"))
    return Task.model_validate(row), previous


def add_event(
    conn: DbConnection,
    task_id: UUID,
    org_id: UUID,
    event_type: EventType,
    message: str,
    data: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        "INSERT INTO task_events (task_id, org_id, type, message, data) VALUES (%s, %s, %s, %s, %s)",
        (task_id, org_id, event_type.value, message, Jsonb(data or {})),
    )


def list_events(conn: DbConnection, task_id: UUID, org_id: UUID) -> list[TaskEvent]:
    rows = conn.execute(
        "SELECT id, type, message, data, created_at FROM task_events WHERE task_id = %s AND org_id = %s ORDER BY id",
        (task_id, org_id),
    ).fetchall()
    return [TaskEvent.model_validate(r) for r in rows]


def create_tool_call(
    conn: DbConnection, task_id: UUID, org_id: UUID, step: int, tool: str, args: dict[str, Any]
) -> ToolCall:
    row = conn.execute(
        """INSERT INTO tool_calls (task_id, org_id, step, tool, args) VALUES (%s, %s, %s, %s, %s)
           RETURNING id, task_id, org_id, step, tool, args, status, error_code, error_message, result_key,
                     requested_at, completed_at""",
        (task_id, org_id, step, tool, Jsonb(args)),
    ).fetchone()
    return ToolCall.model_validate(row)


def set_result_key(conn: DbConnection, tool_call_id: UUID, org_id: UUID, result_key: str) -> None:
    """Records the S3 key issued with the request: the only key a large result may be read from."""
    conn.execute(
        "UPDATE tool_calls SET result_key = %s WHERE id = %s AND org_id = %s", (result_key, tool_call_id, org_id)
    )


def complete_tool_call(
    conn: DbConnection,
    tool_call_id: UUID,
    org_id: UUID,
    *,
    ok: bool,
    error_code: str | None = None,
    error_message: str | None = None,
    result_bytes: int | None = None,
) -> bool:
    """Records the outcome once; False when it was already recorded (a duplicate delivery)."""
    row = conn.execute(
        """UPDATE tool_calls SET status = %s, error_code = %s, error_message = %s, result_bytes = %s,
                                 completed_at = clock_timestamp()
           WHERE id = %s AND org_id = %s AND status = 'REQUESTED' RETURNING id""",
        ("COMPLETED" if ok else "FAILED", error_code, error_message, result_bytes, tool_call_id, org_id),
    ).fetchone()
    return row is not None


def tool_call_at_step(conn: DbConnection, task_id: UUID, org_id: UUID, step: int) -> ToolCall | None:
    """The tool call a Think step already made (a step makes at most one)."""
    row = conn.execute(
        """SELECT id, task_id, org_id, step, tool, args, status, error_code, error_message, result_key,
                  requested_at, completed_at
           FROM tool_calls WHERE task_id = %s AND org_id = %s AND step = %s
           ORDER BY requested_at DESC LIMIT 1""",
        (task_id, org_id, step),
    ).fetchone()
    return ToolCall.model_validate(row) if row else None


def open_tool_call(conn: DbConnection, task_id: UUID, org_id: UUID) -> ToolCall | None:
    row = conn.execute(
        """SELECT id, task_id, org_id, step, tool, args, status, error_code, error_message, result_key,
                  requested_at, completed_at
           FROM tool_calls WHERE task_id = %s AND org_id = %s AND status = 'REQUESTED'
           ORDER BY requested_at DESC LIMIT 1""",
        (task_id, org_id),
    ).fetchone()
    return ToolCall.model_validate(row) if row else None


def finish_output(conn: DbConnection, task_id: UUID, org_id: UUID, output: dict[str, Any]) -> None:
    conn.execute("UPDATE tasks SET output = %s WHERE id = %s AND org_id = %s", (Jsonb(output), task_id, org_id))


def fail_all_unfinished(conn: DbConnection, reason: str) -> list[tuple[UUID, UUID]]:
    """Platform maintenance: fails every task still PENDING/RUNNING, with the reason as an event; their
    (task id, org id)s."""
    rows: Any = conn.execute(
        """UPDATE tasks SET status = 'FAILED', finished_at = now(),
                  error = jsonb_build_object('error', 'Task.Orphaned', 'cause', %s::text)
           WHERE status IN ('PENDING', 'RUNNING') RETURNING id, org_id""",
        (reason,),
    ).fetchall()
    for row in rows:
        add_event(
            conn,
            row["id"],
            row["org_id"],
            EventType.TASK_FAILED,
            f"Task.Orphaned: {reason}",
            {
                "error": "Task.Orphaned",
                "cause": reason,
            },
        )
    return [(row["id"], row["org_id"]) for row in rows]


def running_task_of_type(conn: DbConnection, agent_id: UUID, org_id: UUID, task_type: str) -> UUID | None:
    row: Any = conn.execute(
        """SELECT id FROM tasks WHERE agent_id = %s AND org_id = %s AND type = %s AND status = 'RUNNING'
           ORDER BY started_at LIMIT 1""",
        (agent_id, org_id, task_type),
    ).fetchone()
    return UUID(str(row["id"])) if row else None


def running_started_before(conn: DbConnection, cutoff: datetime, limit: int | None = 500) -> list[Task]:
    """Platform maintenance (the sweeper): RUNNING tasks of every organisation started before cutoff, oldest first,
    at most `limit` (None: all of them)."""
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM tasks WHERE status = 'RUNNING' AND started_at < %s ORDER BY started_at
            LIMIT %s""",
        (cutoff, limit),
    ).fetchall()
    return [Task.model_validate(r) for r in rows]


def pending_created_before(conn: DbConnection, cutoff: datetime, limit: int = 500) -> list[Task]:
    """Platform maintenance (the sweeper): PENDING tasks of every organisation created before cutoff, oldest
    first, at most `limit`."""
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM tasks WHERE status = 'PENDING' AND created_at < %s ORDER BY created_at
            LIMIT %s""",
        (cutoff, limit),
    ).fetchall()
    return [Task.model_validate(r) for r in rows]


class TaskFilter(BaseModel):
    agent_id: UUID | None = None
    status: TaskStatus | None = None
    type: str | None = None
    limit: int = 50
    offset: int = 0


def list_tasks(conn: DbConnection, org_id: UUID | None, where: TaskFilter) -> tuple[list[Task], int]:
    """One page of the organisation's tasks, newest first, and the total that match.
    `org_id=None` spans every organisation: only the platform-admin route passes it."""
    params = {
        "org_id": org_id,
        "agent_id": where.agent_id,
        "status": where.status.value if where.status else None,
        "type": where.type,
        "limit": where.limit,
        "offset": where.offset,
    }
    condition = """(%(org_id)s::uuid IS NULL OR org_id = %(org_id)s::uuid)
                   AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
                   AND (%(status)s::text IS NULL OR status = %(status)s::text)
                   AND (%(type)s::text IS NULL OR type = %(type)s::text)"""
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM tasks WHERE {condition}
            ORDER BY created_at DESC, id LIMIT %(limit)s OFFSET %(offset)s""",
        params,
    ).fetchall()
    total: Any = conn.execute(f"SELECT count(*) AS n FROM tasks WHERE {condition}", params).fetchone()
    return [Task.model_validate(r) for r in rows], int(total["n"]) if total else 0


def creator_email(conn: DbConnection, task_id: UUID, org_id: UUID) -> str | None:
    """The e-mail of the person who started the task (none for a schedule's, or once their account is gone)."""
    row = conn.execute(
        """SELECT u.email FROM tasks t JOIN users u ON u.id = t.created_by WHERE t.id = %s AND t.org_id = %s""",
        (task_id, org_id),
    ).fetchone()
    return str(row["email"]) if row else None

"""Users."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from phi.db.connection import DbConnection
from phi.domain.models import User, UserWithPassword
from phi.errors import Conflict

_COLUMNS = "id, email, full_name, is_platform_admin, created_at, sessions_ended_at"


def create_user(conn: DbConnection, email: str, password_hash: str, full_name: str | None) -> User:
    try:
        row = conn.execute(
            f"INSERT INTO users (email, password_hash, full_name) VALUES (%s, %s, %s) RETURNING {_COLUMNS}",
            (email, password_hash, full_name),
        ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict("An account with this email already exists.") from exc
    return User.model_validate(row)


def get_user(conn: DbConnection, user_id: UUID) -> User | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = %s", (user_id,)).fetchone()
    return User.model_validate(row) if row else None


def get_user_by_email(conn: DbConnection, email: str) -> UserWithPassword | None:
    row = conn.execute(
        f"SELECT {_COLUMNS}, password_hash FROM users WHERE lower(email) = lower(%s)", (email,)
    ).fetchone()
    return UserWithPassword.model_validate(row) if row else None


def update_user(conn: DbConnection, user_id: UUID, full_name: str | None) -> User:
    row = conn.execute(
        f"UPDATE users SET full_name = %s WHERE id = %s RETURNING {_COLUMNS}", (full_name, user_id)
    ).fetchone()
    return User.model_validate(row)


def lock_login_attempts(conn: DbConnection, email: str, client_ip: str) -> None:
    """Serialises log-ins for one email and address until the transaction ends: without it, attempts sent at
    once all read the failure count before any of them records a failure, and every one gets its password
    checked (a burst of 30 had 27 checked under a limit of 5)."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('login ' || lower(%s) || ' ' || %s, 0))", (email, client_ip)
    )


def record_login_failure(conn: DbConnection, email: str, client_ip: str, window_seconds: int) -> None:
    """Records a failure and removes every failure that has left the window (any email's and address's: a
    client trying many emails leaves failures for pairs that are never tried again), so the table stays small."""
    conn.execute("DELETE FROM login_attempts WHERE attempted_at < now() - make_interval(secs => %s)", (window_seconds,))
    conn.execute(
        "INSERT INTO login_attempts (email, client_ip, succeeded) VALUES (lower(%s), %s, false)",
        (email, client_ip),
    )


def recent_login_failures(
    conn: DbConnection, email: str, client_ip: str, window_seconds: int
) -> tuple[int, datetime | None]:
    """Failures for this email from this address within the window, and when the oldest of them happened."""
    row: Any = conn.execute(
        """SELECT count(*) AS failures, min(attempted_at) AS oldest FROM login_attempts
           WHERE lower(email) = lower(%s) AND client_ip = %s AND NOT succeeded
             AND attempted_at > now() - make_interval(secs => %s)""",
        (email, client_ip, window_seconds),
    ).fetchone()
    assert row is not None
    return int(row["failures"]), row["oldest"]


def clear_login_failures(conn: DbConnection, email: str, client_ip: str) -> None:
    """After a successful login the earlier failures of this email from this address no longer count."""
    conn.execute("DELETE FROM login_attempts WHERE lower(email) = lower(%s) AND client_ip = %s", (email, client_ip))


def end_sessions(conn: DbConnection, user_id: UUID) -> None:
    """Tokens issued before now stop working."""
    conn.execute("UPDATE users SET sessions_ended_at = clock_timestamp() WHERE id = %s", (user_id,))


def set_password(conn: DbConnection, user_id: UUID, password_hash: str, sessions_ended_at: datetime) -> None:
    """A new password; tokens issued before `sessions_ended_at` stop working."""
    conn.execute(
        "UPDATE users SET password_hash = %s, sessions_ended_at = %s WHERE id = %s",
        (password_hash, sessions_ended_at, user_id),
    )

"""Users."""

from __future__ import annotations

from uuid import UUID

import psycopg

from phi.domain.models import User, UserWithPassword
from phi.errors import Conflict

_COLUMNS = "id, email, full_name, is_platform_admin, created_at"


def create_user(conn: psycopg.Connection, email: str, password_hash: str, full_name: str | None) -> User:
    try:
        row = conn.execute(
            f"INSERT INTO users (email, password_hash, full_name) VALUES (%s, %s, %s) RETURNING {_COLUMNS}",
            (email, password_hash, full_name),
        ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict("An account with this email already exists.") from exc
    return User.model_validate(row)


def get_user(conn: psycopg.Connection, user_id: UUID) -> User | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = %s", (user_id,)).fetchone()
    return User.model_validate(row) if row else None


def get_user_by_email(conn: psycopg.Connection, email: str) -> UserWithPassword | None:
    row = conn.execute(
        f"SELECT {_COLUMNS}, password_hash FROM users WHERE lower(email) = lower(%s)", (email,)
    ).fetchone()
    return UserWithPassword.model_validate(row) if row else None

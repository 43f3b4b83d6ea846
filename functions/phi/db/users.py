"""Users."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from pydantic import BaseModel

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


def get_user_with_password(conn: DbConnection, user_id: UUID) -> UserWithPassword | None:
    row = conn.execute(f"SELECT {_COLUMNS}, password_hash FROM users WHERE id = %s", (user_id,)).fetchone()
    return UserWithPassword.model_validate(row) if row else None


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


def lock_login_attempts(conn: DbConnection, email: str) -> None:
    """Serialises log-ins for one email until the transaction ends: without it, attempts sent at once all read the
    failure counts before any of them records a failure, and every one gets its password checked (a burst of 30
    had 27 checked under a limit of 5)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('login ' || lower(%s), 0))", (email,))


def lock_login_network(conn: DbConnection, network: str) -> None:
    """Serialises log-ins from one client network until the transaction ends (taken after the email's lock, always
    in that order): attempts at many emails sent at once would otherwise all read the network's count before any
    of them records its failure."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('login-network ' || %s, 0))", (network,))


def record_login_failure(
    conn: DbConnection, email: str, client_ip: str, window_seconds: int, network: str | None = None
) -> None:
    """Records a failure (with the client's network when it is counted across emails) and removes every failure
    that has left the window (any email's and address's: a client trying many emails leaves failures for pairs
    that are never tried again), so the table stays small."""
    conn.execute("DELETE FROM login_attempts WHERE attempted_at < now() - make_interval(secs => %s)", (window_seconds,))
    conn.execute(
        "INSERT INTO login_attempts (email, client_ip, client_network, succeeded) VALUES (lower(%s), %s, %s, false)",
        (email, client_ip, network),
    )


class LoginFailures(BaseModel):
    from_address: int
    oldest_from_address: datetime | None
    from_anywhere: int
    nth_newest_from_anywhere: datetime | None  # the account-wide count falls below n when this one leaves the window


def recent_login_failures(conn: DbConnection, email: str, client_ip: str, window_seconds: int, n: int) -> LoginFailures:
    """Failures for this email within the window: from this address (and the oldest of them), and from every
    address (and the n-th newest of them)."""
    row: Any = conn.execute(
        """WITH recent AS (
               SELECT client_ip, attempted_at FROM login_attempts
               WHERE lower(email) = lower(%(email)s) AND NOT succeeded
                 AND attempted_at > now() - make_interval(secs => %(window)s))
           SELECT count(*) FILTER (WHERE client_ip = %(ip)s) AS from_address,
                  min(attempted_at) FILTER (WHERE client_ip = %(ip)s) AS oldest_from_address,
                  count(*) AS from_anywhere,
                  (SELECT attempted_at FROM recent ORDER BY attempted_at DESC OFFSET %(nth)s LIMIT 1)
                      AS nth_newest_from_anywhere
           FROM recent""",
        {"email": email, "window": window_seconds, "ip": client_ip, "nth": max(n - 1, 0)},
    ).fetchone()
    assert row is not None
    return LoginFailures.model_validate(row)


class NetworkFailures(BaseModel):
    count: int
    nth_newest: datetime | None  # the network-wide count falls below n when this one leaves the window


def recent_failures_from_network(conn: DbConnection, network: str, window_seconds: int, n: int) -> NetworkFailures:
    """Failures from this client network within the window, whatever the email (at most n counted), and the n-th
    newest of them (None while fewer than n)."""
    row: Any = conn.execute(
        """WITH recent AS (
               SELECT attempted_at FROM login_attempts
               WHERE client_network = %(network)s AND NOT succeeded
                 AND attempted_at > now() - make_interval(secs => %(window)s)
               ORDER BY attempted_at DESC LIMIT %(n)s)
           SELECT count(*) AS count, min(attempted_at) AS nth_newest FROM recent""",
        {"network": network, "window": window_seconds, "n": n},
    ).fetchone()
    assert row is not None
    found = NetworkFailures.model_validate(row)
    return found if found.count >= n else found.model_copy(update={"nth_newest": None})


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

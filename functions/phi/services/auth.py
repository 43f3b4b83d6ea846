"""Logging in, with failed attempts counted per email and client address in PostgreSQL
(Lambda instances share no memory, so an in-process counter would reset with every cold start)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from phi.db import users as users_repo
from phi.db.connection import api_transaction
from phi.domain.models import User
from phi.errors import RateLimited, Unauthorized
from phi.services.security import hash_password, verify_password

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified when the email is unknown, so that a wrong email costs as long as a wrong password."""
    return hash_password("phi-timing-equaliser")


def retry_after_seconds(oldest_failure: datetime, now: datetime) -> int:
    """Seconds until the oldest counted failure leaves the window (at least 1)."""
    remaining = (oldest_failure + timedelta(seconds=WINDOW_SECONDS) - now).total_seconds()
    return max(1, math.ceil(remaining))


def authenticate(email: str, password: str, client_ip: str) -> User:
    # Its own transaction (a failure is committed even though the request fails), under the API's statement limit.
    with api_transaction() as conn:
        users_repo.lock_login_attempts(conn, email, client_ip)  # count, check and record as one step
        failures, oldest = users_repo.recent_login_failures(conn, email, client_ip, WINDOW_SECONDS)
        if failures >= MAX_FAILURES and oldest is not None:
            wait = retry_after_seconds(oldest, datetime.now(UTC))
            raise RateLimited(
                f"Too many failed log-ins for this account; try again in {wait} seconds.",
                details={"retry_after_seconds": wait},
            )
        found = users_repo.get_user_by_email(conn, email)
        if found is not None and verify_password(found.password_hash, password):
            users_repo.clear_login_failures(conn, email, client_ip)
            return User.model_validate(found.model_dump())
        if found is None:
            verify_password(_dummy_hash(), password)
        users_repo.record_login_failure(conn, email, client_ip, WINDOW_SECONDS)
    # Raised after the commit: the failure must be counted even though the request fails.
    raise Unauthorized("Wrong email or password.")

"""Logging in, with failed attempts counted in PostgreSQL (Lambda instances share no memory, so an in-process
counter would reset with every cold start): per email and client address, per email from every address (guessing
one account's password from many addresses), and per address across every email (password spraying: one
password tried against many accounts, a few times each)."""

from __future__ import annotations

import ipaddress
import math
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from uuid import UUID

from pydantic import BaseModel

from phi.db import users as users_repo
from phi.db.connection import DbConnection, api_transaction
from phi.domain.models import User
from phi.errors import BadRequest, RateLimited, Unauthorized, WrongPassword
from phi.services.security import ensure_session_live, hash_password, issue_access_token, verify_password

MAX_FAILURES = 5  # per email and client address
# Per email, from every address: far above what one person mistypes, so only a spread-out guessing campaign meets
# it; it then also refuses the account's owner until the window passes (the price of bounding that campaign).
MAX_ACCOUNT_FAILURES = 50
# Per client network (the address; an IPv6 address's /64, which one client holds whole), whatever the email: far
# above a shared office's mistyped passwords, far below a spraying campaign's list of accounts. Loopback addresses
# are not counted: on the embedded stack every client is local (one machine, one address for all), and on AWS API
# Gateway never reports one.
MAX_ADDRESS_FAILURES = 100
WINDOW_SECONDS = 15 * 60


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified when the email is unknown, so that a wrong email costs as long as a wrong password."""
    return hash_password("phi-timing-equaliser")


def retry_after_seconds(oldest_failure: datetime, now: datetime) -> int:
    """Seconds until the oldest counted failure leaves the window (at least 1)."""
    remaining = (oldest_failure + timedelta(seconds=WINDOW_SECONDS) - now).total_seconds()
    return max(1, math.ceil(remaining))


def _refuse_when_throttled(conn: DbConnection, email: str, client_ip: str) -> str | None:
    """Refuses the attempt when a limit is reached; else the client's network (None when it is not counted across
    emails), to be recorded with a failure."""
    users_repo.lock_login_attempts(conn, email)  # count, check and record as one step
    network = client_network(client_ip)
    if network is not None:
        users_repo.lock_login_network(conn, network)
    failures = users_repo.recent_login_failures(conn, email, client_ip, WINDOW_SECONDS, MAX_ACCOUNT_FAILURES)
    oldest, limited = None, "for this account"
    if failures.from_address >= MAX_FAILURES:
        oldest = failures.oldest_from_address
    elif failures.from_anywhere >= MAX_ACCOUNT_FAILURES:
        oldest = failures.nth_newest_from_anywhere
    elif network is not None:
        found = users_repo.recent_failures_from_network(conn, network, WINDOW_SECONDS, MAX_ADDRESS_FAILURES)
        oldest, limited = found.nth_newest, "from this address"
    if oldest is not None:
        wait = retry_after_seconds(oldest, datetime.now(UTC))
        raise RateLimited(
            f"Too many failed log-ins {limited}; try again in {wait} seconds.", details={"retry_after_seconds": wait}
        )
    return network


def client_network(client_ip: str) -> str | None:
    """The network whose failures are counted together across emails: the address itself for IPv4, its /64 for
    IPv6 (one client holds a whole /64), the text as it came when it is no address ('unknown'); None for loopback
    (see MAX_ADDRESS_FAILURES)."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip
    if address.is_loopback:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # '::ffff:198.51.100.7' is that IPv4 client
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def authenticate(email: str, password: str, client_ip: str) -> User:
    # Its own transaction (a failure is committed even though the request fails), under the API's statement limit.
    with api_transaction() as conn:
        network = _refuse_when_throttled(conn, email, client_ip)
        found = users_repo.get_user_by_email(conn, email)
        if found is not None and verify_password(found.password_hash, password):
            users_repo.clear_login_failures(conn, email, client_ip)
            return User.model_validate(found.model_dump())
        if found is None:
            verify_password(_dummy_hash(), password)
        users_repo.record_login_failure(conn, email, client_ip, WINDOW_SECONDS, network)
    # Raised after the commit: the failure must be counted even though the request fails.
    raise Unauthorized("Wrong email or password.")


class PasswordChanged(BaseModel):
    user: User
    access_token: str
    expires_in: int


def change_password(
    user_id: UUID, session_token: str, current_password: str, new_password: str, client_ip: str
) -> PasswordChanged:
    """Replaces the caller's password once the current one is proved, ends every session issued before (a
    password is changed because it may be known to someone else) and issues the caller a new access token.

    A wrong current password counts as a failed log-in for the account's email from this address: a stolen
    session must not become a way round the log-in limit to guess the password. One transaction of its own
    (the request's would roll the failure back with the error), so the route takes no other connection."""
    if new_password == current_password:
        raise BadRequest("The new password must differ from the current one.", details={"field": "new_password"})
    with api_transaction() as conn:
        user = users_repo.get_user_with_password(conn, user_id)
        if user is None:
            raise Unauthorized("The access token is not valid.")
        ensure_session_live(user, session_token)
        network = _refuse_when_throttled(conn, user.email, client_ip)
        proved = verify_password(user.password_hash, current_password)
        if not proved:
            users_repo.record_login_failure(conn, user.email, client_ip, WINDOW_SECONDS, network)
        else:
            users_repo.clear_login_failures(conn, user.email, client_ip)
            # One instant for both: tokens issued before it stop working, the new one (issued at it) does not.
            now = datetime.now(UTC)
            users_repo.set_password(conn, user.id, hash_password(new_password), sessions_ended_at=now)
            token, ttl = issue_access_token(user.id, issued_at=now)
    if not proved:  # raised after the commit, so that the failure is counted
        raise WrongPassword("The current password is wrong.", details={"field": "current_password"})
    return PasswordChanged(user=user, access_token=token, expires_in=ttl)

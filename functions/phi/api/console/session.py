"""The console's session and CSRF protection.

The session is the API's own access token (the same JWT, the same expiry) kept in an HttpOnly, SameSite=Lax
cookie scoped to the console's path, so page scripts never see it and other sites' pages never send it on a
POST. Every state-changing request carries a CSRF token in the form's hidden `csrf_token` field or, for htmx
requests, in the `X-CSRF-Token` header. With a session the token is bound to it (a MAC of the session's access
token, `session_csrf_token`), so a CSRF cookie planted by someone else proves nothing; before log-in (the log-in
and sign-up forms) it is a double submit of a random second cookie."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request, Response

from phi.db import users as users_repo
from phi.db.connection import DbConnection, api_transaction
from phi.domain.models import User
from phi.errors import Forbidden, Unauthorized
from phi.services.security import ensure_session_live, session_csrf_token, user_id_from_token

SESSION_COOKIE = "phi_console_session"
CSRF_COOKIE = "phi_console_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_COOKIE_SECONDS = 7 * 24 * 3600


def console_root(request: Request) -> str:
    """The console's URL path, under the API Gateway stage when there is one (StageRootPath)."""
    return f"{request.scope.get('root_path', '')}/console"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _expected_csrf(request: Request) -> str | None:
    """The token a form of this browser must carry: its session's, or without a session the CSRF cookie's."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return session_csrf_token(session)
    existing = request.cookies.get(CSRF_COOKIE)
    return existing if existing and 20 <= len(existing) <= 100 else None


def csrf_token(request: Request) -> str:
    """The CSRF token for this browser's forms: the expected one, or a new random one for the CSRF cookie (set on
    the response by `render`) when the browser has neither a session nor that cookie yet."""
    expected = _expected_csrf(request)
    if expected:
        return expected
    token = getattr(request.state, "new_csrf_token", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf_token = token
    return str(token)


def remember_csrf(request: Request, response: Response) -> None:
    """Sets the CSRF cookie when this request created the token."""
    token = getattr(request.state, "new_csrf_token", None)
    if token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            max_age=CSRF_COOKIE_SECONDS,
            path=console_root(request),
            httponly=True,  # the pages carry it in their forms; no script needs to read the cookie
            samesite="lax",
            secure=_secure(request),
        )


async def check_csrf(request: Request) -> None:
    """Refuses a state-changing request whose CSRF token is missing or differs from the expected one."""
    expected = _expected_csrf(request) or ""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise Forbidden("This form has expired or did not come from the console; reload the page and try again.")


CsrfChecked = Depends(check_csrf)


async def form_fields(request: Request) -> dict[str, list[str]]:
    """A form's text fields by name, each with every value sent (ticked checkboxes send their name once each), for
    a form whose fields are made from data (a tool's settings); the form is parsed once per request."""
    fields: dict[str, list[str]] = {}
    for name, value in (await request.form()).multi_items():
        if isinstance(value, str):
            fields.setdefault(name, []).append(value)
    return fields


FormFields = Annotated[dict[str, list[str]], Depends(form_fields)]


def start_session(request: Request, response: Response, token: str, ttl_seconds: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ttl_seconds,
        path=console_root(request),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=console_root(request), httponly=True, samesite="lax")


def session_user_id(request: Request) -> UUID:
    """The user the session cookie's token names: checked before any database access."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized("Log in to use the console.")
    return user_id_from_token(token)


def console_conn(_: Annotated[UUID, Depends(session_user_id)]) -> Iterator[DbConnection]:
    with api_transaction() as conn:
        yield conn


ConsoleConn = Annotated[DbConnection, Depends(console_conn, scope="function")]


def console_user(request: Request, user_id: Annotated[UUID, Depends(session_user_id)], conn: ConsoleConn) -> User:
    user = users_repo.get_user(conn, user_id)
    if user is None:
        raise Unauthorized("Your session has ended; log in again.")
    ensure_session_live(user, request.cookies.get(SESSION_COOKIE, ""))
    return user


def end_all_sessions(request: Request) -> None:
    """Log-out: every token the user holds (this cookie, other browsers', API bearer tokens) stops working."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return
    try:
        user_id = user_id_from_token(token)
    except Unauthorized:
        return  # expired or forged: nothing to end
    with api_transaction() as conn:
        users_repo.end_sessions(conn, user_id)


ConsoleUser = Annotated[User, Depends(console_user)]

"""Passwords (argon2), access tokens (JWT, HS256) and agent keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from uuid import UUID

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel

from phi.domain.models import User
from phi.errors import Unauthorized
from phi.settings import get_settings

_hasher = PasswordHasher()
_ALGORITHM = "HS256"
AGENT_KEY_PREFIX = "phi_ak_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _jwt_secret() -> str:
    settings = get_settings()
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    if settings.jwt_secret_arn:
        from phi.aws import client

        return str(client("secretsmanager").get_secret_value(SecretId=settings.jwt_secret_arn)["SecretString"])
    raise RuntimeError("No JWT secret configured: set PHI_JWT_SECRET or PHI_JWT_SECRET_ARN")


def issue_access_token(user_id: UUID, issued_at: datetime | None = None) -> tuple[str, int]:
    ttl = get_settings().jwt_ttl_seconds
    now = issued_at or datetime.now(UTC)
    # `iat` keeps its microseconds: a log-out refuses tokens issued before it, and a log-in a moment later
    # must not fall in the same whole second.
    claims = {"sub": str(user_id), "iat": now.timestamp(), "exp": now + timedelta(seconds=ttl), "typ": "access"}
    return jwt.encode(claims, _jwt_secret(), algorithm=_ALGORITHM), ttl


class AccessToken(BaseModel):
    user_id: UUID
    issued_at: datetime


def read_access_token(token: str) -> AccessToken:
    try:
        # iat is required too (log-out compares it), but checked below: PyJWT checks required claims before
        # expiry, and an expired token should say that it expired.
        claims = jwt.decode(token, _jwt_secret(), algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The access token has expired; log in again.") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("The access token is not valid.") from exc
    if claims.get("typ") != "access":
        raise Unauthorized("The access token is not valid.")
    try:
        return AccessToken(user_id=UUID(str(claims["sub"])), issued_at=datetime.fromtimestamp(claims["iat"], UTC))
    except (KeyError, ValueError, TypeError, OverflowError):  # validly signed, but not a token this service issued
        raise Unauthorized("The access token is not valid.") from None


def user_id_from_token(token: str) -> UUID:
    return read_access_token(token).user_id


def ensure_session_live(user: User, token: str) -> None:
    """Refuses a token issued before the user logged out (everywhere: the API and the console)."""
    if user.sessions_ended_at is not None and read_access_token(token).issued_at < user.sessions_ended_at:
        raise Unauthorized("This session was logged out; log in again.")


def session_csrf_token(session_token: str) -> str:
    """The console's CSRF token for a session: a MAC of its access token under the signing secret. It changes
    with every log-in, and only the server can pair a token with a session, so a CSRF cookie written into the
    browser by someone else (a sibling domain, a plain-HTTP answer) does not make that someone's form valid."""
    message = b"console-csrf\x00" + session_token.encode()
    digest = hmac.new(_jwt_secret().encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_agent_key() -> tuple[str, str, str]:
    """A fresh agent key: (key shown once, its display prefix, its hash)."""
    prefix = secrets.token_hex(4)
    key = f"{AGENT_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, f"{AGENT_KEY_PREFIX}{prefix}", hash_agent_key(key)


def hash_agent_key(key: str) -> str:
    return hash_secret_token(key)


def new_invitation_token() -> tuple[str, str]:
    """A fresh invitation token: (the token, for the invitee's e-mail only, its hash, the only thing stored)."""
    token = secrets.token_urlsafe(32)
    return token, hash_secret_token(token)


def hash_secret_token(token: str) -> str:
    """SHA-256 of a random token (an agent key, an invitation): enough for 256 random bits, which no one can
    guess from the hash, and it lets the token be looked up by its hash."""
    return hashlib.sha256(token.encode()).hexdigest()

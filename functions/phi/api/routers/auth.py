"""Sign-up, log-in and the caller's own profile."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from phi.api.deps import BearerToken, ClientIp, Conn, CurrentUser, PublicConn, TokenUserId
from phi.db import orgs as orgs_repo
from phi.db import users as users_repo
from phi.domain.models import Organization, User
from phi.domain.request_body import RequestBody
from phi.services.auth import (
    MAX_ACCOUNT_FAILURES,
    MAX_ADDRESS_FAILURES,
    MAX_FAILURES,
    WINDOW_SECONDS,
    authenticate,
    change_password,
)
from phi.services.security import hash_password, issue_access_token

router = APIRouter(tags=["auth"])


class SignupRequest(RequestBody):
    email: EmailStr = Field(examples=["ana@example.com"])
    password: str = Field(min_length=10, max_length=256, examples=["correct horse battery"])
    full_name: str | None = Field(default=None, max_length=200, examples=["Ana Ortiz"])


class LoginRequest(RequestBody):
    email: EmailStr = Field(examples=["ana@example.com"])
    password: str = Field(min_length=1, max_length=256, examples=["correct horse battery"])


class PasswordChange(RequestBody):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=10, max_length=256, examples=["a longer passphrase this time"])


class TokenResponse(BaseModel):
    access_token: str = Field(description="Send as 'Authorization: Bearer <token>'")
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires", examples=[3600])
    user: User


class MeResponse(BaseModel):
    user: User
    organizations: list[Organization] = Field(description="The caller's organisations with the caller's role in each")


class MeUpdate(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"full_name": "Ana Ortiz-Marsh"}]})

    full_name: str | None = Field(max_length=200)


@router.post(
    "/auth/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenResponse,
    summary="Create an account",
)
def signup(body: SignupRequest, conn: PublicConn) -> TokenResponse:
    """Creates the account (password stored as an argon2 hash) and returns an access token."""
    user = users_repo.create_user(conn, body.email, hash_password(body.password), body.full_name)
    token, ttl = issue_access_token(user.id)
    return TokenResponse(access_token=token, expires_in=ttl, user=user)


@router.post(
    "/auth/login",
    response_model=TokenResponse,
    summary="Log in",
    description=f"Returns an access token (JWT). After {MAX_FAILURES} failed attempts for one email from one "
    f"address, {MAX_ACCOUNT_FAILURES} for one email from every address or {MAX_ADDRESS_FAILURES} from one address "
    f"across every email within {WINDOW_SECONDS // 60} minutes, answers 429 `rate_limited` with a Retry-After header.",
)
def login(body: LoginRequest, ip: ClientIp) -> TokenResponse:
    user = authenticate(body.email, body.password, ip)
    token, ttl = issue_access_token(user.id)
    return TokenResponse(access_token=token, expires_in=ttl, user=user)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Log out everywhere",
    description="Every access token issued to the caller until now stops working (other devices and the "
    "console included); log in again for a new one.",
)
def logout(user: CurrentUser, conn: Conn) -> None:
    users_repo.end_sessions(conn, user.id)


@router.post(
    "/auth/password",
    response_model=TokenResponse,
    summary="Change the caller's password",
    description="Needs the current password (403 `wrong_password`; wrong attempts count towards the log-in "
    f"limit: after {MAX_FAILURES}, 429 `rate_limited`). Every access token issued before stops working, on every "
    "device and the console; the answer carries a new one.",
)
def password(body: PasswordChange, user_id: TokenUserId, token: BearerToken, ip: ClientIp) -> TokenResponse:
    changed = change_password(user_id, token, body.current_password, body.new_password, ip)
    return TokenResponse(access_token=changed.access_token, expires_in=changed.expires_in, user=changed.user)


@router.get("/me", response_model=MeResponse, summary="The caller and their organisations")
def me(user: CurrentUser, conn: Conn) -> MeResponse:
    return MeResponse(user=user, organizations=orgs_repo.list_orgs_for_user(conn, user.id))


@router.patch("/me", response_model=User, summary="Change the caller's own details")
def update_me(body: MeUpdate, user: CurrentUser, conn: Conn) -> User:
    return users_repo.update_user(conn, user.id, body.full_name)

"""Sign-up, log-in and the caller's own profile."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, EmailStr, Field

from phi.api.deps import Conn, CurrentUser
from phi.db import orgs as orgs_repo
from phi.db import users as users_repo
from phi.domain.models import Organization, User
from phi.errors import Unauthorized
from phi.services.security import hash_password, issue_access_token, verify_password

router = APIRouter(tags=["auth"])


class SignupRequest(BaseModel):
    email: EmailStr = Field(examples=["ana@example.com"])
    password: str = Field(min_length=10, max_length=256, examples=["correct horse battery"])
    full_name: str | None = Field(default=None, max_length=200, examples=["Ana Ortiz"])


class LoginRequest(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: User


class MeResponse(BaseModel):
    user: User
    organizations: list[Organization]


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED, response_model=TokenResponse)
def signup(body: SignupRequest, conn: Conn) -> TokenResponse:
    user = users_repo.create_user(conn, body.email, hash_password(body.password), body.full_name)
    token, ttl = issue_access_token(user.id)
    return TokenResponse(access_token=token, expires_in=ttl, user=user)


@router.post("/auth/login", response_model=TokenResponse)
def login(body: LoginRequest, conn: Conn) -> TokenResponse:
    found = users_repo.get_user_by_email(conn, body.email)
    if found is None or not verify_password(found.password_hash, body.password):
        raise Unauthorized("Wrong email or password.")
    token, ttl = issue_access_token(found.id)
    return TokenResponse(access_token=token, expires_in=ttl, user=User.model_validate(found.model_dump()))


@router.get("/me", response_model=MeResponse)
def me(user: CurrentUser, conn: Conn) -> MeResponse:
    return MeResponse(user=user, organizations=orgs_repo.list_orgs_for_user(conn, user.id))

"""Request dependencies: a database transaction, the caller (JWT or agent key), scoped lookups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from uuid import UUID

import psycopg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from phi.db import agent_keys as keys_repo
from phi.db import agents as agents_repo
from phi.db import orgs as orgs_repo
from phi.db import tasks as tasks_repo
from phi.db import users as users_repo
from phi.db.connection import transaction
from phi.domain.models import Agent, AgentKey, Organization, Task, User
from phi.errors import NotFound, Unauthorized
from phi.services.security import hash_agent_key, user_id_from_token

_bearer = HTTPBearer(auto_error=False)


def get_conn() -> Iterator[psycopg.Connection]:
    with transaction() as conn:
        yield conn


# "function" scope: commit before the response is sent, so a client never reads ahead of its own write.
Conn = Annotated[psycopg.Connection, Depends(get_conn, scope="function")]
BearerToken = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    return credentials.credentials


def current_user(conn: Conn, credentials: BearerToken) -> User:
    user = users_repo.get_user(conn, user_id_from_token(_token(credentials)))
    if user is None:
        raise Unauthorized("The access token is not valid.")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def current_agent_key(conn: Conn, credentials: BearerToken) -> AgentKey:
    key = keys_repo.use_key(conn, hash_agent_key(_token(credentials)))
    if key is None:
        raise Unauthorized("The agent key is not valid or has been revoked.")
    return key


CurrentAgentKey = Annotated[AgentKey, Depends(current_agent_key)]


def org_of_caller(org_id: UUID, conn: Conn, user: CurrentUser) -> Organization:
    org = orgs_repo.get_org_for_user(conn, org_id, user.id)
    if org is None:
        raise NotFound("Organisation not found.")
    return org


CallerOrg = Annotated[Organization, Depends(org_of_caller)]


def agent_of_caller(agent_id: UUID, conn: Conn, user: CurrentUser) -> Agent:
    agent = agents_repo.get_agent_for_user(conn, agent_id, user.id)
    if agent is None:
        raise NotFound("Agent not found.")
    return agent


CallerAgent = Annotated[Agent, Depends(agent_of_caller)]


def task_of_caller(task_id: UUID, conn: Conn, user: CurrentUser) -> Task:
    task = tasks_repo.get_task_for_user(conn, task_id, user.id)
    if task is None:
        raise NotFound("Task not found.")
    return task


CallerTask = Annotated[Task, Depends(task_of_caller)]


def api_url(request: Request) -> str:
    from phi.settings import get_settings

    configured = get_settings().api_url
    return configured if configured else str(request.base_url).rstrip("/")

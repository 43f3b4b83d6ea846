"""Request dependencies: a database transaction, the caller (JWT or agent key), scoped lookups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from phi.api.console import PREFIX as CONSOLE_PREFIX
from phi.db import agent_keys as keys_repo
from phi.db import agents as agents_repo
from phi.db import orgs as orgs_repo
from phi.db import tasks as tasks_repo
from phi.db import users as users_repo
from phi.db.connection import DbConnection, api_transaction
from phi.domain.models import Agent, AgentKey, Organization, OrgRole, Task, User, is_manager_role
from phi.errors import Forbidden, NotFound, Unauthorized
from phi.services.security import ensure_session_live, hash_agent_key, user_id_from_token
from phi.settings import get_settings

_bearer = HTTPBearer(auto_error=False)


def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    """The caller's bearer credential; answers 401 before anything touches the database or a secret."""
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    return credentials.credentials


BearerToken = Annotated[str, Depends(bearer_token)]


def get_conn(_: BearerToken) -> Iterator[DbConnection]:
    """A transaction for an authenticated route: it depends on the credential being present, so a request
    without one is refused before a connection (or, on AWS, the database secret) is fetched."""
    with api_transaction() as conn:
        yield conn


def get_public_conn() -> Iterator[DbConnection]:
    """A transaction for the few routes open without credentials (sign-up)."""
    with api_transaction() as conn:
        yield conn


# "function" scope: commit before the response is sent, so a client never reads ahead of its own write.
Conn = Annotated[DbConnection, Depends(get_conn, scope="function")]
PublicConn = Annotated[DbConnection, Depends(get_public_conn, scope="function")]


def token_user_id(token: BearerToken) -> UUID:
    """The user a valid access token names: checked (signature, expiry, claims) before any database access."""
    return user_id_from_token(token)


TokenUserId = Annotated[UUID, Depends(token_user_id)]


def current_user(user_id: TokenUserId, token: BearerToken, conn: Conn) -> User:
    user = users_repo.get_user(conn, user_id)
    if user is None:
        raise Unauthorized("The access token is not valid.")
    ensure_session_live(user, token)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def current_agent_key(token: BearerToken, conn: Conn) -> AgentKey:
    key = keys_repo.use_key(conn, hash_agent_key(token))
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


def is_manager(org: Organization) -> bool:
    """An owner or admin of the organisation: who manages its agents and members."""
    return is_manager_role(org.role)


def _require_admin_role(role: OrgRole | None) -> None:
    if not is_manager_role(role):
        raise Forbidden("Only an owner or admin of the organisation can do this.")


def admin_org(org: CallerOrg) -> Organization:
    _require_admin_role(org.role)
    return org


# Role checks are dependencies so that they answer before the request body is validated.
AdminOrg = Annotated[Organization, Depends(admin_org)]


def owner_org(org: CallerOrg) -> Organization:
    if org.role != OrgRole.OWNER:
        raise Forbidden("Only an owner of the organisation can do this.")
    return org


OwnerOrg = Annotated[Organization, Depends(owner_org)]


def role_in_agent_org(agent: CallerAgent, conn: Conn, user: CurrentUser) -> OrgRole | None:
    """The caller's role in the organisation of the agent of the path."""
    org = orgs_repo.get_org_for_user(conn, agent.org_id, user.id)
    return org.role if org else None


CallerAgentRole = Annotated[OrgRole | None, Depends(role_in_agent_org)]


def admin_agent(agent: CallerAgent, conn: Conn, user: CurrentUser) -> Agent:
    _require_admin_role(role_in_agent_org(agent, conn, user))
    return agent


AdminAgent = Annotated[Agent, Depends(admin_agent)]


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Page = Annotated[PageParams, Depends(page_params)]
TOTAL_COUNT_HEADER = "X-Total-Count"
# The paginated lists' response header, documented once for every list route.
LIST_HEADERS: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            TOTAL_COUNT_HEADER: {
                "description": "Items matching the filters, all pages",
                "schema": {"type": "integer"},
            }
        }
    }
}


def client_ip(request: Request) -> str:
    """The caller's address as the platform saw it, for the login limiter; never X-Forwarded-For, which any
    client can write. On AWS: API Gateway's own record of the connection (requestContext.identity.sourceIp of
    the REST API event, or requestContext.http.sourceIp of an HTTP API), from the event Mangum keeps in the
    scope. Elsewhere: the TCP peer (the embedded stack runs uvicorn without proxy headers)."""
    event = request.scope.get("aws.event")
    if isinstance(event, dict):
        context = event.get("requestContext") or {}
        source = (context.get("identity") or {}).get("sourceIp") or (context.get("http") or {}).get("sourceIp")
        return str(source) if source else "unknown"
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(client_ip)]


def api_url(request: Request) -> str:
    configured = get_settings().api_url
    return configured if configured else str(request.base_url).rstrip("/")


def console_url(request: Request) -> str:
    """The console's absolute URL, for links that leave the app (the link of an invitation e-mail): under
    PHI_API_URL when it is set, else under the URL the request reached (on API Gateway its domain and stage,
    which StageRootPath makes the root path)."""
    settings = get_settings()
    base = settings.api_url if "api_url" in settings.model_fields_set else str(request.base_url)
    return base.rstrip("/") + CONSOLE_PREFIX


def platform_admin(user: CurrentUser) -> User:
    if not user.is_platform_admin:
        raise Forbidden("Only platform administrators can do this.")
    return user


PlatformAdmin = Annotated[User, Depends(platform_admin)]

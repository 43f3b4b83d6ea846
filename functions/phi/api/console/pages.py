"""Console pages: log-in and sign-up, the organisations dashboard, an organisation's overview, fleet and
members (with its invitations, and the invitee's page that accepts one), and the platform administrators' task
list.

Every page goes through the API's own rules: the organisation is looked up through the caller's membership
(`org_of_caller`, so another organisation's URL is "not found"), role checks are the API's (`admin_org`), and
changes go through the same services."""

from __future__ import annotations

import posixpath
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlsplit
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request, Response
from pydantic import ValidationError

from phi.api.console import PREFIX
from phi.api.console.rendering import redirect, render
from phi.api.console.session import (
    SESSION_COOKIE,
    ConsoleConn,
    ConsoleUser,
    CsrfChecked,
    end_all_sessions,
    end_session,
    start_session,
)
from phi.api.deps import admin_org, client_ip, console_url, is_manager, org_of_caller
from phi.api.errors import status_of, validation_message
from phi.api.routers.auth import PasswordChange, SignupRequest
from phi.api.routers.invitations import InvitationCreate
from phi.api.routers.orgs import OrgCreate
from phi.db import agents as agents_repo
from phi.db import catalog as catalog_repo
from phi.db import local_agents as fleet_repo
from phi.db import members as members_repo
from phi.db import orgs as orgs_repo
from phi.db import tasks as tasks_repo
from phi.db import users as users_repo
from phi.db.connection import DbConnection, api_transaction, rollback
from phi.domain.models import OrgRole, TaskStatus, User
from phi.errors import BadRequest, Forbidden, PhiError, RateLimited, WrongPassword
from phi.services import invitations as invitations_service
from phi.services import members as members_service
from phi.services.auth import authenticate, change_password
from phi.services.security import hash_password, issue_access_token
from phi.wording import capitalised

router = APIRouter(prefix=PREFIX, include_in_schema=False)
DEFAULT_NEXT = "/orgs"
FLEET_POLL_SECONDS = 5


# Pydantic's wording for a length ("String should have at least 10 characters") said as a form says it
_LENGTH_MESSAGES = {
    "string_too_short": "At least {min_length} characters.",
    "string_too_long": "At most {max_length} characters.",
    "missing": "Required.",
}
_ONE_CHARACTER = {"string_too_short": "Required.", "string_too_long": "At most 1 character."}


def catalog_names(conn: DbConnection) -> dict[str, Any]:
    """Names people read for the keys an agent stores: `role_names` by (industry key, role key) as
    'Logistics & Warehousing / Warehouse analyst', `tool_names` by tool key ('Warehouse database')."""
    industries = {i.key: i.name for i in catalog_repo.list_industries(conn)}
    roles = {
        (r.industry_key, r.key): f"{industries.get(r.industry_key, r.industry_key)} / {r.name}"
        for r in catalog_repo.list_role_templates(conn)
    }
    return {"role_names": roles, "tool_names": {t.key: t.name for t in catalog_repo.list_tools(conn)}}


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors by field name, for showing each next to its input."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "form"
        ctx = error.get("ctx") or {}
        if 1 in (ctx.get("min_length"), ctx.get("max_length")) and error["type"] in _ONE_CHARACTER:
            message: str | None = _ONE_CHARACTER[error["type"]]  # not "At least 1 characters."
        else:
            template = _LENGTH_MESSAGES.get(error["type"])
            try:
                message = template.format(**ctx) if template else None
            except KeyError:
                message = None
        errors.setdefault(field, message or _plain(error))
    return errors


def _plain(error: Any) -> str:
    """A validator's message as a form says it: pydantic's 'Value error, ' prefix and an email validator's
    'value is not a valid email address: ' lead-in dropped."""
    return capitalised(validation_message(error).removeprefix("value is not a valid email address: "))


def safe_next(next_path: str | None) -> str:
    """Where log-in goes next: `next_path` (a path inside the console, e.g. "/agents/<id>") as a canonical path
    that a browser resolves to the same place, when it stays inside the console; else the organisations page.

    The path is read as a browser would read it once the console's root is put in front of it (`redirect`):
    %-escapes decoded (`%2e%2e` is `..`), backslashes as slashes, then dot segments and repeated slashes
    resolved. What is sent back is that resolved path, escaped again, so the browser has nothing left to
    resolve: `/../../openapi.json` would have left the console. The check is on the path under the console's
    own root, so it holds behind the API Gateway stage too (the redirect puts /dev/console in front)."""
    if not next_path or not next_path.startswith("/") or next_path[1:2] in ("/", "\\"):
        return DEFAULT_NEXT  # //host and /\host name another site
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in next_path):
        return DEFAULT_NEXT  # browsers drop tabs and line breaks from URLs: "/\t/host" would become "//host"
    parts = urlsplit(next_path)
    resolved = posixpath.normpath(PREFIX + "/" + unquote(parts.path).replace("\\", "/").lstrip("/"))
    if not resolved.startswith(PREFIX + "/"):
        return DEFAULT_NEXT
    path = quote(resolved.removeprefix(PREFIX))
    return f"{path}?{parts.query}" if parts.query else path


@router.get("")
def home(request: Request) -> Response:
    return redirect(request, "/orgs")


@router.get("/login")
def login_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    return render(request, "login.html", title="Log in", next=safe_next(next), errors={}, values={})


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    values = {"email": email}
    if not email or not password:
        errors = {"email": "Enter your email."} if not email else {"password": "Enter your password."}
        return render(request, "login.html", 400, title="Log in", next=safe_next(next), errors=errors, values=values)
    try:
        user = authenticate(email, password, client_ip(request))
    except PhiError as exc:
        errors = {"form": exc.message}
        return render(
            request, "login.html", status_of(exc), title="Log in", next=safe_next(next), errors=errors, values=values
        )
    return _signed_in(request, user, safe_next(next))


def _signed_in(request: Request, user: User, next_path: str) -> Response:
    token, ttl = issue_access_token(user.id)
    response = redirect(request, next_path)
    start_session(request, response, token, ttl)
    return response


@router.get("/signup")
def signup_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    return render(request, "signup.html", title="Sign up", next=safe_next(next), errors={}, values={})


@router.post("/signup", dependencies=[CsrfChecked])
def signup(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    full_name: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    values = {"email": email, "full_name": full_name}
    page = {"title": "Sign up", "next": safe_next(next), "values": values}
    try:
        body = SignupRequest(email=email, password=password, full_name=full_name or None)
    except ValidationError as exc:
        return render(request, "signup.html", 400, errors=field_errors(exc), **page)
    try:
        with api_transaction() as conn:
            user = users_repo.create_user(conn, str(body.email), hash_password(body.password), body.full_name)
    except PhiError as exc:
        return render(request, "signup.html", 409, errors={"email": exc.message}, **page)
    return _signed_in(request, user, safe_next(next))


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    end_all_sessions(request)
    response = redirect(request, "/login")
    end_session(request, response)
    return response


@router.get("/account")
def account(
    request: Request, user: ConsoleUser, changed: Annotated[bool, Query(include_in_schema=False)] = False
) -> Response:
    return render(request, "account.html", title="Your account", user=user, changed=changed, errors={})


@router.post("/account/password", dependencies=[CsrfChecked])
def account_password(
    request: Request,
    user: ConsoleUser,
    current_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    confirm_password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    def again(status: int, errors: dict[str, str]) -> Response:
        return render(request, "account.html", status, title="Your account", user=user, changed=False, errors=errors)

    try:
        body = PasswordChange(current_password=current_password, new_password=new_password)
    except ValidationError as exc:
        return again(400, field_errors(exc))
    if confirm_password != new_password:
        return again(400, {"confirm_password": "The two new passwords differ."})
    try:
        changed = change_password(
            user.id,
            request.cookies.get(SESSION_COOKIE, ""),
            body.current_password,
            body.new_password,
            client_ip(request),
        )
    except WrongPassword as exc:
        return again(403, {"current_password": exc.message})
    except RateLimited as exc:
        return again(429, {"form": exc.message})
    except BadRequest as exc:
        return again(400, {"new_password": exc.message})
    response = redirect(request, "/account?changed=true")
    start_session(request, response, changed.access_token, changed.expires_in)
    return response


@router.get("/orgs")
def dashboard(request: Request, conn: ConsoleConn, user: ConsoleUser) -> Response:
    orgs = orgs_repo.list_orgs_for_user(conn, user.id)
    return render(request, "orgs.html", title="Organisations", user=user, orgs=orgs, errors={}, values={})


@router.post("/orgs", dependencies=[CsrfChecked])
def create_org(
    request: Request, conn: ConsoleConn, user: ConsoleUser, name: Annotated[str, Form(max_length=400)] = ""
) -> Response:
    try:
        body = OrgCreate(name=name.strip())
    except ValidationError as exc:
        orgs = orgs_repo.list_orgs_for_user(conn, user.id)
        errors, values = field_errors(exc), {"name": name}
        return render(
            request, "orgs.html", 400, title="Organisations", user=user, orgs=orgs, errors=errors, values=values
        )
    org = orgs_repo.create_org(conn, body.name, user.id)
    return redirect(request, f"/orgs/{org.id}")


@router.get("/orgs/{org_id}")
def org_overview(request: Request, org_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    org = org_of_caller(org_id, conn, user)
    agents, agent_count = agents_repo.list_agents(conn, org.id, agents_repo.AgentFilter(limit=200))
    tasks, task_count = tasks_repo.list_tasks(conn, org.id, tasks_repo.TaskFilter(limit=10))
    fleet = fleet_repo.list_local_agents(conn, org.id)
    members = members_repo.list_members(conn, org.id)
    return render(
        request,
        "org.html",
        title=org.name,
        user=user,
        org=org,
        agents=agents[:12],
        agent_count=agent_count,
        **catalog_names(conn),
        tasks=tasks,
        task_count=task_count,
        agent_names={a.id: a.name for a in agents},
        online=sum(1 for la in fleet if la["status"] == "ONLINE"),
        fleet_count=len(fleet),
        member_count=len(members),
    )


@router.get("/orgs/{org_id}/tasks/rows")
def org_task_rows(request: Request, org_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    """The overview's recent tasks (htmx fragment, polled while one is still running)."""
    org = org_of_caller(org_id, conn, user)
    tasks, _ = tasks_repo.list_tasks(conn, org.id, tasks_repo.TaskFilter(limit=10))
    agents, _ = agents_repo.list_agents(conn, org.id, agents_repo.AgentFilter(limit=200))
    return render(request, "_org_tasks.html", org=org, tasks=tasks, agent_names={a.id: a.name for a in agents})


def _fleet(conn: Any, org_id: UUID) -> list[dict[str, Any]]:
    fleet = fleet_repo.list_local_agents(conn, org_id)
    agents, _ = agents_repo.list_agents(conn, org_id, agents_repo.AgentFilter(limit=200))
    names = {a.id: a.name for a in agents}
    return [{**la, "agent_name": names.get(la["agent_id"], "(deleted agent)")} for la in fleet]


@router.get("/orgs/{org_id}/fleet")
def fleet_page(request: Request, org_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    org = org_of_caller(org_id, conn, user)
    return render(
        request,
        "fleet.html",
        title=f"Local agents · {org.name}",
        user=user,
        org=org,
        fleet=_fleet(conn, org.id),
        poll=FLEET_POLL_SECONDS,
    )


@router.get("/orgs/{org_id}/fleet/rows")
def fleet_rows(request: Request, org_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    org = org_of_caller(org_id, conn, user)
    return render(request, "_fleet_rows.html", org=org, fleet=_fleet(conn, org.id), poll=FLEET_POLL_SECONDS)


def _members_page(request: Request, conn: Any, user: User, org_id: UUID, status: int = 200, **extra: Any) -> Response:
    org = org_of_caller(org_id, conn, user)
    members = members_repo.list_members(conn, org.id)
    invitations = invitations_service.list_open(conn, org) if is_manager(org) else []
    context: dict[str, Any] = {"errors": {}, "values": {}, "notice": None, **extra}
    return render(
        request,
        "members.html",
        status,
        title=f"Members · {org.name}",
        user=user,
        org=org,
        members=members,
        invitations=invitations,
        roles=list(OrgRole),
        **context,
    )


@router.get("/orgs/{org_id}/members")
def members_page(
    request: Request,
    org_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    invited: Annotated[bool, Query(include_in_schema=False)] = False,
) -> Response:
    return _members_page(request, conn, user, org_id, invited=invited)


@router.post("/orgs/{org_id}/invitations", dependencies=[CsrfChecked])
def invite(
    request: Request,
    org_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=20)] = "MEMBER",
) -> Response:
    org = admin_org(org_of_caller(org_id, conn, user))
    values = {"email": email, "role": role}
    try:
        body = InvitationCreate.model_validate({"email": email.strip(), "role": role})
    except ValidationError as exc:
        return _members_page(request, conn, user, org_id, 400, errors=field_errors(exc), values=values)
    try:
        sent = invitations_service.invite(conn, org, user, str(body.email), body.role, console_url(request))
    except PhiError as exc:
        rollback(conn)
        errors = {"email": exc.message}
        return _members_page(request, conn, user, org_id, status_of(exc), errors=errors, values=values)
    if sent.link_to_pass_on:
        # No e-mail service sends it: the inviter is shown the link once, here, as an agent key is (the outbox
        # keeps the message without it). A page, not a redirect: the link must not travel in a URL.
        return _members_page(request, conn, user, org_id, captured=sent)
    return redirect(request, f"/orgs/{org_id}/members?invited=true")


@router.post("/orgs/{org_id}/invitations/{invitation_id}/revoke", dependencies=[CsrfChecked])
def revoke_invitation(
    request: Request, org_id: UUID, invitation_id: UUID, conn: ConsoleConn, user: ConsoleUser
) -> Response:
    org = admin_org(org_of_caller(org_id, conn, user))
    invitations_service.revoke(conn, org, invitation_id)
    return redirect(request, f"/orgs/{org_id}/members")


@router.get("/invitations/accept")
def invitation_page(
    request: Request, conn: ConsoleConn, user: ConsoleUser, token: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    """The invitation e-mail's link. Signed out, the log-in page (with a way to sign up instead) brings the
    invitee back here, as for any console page; signed in, the organisation and role on offer, accepted with a
    POST."""
    invitation = invitations_service.for_invitee(conn, user, token)
    return render(request, "invitation.html", title="Invitation", user=user, invitation=invitation, token=token)


@router.post("/invitations/accept", dependencies=[CsrfChecked])
def accept_invitation(
    request: Request, conn: ConsoleConn, user: ConsoleUser, token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    org = invitations_service.accept(conn, user, token)
    return redirect(request, f"/orgs/{org.id}")


@router.post("/orgs/{org_id}/members/{member_id}/role", dependencies=[CsrfChecked])
def change_role(
    request: Request,
    org_id: UUID,
    member_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    org = admin_org(org_of_caller(org_id, conn, user))
    try:
        chosen = OrgRole(role)
    except ValueError:
        return _members_page(request, conn, user, org_id, 400, errors={"members": "Choose a role."})
    try:
        members_service.change_role(conn, org, member_id, chosen)
    except PhiError as exc:
        if exc.code == "not_found":  # the console's not-found page, as for any id not in the organisation
            raise
        rollback(conn)  # the API's status for the same refusal (403: only an owner …; 409: the last owner)
        return _members_page(request, conn, user, org_id, status_of(exc), errors={"members": exc.message})
    return redirect(request, f"/orgs/{org_id}/members")


@router.post("/orgs/{org_id}/members/{member_id}/remove", dependencies=[CsrfChecked])
def remove_member(request: Request, org_id: UUID, member_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    org = org_of_caller(org_id, conn, user)
    try:
        members_service.remove_member(conn, org, user, member_id)
    except PhiError as exc:
        if exc.code == "not_found":
            raise
        rollback(conn)
        return _members_page(request, conn, user, org_id, status_of(exc), errors={"members": exc.message})
    return redirect(request, "/orgs" if member_id == user.id else f"/orgs/{org_id}/members")


@router.get("/admin/tasks")
def admin_tasks(
    request: Request,
    conn: ConsoleConn,
    user: ConsoleUser,
    status: Annotated[str | None, Query(max_length=20)] = None,
    org_id: Annotated[str | None, Query(max_length=64)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    if not user.is_platform_admin:
        raise Forbidden("Only platform administrators can see every organisation's tasks.")
    try:
        org_filter = UUID(org_id.strip()) if org_id and org_id.strip() else None
    except ValueError as exc:
        raise BadRequest(f"{org_id!r} is not an organisation id.") from exc
    statuses = [s.value for s in TaskStatus]
    chosen = TaskStatus(status) if status in statuses else None
    where = tasks_repo.TaskFilter(status=chosen, limit=50, offset=offset)
    tasks, total = tasks_repo.list_tasks(conn, org_filter, where)
    events = {t.id: tasks_repo.list_events(conn, t.id, t.org_id) for t in tasks}
    org_names = {o.id: o.name for o in orgs_repo.list_orgs_by_id(conn, list({t.org_id for t in tasks}))}
    return render(
        request,
        "admin_tasks.html",
        title="All tasks (admin)",
        user=user,
        tasks=tasks,
        total=total,
        events=events,
        org_names=org_names,
        status=chosen.value if chosen else None,
        statuses=statuses,
        org_id=org_filter,
        offset=offset,
    )

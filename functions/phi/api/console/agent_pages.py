"""Console pages of agents: the list and the create form (industry → role template → tools), the agent page
(general information, tools, documents and upload, profile generation, system prompt, configuration download,
agent keys, test task, task history), document search, and a task's page with its report, timeline, the
Step Functions state history and, while it runs, a Cancel button.

Lookups go through the caller's membership (`agent_of_caller`, `task_of_caller`: another organisation's id is
"not found"); owner/admin actions go through the API's `admin_agent`/`admin_org` checks."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, cast
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field, ValidationError, create_model

from phi.api.console.charts import Point, bar_chart, line_chart
from phi.api.console.pages import catalog_names, field_errors
from phi.api.console.rendering import TERMINAL_STATUSES, form_json, redirect, render, workflow_name
from phi.api.console.session import ConsoleConn, ConsoleUser, CsrfChecked, FormFields
from phi.api.console.tool_settings import config_from_form, field_values, tool_fields
from phi.api.deps import admin_agent, admin_org, agent_of_caller, api_url, org_of_caller, task_of_caller
from phi.api.uploads import MAX_FILENAME_CHARS, FileParts, read_upload
from phi.db import agent_keys as keys_repo
from phi.db import agents as agents_repo
from phi.db import catalog as catalog_repo
from phi.db import documents as documents_repo
from phi.db import local_agents as fleet_repo
from phi.db import orgs as orgs_repo
from phi.db import tasks as tasks_repo
from phi.db import workflows as workflows_repo
from phi.db.connection import DbConnection, commit, rollback
from phi.domain.document_keys import matching_names
from phi.domain.models import Agent, EventType, RoleTemplate, Task, TaskStatus, Tool, User, is_manager_role
from phi.errors import BadRequest, PhiError
from phi.services import documents as documents_service
from phi.services import workflows as workflows_service
from phi.services.agents import (
    AgentCreate,
    AgentUpdate,
    build_config,
    create_agent,
    delete_agent,
    issue_agent_key,
    render_config,
    revoke_agent_key,
    update_agent,
)
from phi.services.catalog import validate_tool_config
from phi.services.documents import SearchRequest, SourceType
from phi.services.profiles import ProfileRequest, generate_profile
from phi.services.tasks import cancel_task, run_task, task_history
from phi.settings import get_settings
from phi.wording import capitalised, in_words
from phi.workflows.timeframes import DEFAULT_TIMEZONE, check_timezone, known_timezones, yesterday

router = APIRouter(prefix="/console", include_in_schema=False)
TASK_POLL_SECONDS = 2
DOCUMENT_POLL_SECONDS = 2
BUILT_IN_TASK_TYPES = ("DAILY_WAREHOUSE_REPORT",)
MAX_INPUT_CHARS = 20_000


def _can_manage(conn: DbConnection, org_id: UUID, user: User) -> bool:
    org = orgs_repo.get_org_for_user(conn, org_id, user.id)
    return bool(org and is_manager_role(org.role))


# ---------------------------------------------------------------- agents list and create form


@router.get("/orgs/{org_id}/agents")
def agents_page(
    request: Request,
    org_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    q: Annotated[str | None, Query(max_length=200)] = None,
    deleted: Annotated[bool, Query()] = False,
) -> Response:
    org = org_of_caller(org_id, conn, user)
    agents, total = agents_repo.list_agents(conn, org.id, agents_repo.AgentFilter(name_contains=q or None, limit=200))
    return render(
        request,
        "agents.html",
        title=f"Agents · {org.name}",
        user=user,
        org=org,
        agents=agents,
        total=total,
        **catalog_names(conn),
        q=q or "",
        can_manage=is_manager_role(org.role),
        deleted=deleted,
    )


def _form_context(conn: DbConnection, industry_key: str | None, role_key: str | None) -> dict[str, Any]:
    industries = catalog_repo.list_industries(conn)
    industry_key = industry_key or (industries[0].key if industries else None)
    roles = catalog_repo.list_role_templates(conn, industry_key) if industry_key else []
    tools = catalog_repo.list_tools(conn)
    role = next((r for r in roles if r.key == role_key), None) or _ready_role(roles, tools)
    return {
        "industries": industries,
        "industry_key": industry_key,
        "roles": roles,
        "role": role,
        "tools": tools,
        "default_tools": set(role.default_tools) if role else set(),
    }


def _ready_role(roles: list[RoleTemplate], tools: list[Tool]) -> RoleTemplate | None:
    """The role the form starts on: the first whose default tools need no settings of the user's own (e-mail needs
    its recipients), so that creating it straight away works; the first role when every one needs some."""
    needs_settings = {t.key for t in tools if t.config_schema.get("required")}
    ready = [r for r in roles if not needs_settings.intersection(r.default_tools)]
    choices = ready or roles
    return choices[0] if choices else None


@router.get("/orgs/{org_id}/agents/new")
def new_agent_page(
    request: Request,
    org_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    industry_key: Annotated[str | None, Query(max_length=100)] = None,
    role_key: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    org = admin_org(org_of_caller(org_id, conn, user))
    context = _form_context(conn, industry_key, role_key)
    return render(
        request, "agent_new.html", title=f"New agent · {org.name}", user=user, org=org, errors={}, values={}, **context
    )


@router.get("/orgs/{org_id}/agents/new/choices")
def new_agent_choices(
    request: Request,
    org_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    industry_key: Annotated[str | None, Query(max_length=100)] = None,
    role_key: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The role templates of the chosen industry and the tools of the chosen role (htmx fragment)."""
    org = admin_org(org_of_caller(org_id, conn, user))
    return render(request, "_agent_choices.html", org=org, **_form_context(conn, industry_key, role_key))


@router.post("/orgs/{org_id}/agents", dependencies=[CsrfChecked])
def create_agent_from_form(
    request: Request,
    org_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    name: Annotated[str, Form(max_length=400)] = "",
    industry_key: Annotated[str, Form(max_length=100)] = "",
    role_key: Annotated[str, Form(max_length=100)] = "",
    warehouse_timezone: Annotated[str, Form(max_length=100)] = "UTC",
    tool_keys: Annotated[list[str] | None, Form(max_length=20)] = None,
    email_recipients: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    org = admin_org(org_of_caller(org_id, conn, user))
    values = {
        "name": name,
        "industry_key": industry_key,
        "role_key": role_key,
        "warehouse_timezone": warehouse_timezone,
        "email_recipients": email_recipients,
    }
    chosen_tools = tool_keys or []
    body, errors = _checked_agent_form(conn, values, chosen_tools)
    if body is not None:
        try:
            agent = create_agent(conn, org, user.id, body)
        except PhiError as exc:
            rollback(conn)
            errors = _create_errors(exc)
        else:
            commit(conn)  # the queue is made after the agent is committed (after-commit hook)
            return redirect(request, f"/agents/{agent.id}")
    context = _form_context(conn, industry_key or None, role_key or None)
    context["default_tools"] = set(chosen_tools)
    return render(
        request,
        "agent_new.html",
        400,
        title=f"New agent · {org.name}",
        user=user,
        org=org,
        errors=errors,
        values=values,
        **context,
    )


def _checked_agent_form(
    conn: DbConnection, values: dict[str, str], chosen_tools: list[str]
) -> tuple[AgentCreate | None, dict[str, str]]:
    """The new agent's body, or None with every field's error: each field is checked before anything is made, so
    that one submission shows them all (a missing recipient and a bad time zone together)."""
    tools: dict[str, dict[str, Any]] = {key: {} for key in chosen_tools}
    errors: dict[str, str] = {}
    if "email" in tools:
        recipients = [address for address in re.split(r"[\s,;]+", values["email_recipients"]) if address]
        problem = _recipients_problem(conn, recipients)
        if problem:
            errors["email_recipients"] = problem
        else:
            tools["email"] = {"recipients": recipients}
    try:
        body = AgentCreate(
            name=values["name"].strip() or None,
            industry_key=values["industry_key"] or None,
            role_key=values["role_key"] or None,
            warehouse_timezone=values["warehouse_timezone"].strip() or "UTC",
            tools=tools,
        )
    except ValidationError as exc:
        return None, {**field_errors(exc), **errors}
    return (None, errors) if errors else (body, {})


def _recipients_problem(conn: DbConnection, recipients: list[str]) -> str | None:
    """Why the e-mail tool's recipients cannot be saved, checked by the tool's own schema before the agent is made
    (so that a bad time zone in the same form is reported with it); None when they can."""
    if not recipients:
        return "Email needs at least one recipient (or untick Email)."
    email = next((tool for tool in catalog_repo.list_tools(conn) if tool.key == "email"), None)
    if email is None or not email.available:
        return None  # the service says why when the agent is made
    try:
        validate_tool_config(email, {"recipients": recipients})
    except PhiError as exc:
        return exc.message
    return None


def _create_errors(exc: PhiError) -> dict[str, str]:
    """The service's refusal, at the recipients field when it is about them."""
    if exc.message.startswith("Invalid configuration for tool 'email'"):
        return {"email_recipients": exc.message}
    return {"form": exc.message}


# ---------------------------------------------------------------- the agent page


def _documents(conn: DbConnection, agent: Agent) -> list[Any]:
    return documents_repo.list_for_agent(conn, agent.org_id, agent.id)


def _agent_tasks(conn: DbConnection, agent: Agent) -> list[Task]:
    tasks, _ = tasks_repo.list_tasks(conn, agent.org_id, tasks_repo.TaskFilter(agent_id=agent.id, limit=20))
    return tasks


def _task_types(conn: DbConnection, agent: Agent) -> list[tuple[str, str]]:
    """(key, name) of the agent's own workflows first (the first is the one selected), then of the built-in types
    it can also run (named from their keys)."""
    own = [(w.key, w.name) for w in workflows_service.list_workflows(conn, agent)]
    keys = {key for key, _ in own}
    return [*own, *((t, workflow_name(t)) for t in BUILT_IN_TASK_TYPES if t not in keys)]


def default_run_day(agent: Agent, now: datetime | None = None) -> date:
    """The day "Run a test task" proposes: yesterday at the warehouse, by the rule the API applies to a report run
    without a date (timeframes.yesterday in the agent's time zone). Yesterday in UTC is today in Pago Pago until
    11:00 UTC, and already the day before yesterday in Kiritimati after 10:00 UTC."""
    return yesterday(agent.config.get("warehouse_timezone") or DEFAULT_TIMEZONE, now)


def _date_input(conn: DbConnection, agent: Agent, task_type: str) -> str | None:
    """The first date-typed input of the agent's current definition of `task_type` (the built-in type's `date`
    when the agent stores none)."""
    stored = workflows_repo.current_version_for_key(conn, agent.id, agent.org_id, task_type)
    if stored is None:
        return "date" if task_type in BUILT_IN_TASK_TYPES else None
    inputs = stored.definition.get("inputs") or {}
    return next((name for name, spec in inputs.items() if isinstance(spec, dict) and spec.get("type") == "date"), None)


@router.get("/agents/{agent_id}")
def agent_page(
    request: Request,
    agent_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    saved: Annotated[bool, Query()] = False,
    tools_saved: Annotated[bool, Query()] = False,
) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    return _render_agent_page(request, conn, user, agent, saved=saved, tools_saved=tools_saved)


def _render_agent_page(
    request: Request,
    conn: DbConnection,
    user: User,
    agent: Agent,
    status_code: int = 200,
    saved: bool = False,
    settings_errors: dict[str, str] | None = None,
    settings_values: dict[str, Any] | None = None,
    tools_saved: bool = False,
    tools_errors: dict[str, str] | None = None,
    tools_values: dict[str, Any] | None = None,
) -> Response:
    org = org_of_caller(agent.org_id, conn, user)
    tools = {t.key: t for t in catalog_repo.list_tools(conn)}
    if tools_values is None:
        configs = {t.key: t.config for t in agent.tools}
        tools_values = {**field_values(list(tools.values()), configs), "tool_keys": set(configs)}
    industry = catalog_repo.get_industry(conn, key=agent.industry_key) if agent.industry_key else None
    role = (
        catalog_repo.find_role_template(conn, agent.industry_key, agent.role_key)
        if agent.industry_key and agent.role_key
        else None
    )
    documents = _documents(conn, agent)
    settings_values = settings_values or _settings_values(agent)
    return render(
        request,
        "agent.html",
        status_code,
        title=agent.name,
        user=user,
        org=org,
        agent=agent,
        industry_name=industry.name if industry else agent.industry_key,
        role_name=role.name if role else agent.role_key,
        catalog=tools,
        local_tool_keys=[key for key, tool in tools.items() if tool.runs_on == "LOCAL"],
        can_manage=is_manager_role(org.role),
        documents=documents,
        sources_without_document=_sources_without_document(settings_values, documents),
        tasks=_agent_tasks(conn, agent),
        keys=keys_repo.list_keys(conn, agent.id, agent.org_id),
        fleet=fleet_repo.list_local_agents(conn, agent.org_id, agent.id),
        profile=agent.config.get("profile"),
        task_types=_task_types(conn, agent),
        source_types=list(SourceType),
        default_day=default_run_day(agent).isoformat(),
        task_poll=TASK_POLL_SECONDS,
        document_poll=DOCUMENT_POLL_SECONDS,
        generated=None,
        upload_error=None,
        saved=saved,
        settings_errors=settings_errors or {},
        settings_values=settings_values,
        threshold_fields=THRESHOLD_FIELDS,
        threshold_source_fields=THRESHOLD_SOURCE_FIELDS,
        timezones=_timezone_names(),
        tool_fields={key: tool_fields(tool) for key, tool in tools.items()},
        tools_saved=tools_saved,
        tools_errors=tools_errors or {},
        tools_values=tools_values,
    )


def _sources_without_document(settings_values: dict[str, Any], documents: list[Any]) -> set[str]:
    """The SOP names typed into the settings' threshold sources that name none of the agent's documents, matched as
    the report matches them (document_keys.matching_names: a document stored under its old safe name counts)."""
    names = [document.filename for document in documents]
    typed = (value for key, value in settings_values.items() if key.startswith("source_") and value)
    return {source for source in typed if not matching_names(str(source), names)}


# ---------------------------------------------------------------- an agent's settings, and deleting it


def _threshold_fields() -> list[tuple[str, str, str]]:
    """(name, label, hint) of each limit of the daily report, for the settings form."""
    from phi.workflows.warehouse.kpis import Thresholds

    fields = []
    for name, info in Thresholds.model_fields.items():
        hint = f"Default {info.default:g}"
        if info.description:
            hint += f"; {info.description}"
        if _is_fraction(info):
            hint += f" (a fraction: {info.default:g} for {info.default * 100:g}%)"
        fields.append((name, capitalised(in_words(name)), hint))
    return fields


def _is_fraction(info: Any) -> bool:
    return any(getattr(bound, "le", None) == 1 for bound in info.metadata)


def _exactly(value: Any) -> str:
    """A stored limit as typed back into its field: every digit kept (1234567, 0.0123456789), so that saving the
    form again for another change stores the same value."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


THRESHOLD_FIELDS = _threshold_fields()


def _threshold_source_fields() -> list[tuple[str, str, str]]:
    """(name, label, hint) of each limit an SOP can state, for the settings form's threshold_sources."""
    from phi.workflows.warehouse.sop_thresholds import READERS

    return [
        (
            name,
            f"{capitalised(in_words(name))}: read from the SOP",
            f"The file name of the SOP that states this limit (about {_with_article(reader.topic)})",
        )
        for name, reader in READERS.items()
    ]


def _with_article(topic: str) -> str:
    return topic if topic.startswith(("a ", "an ", "the ")) else f"the {topic}"


THRESHOLD_SOURCE_FIELDS = _threshold_source_fields()


@lru_cache(maxsize=1)
def _timezone_names() -> list[str]:
    return known_timezones()


def _settings_values(agent: Agent) -> dict[str, Any]:
    thresholds = agent.config.get("thresholds") or {}
    return {
        "name": agent.name,
        "status": agent.status.value,
        "warehouse_timezone": agent.config.get("warehouse_timezone") or "UTC",
        **{f"threshold_{name}": _exactly(thresholds[name]) for name, _, _ in THRESHOLD_FIELDS if name in thresholds},
        **{f"source_{name}": source for name, source in (agent.config.get("threshold_sources") or {}).items()},
    }


# The settings form's fields, each as typed (a limit left empty goes back to its default).
SettingsForm = create_model(
    "SettingsForm",
    name=(str, Field(default="", max_length=400)),
    status=(str, Field(default="", max_length=20)),  # absent: unchanged
    warehouse_timezone=(str, Field(default="", max_length=100)),  # absent: unchanged
    **{f"threshold_{name}": (str, Field(default="", max_length=50)) for name, _, _ in THRESHOLD_FIELDS},  # type: ignore[call-overload]
    **{f"source_{name}": (str, Field(default="", max_length=1000)) for name, _, _ in THRESHOLD_SOURCE_FIELDS},
)


@router.post("/agents/{agent_id}/settings", dependencies=[CsrfChecked])
def save_settings(
    request: Request,
    agent_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    form: Annotated[SettingsForm, Form()],  # type: ignore[valid-type]
) -> Response:
    """Name, status, time zone, the daily report's limits and the SOPs that state limits (threshold_sources: a
    limit an SOP states takes precedence in the report)."""
    agent = admin_agent(agent_of_caller(agent_id, conn, user), conn, user)
    values: dict[str, str] = cast(BaseModel, form).model_dump()
    values["status"] = values["status"] or agent.status.value
    values["warehouse_timezone"] = values["warehouse_timezone"] or agent.config.get("warehouse_timezone") or "UTC"
    # Every field is checked, so that one submission shows every error at its field.
    errors: dict[str, str] = {}
    thresholds: dict[str, float] = {}
    for name, label, _ in THRESHOLD_FIELDS:
        text = values[f"threshold_{name}"].strip()
        if not text:
            continue
        try:
            thresholds[name] = float(text)
        except ValueError:
            errors[f"threshold_{name}"] = f"{label}: enter a number, e.g. 0.05 or 200."
            continue
        if not math.isfinite(thresholds[name]):
            errors[f"threshold_{name}"] = f"{label}: enter a number, e.g. 0.05 or 200."
    errors.update(_threshold_errors({k: v for k, v in thresholds.items() if f"threshold_{k}" not in errors}))
    sources: dict[str, str] = {}
    for name, label, _ in THRESHOLD_SOURCE_FIELDS:
        source = values[f"source_{name}"].strip()
        if len(source) > MAX_FILENAME_CHARS:
            errors[f"source_{name}"] = f"{label}: a file name of at most {MAX_FILENAME_CHARS} characters."
        elif source:
            sources[name] = source
    if values["status"] not in ("ACTIVE", "DISABLED"):
        errors["status"] = "Choose Active or Disabled."
    if not values["name"].strip():
        errors["name"] = "Enter a name."
    try:
        timezone = check_timezone(values["warehouse_timezone"].strip() or "UTC")
    except ValueError as exc:
        errors["warehouse_timezone"] = capitalised(str(exc)) + "."
    if not errors:
        try:
            body = AgentUpdate.model_validate(
                {
                    "name": values["name"].strip(),
                    "status": values["status"],
                    "warehouse_timezone": timezone,
                    "thresholds": thresholds,
                    "threshold_sources": sources,
                }
            )
            update_agent(conn, agent, body, user.id)
        except (ValidationError, PhiError) as exc:
            rollback(conn)
            errors = field_errors(exc) if isinstance(exc, ValidationError) else {"form": exc.message}
    if errors:
        return _render_agent_page(request, conn, user, agent, 400, settings_errors=errors, settings_values=values)
    commit(conn)
    return redirect(request, f"/agents/{agent.id}?saved=true#settings-h")


def _threshold_errors(thresholds: dict[str, float]) -> dict[str, str]:
    """Each limit out of its range, said at its own field ('Max late rate: at most 1, a fraction: 0.05 for 5%')."""
    from phi.workflows.warehouse.kpis import Thresholds

    try:
        Thresholds.model_validate(thresholds)
    except ValidationError as exc:
        labels = {name: label for name, label, _ in THRESHOLD_FIELDS}
        errors = {}
        for problem in exc.errors():
            name = str(problem["loc"][0]) if problem["loc"] else ""
            if name not in labels:
                continue
            bound = problem.get("ctx") or {}
            said = {
                "less_than_equal": f"at most {bound.get('le', 0):g}",
                "greater_than_equal": f"at least {bound.get('ge', 0):g}",
                "greater_than": f"more than {bound.get('gt', 0):g}",
                "int_from_float": "a whole number",
            }.get(problem["type"], problem["msg"])
            if problem["type"] == "less_than_equal" and bound.get("le") == 1:
                said += ", a fraction: 0.05 for 5%"
            errors[f"threshold_{name}"] = f"{labels[name]}: {said}."
        return errors
    return {}


@router.post("/agents/{agent_id}/tools", dependencies=[CsrfChecked])
def save_tools(request: Request, agent_id: UUID, conn: ConsoleConn, user: ConsoleUser, form: FormFields) -> Response:
    """Which tools the agent has and each one's settings, from fields made from the tools' schemas; every field
    is checked, so that one submission shows every error at its field, and nothing changes unless all are right."""
    agent = admin_agent(agent_of_caller(agent_id, conn, user), conn, user)
    catalog = catalog_repo.list_tools(conn)
    had = {t.key for t in agent.tools}
    chosen = set(form.get("tool_keys", []))
    fields = {name: values[-1] for name, values in form.items() if name.startswith("cfg-")}
    errors: dict[str, str] = {}
    unknown = chosen - {t.key for t in catalog}
    if unknown:
        errors["tools"] = f"Unknown tools: {', '.join(sorted(unknown)[:5])}."
    tools: dict[str, dict[str, Any]] = {}
    for tool in catalog:
        if tool.key not in chosen:
            continue
        if not tool.available and tool.key not in had:
            errors[f"tool-{tool.key}"] = f"{tool.name} is not available yet."
            continue
        stored = next((t.config for t in agent.tools if t.key == tool.key), {})
        tools[tool.key], problems = config_from_form(tool, fields, stored)
        errors.update(problems)
    if not errors:
        try:
            update_agent(conn, agent, AgentUpdate(tools=tools), user.id)
        except PhiError as exc:
            rollback(conn)
            where = str(exc.details.get("field") or "").split(".")[0]  # "recipients.1": the recipients field
            field = f"cfg-{exc.details.get('tool')}-{where}"
            errors[field if field in fields else "tools"] = exc.message
    if errors:
        values: dict[str, Any] = {**fields, "tool_keys": chosen}
        return _render_agent_page(request, conn, user, agent, 400, tools_errors=errors, tools_values=values)
    commit(conn)
    return redirect(request, f"/agents/{agent.id}?tools_saved=true#tools-h")


@router.post("/agents/{agent_id}/delete", dependencies=[CsrfChecked])
def delete_agent_action(request: Request, agent_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = admin_agent(agent_of_caller(agent_id, conn, user), conn, user)
    delete_agent(conn, agent)
    commit(conn)  # the queue goes after the commit (after-commit hook)
    return redirect(request, f"/orgs/{agent.org_id}/agents?deleted=true")


@router.get("/agents/{agent_id}/documents")
def documents_fragment(request: Request, agent_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    return _documents_list(request, conn, agent, can_manage=_can_manage(conn, agent.org_id, user))


def _documents_list(
    request: Request,
    conn: DbConnection,
    agent: Agent,
    *,
    can_manage: bool = True,
    upload_error: str | None = None,
    deleted: str | None = None,
) -> Response:
    """The agent's documents list (the fragment the upload form, Delete and the ingest polling replace)."""
    return render(
        request,
        "_documents.html",
        400 if upload_error else 200,
        agent=agent,
        documents=_documents(conn, agent),
        document_poll=DOCUMENT_POLL_SECONDS,
        can_manage=can_manage,
        upload_error=upload_error,
        deleted=deleted,
    )


@router.post("/agents/{agent_id}/documents", dependencies=[CsrfChecked])
def upload_document(
    request: Request,
    agent_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    file_parts: FileParts,
    file: Annotated[UploadFile | None, File()] = None,
    source_type: Annotated[str, Form(max_length=20)] = "SOP",
    org_wide: Annotated[bool, Form()] = False,
) -> Response:
    agent = admin_agent(agent_of_caller(agent_id, conn, user), conn, user)
    error: str | None = None
    try:
        filename, data = read_upload(file, file_parts)
        documents_service.upload(
            conn, agent, filename, SourceType(source_type), data, file.content_type if file else None, org_wide, user.id
        )
    except (PhiError, ValueError) as exc:
        rollback(conn)
        error = exc.message if isinstance(exc, PhiError) else "Choose a document type."
    commit(conn)  # the ingest starts after the commit; the list below shows the new document
    return _documents_list(request, conn, agent, upload_error=error)


@router.post("/agents/{agent_id}/documents/{document_id}/delete", dependencies=[CsrfChecked])
def delete_document_action(
    request: Request, agent_id: UUID, document_id: UUID, conn: ConsoleConn, user: ConsoleUser
) -> Response:
    agent = admin_agent(agent_of_caller(agent_id, conn, user), conn, user)
    deleted = documents_service.delete(conn, agent, document_id)
    commit(conn)  # the stored file goes after the commit (after-commit hook)
    return _documents_list(request, conn, agent, deleted=deleted.filename)


@router.post("/agents/{agent_id}/profile", dependencies=[CsrfChecked])
def generate_profile_action(request: Request, agent_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = admin_agent(agent_of_caller(agent_id, conn, user), conn, user)
    generated = generate_profile(conn, agent, ProfileRequest())
    agent = agents_repo.get_agent_in_org(conn, agent.id, agent.org_id) or agent
    return render(
        request,
        "_profile.html",
        agent=agent,
        profile=agent.config.get("profile"),
        generated=generated,
        can_manage=True,
    )


@router.get("/agents/{agent_id}/config")
def download_config(
    request: Request,
    agent_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    format: Annotated[str, Query(pattern="^(yaml|json)$")] = "yaml",
) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    rendered = render_config(build_config(conn, agent, api_url(request)), "json" if format == "json" else "yaml")
    headers = {"Content-Disposition": f'attachment; filename="{rendered.filename}"'}
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


@router.post("/agents/{agent_id}/keys", dependencies=[CsrfChecked])
def issue_key(request: Request, agent_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = admin_agent(agent_of_caller(agent_id, conn, user), conn, user)
    created = issue_agent_key(conn, agent, user.id)
    # The secret is shown once: like every console answer it is sent with Cache-Control: no-store
    # (phi.api.security_headers).
    keys = keys_repo.list_keys(conn, agent.id, agent.org_id)
    return render(request, "_new_key.html", agent=agent, created=created, keys=keys, can_manage=True)


@router.post("/agents/{agent_id}/keys/{key_id}/revoke", dependencies=[CsrfChecked])
def revoke_key_action(request: Request, agent_id: UUID, key_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = admin_agent(agent_of_caller(agent_id, conn, user), conn, user)
    revoke_agent_key(conn, agent, key_id)
    commit(conn)
    keys = keys_repo.list_keys(conn, agent.id, agent.org_id)
    revoked = next(key for key in keys if key.id == key_id)
    return render(request, "_agent_keys.html", agent=agent, keys=keys, can_manage=True, revoked=revoked, oob=False)


def _input_of_form(text: str) -> dict[str, Any]:
    """The run form's other inputs, a JSON object: a workflow that needs more than a day (an amount, a
    warehouse) could not be run from the console without them."""
    if not text.strip():
        return {}
    try:
        value = form_json(text)
    except ValueError as exc:
        raise BadRequest(f"Input: not valid JSON ({exc}).") from exc
    if not isinstance(value, dict):
        raise BadRequest('Input: give a JSON object, e.g. {"amount": 250}.')
    return value


@router.post("/agents/{agent_id}/run", dependencies=[CsrfChecked])
def run_test_task(
    request: Request,
    agent_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    task_type: Annotated[str, Form(max_length=100)] = "DAILY_WAREHOUSE_REPORT",
    day: Annotated[str, Form(max_length=10)] = "",
    input_json: Annotated[str, Form(max_length=MAX_INPUT_CHARS)] = "",
) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    task_input = _input_of_form(input_json)
    if day:
        try:
            chosen = date.fromisoformat(day).isoformat()
        except ValueError as exc:
            raise BadRequest(f"{day!r} is not a date (YYYY-MM-DD).") from exc
        # The day goes to the workflow's own date input (`date`, `week_ending`, ...); one without any runs as is.
        date_input = _date_input(conn, agent, task_type)
        if date_input is not None:
            task_input.setdefault(date_input, chosen)  # a date given in the input is the one meant
    task = run_task(
        conn, agent, user.id, task_type, task_input, trigger="api"
    )  # the console is a client of the API: same trigger
    return redirect(request, f"/tasks/{task.id}")


@router.get("/agents/{agent_id}/tasks")
def tasks_fragment(request: Request, agent_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    return render(
        request, "_agent_tasks.html", agent=agent, tasks=_agent_tasks(conn, agent), task_poll=TASK_POLL_SECONDS
    )


# ---------------------------------------------------------------- document search


# Below this similarity a passage is listed apart, as a weaker match: a question none of the documents is about
# ("xyzzy") still has nearest passages, with similarities near zero or below it.
CLOSE_MATCH_SCORE = 0.2


@router.get("/agents/{agent_id}/search")
def search_page(
    request: Request,
    agent_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    q: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    agent = agent_of_caller(agent_id, conn, user)
    org = org_of_caller(agent.org_id, conn, user)
    hits: list[Any] | None = None
    error: str | None = None
    if q and q.strip():
        try:
            hits = documents_service.search(conn, agent, SearchRequest(query=q.strip(), top_k=8))
        except PhiError as exc:
            error = exc.message
    template = "_search_results.html" if request.headers.get("HX-Request") == "true" else "search.html"
    return render(
        request,
        template,
        title=f"Search · {agent.name}",
        user=user,
        org=org,
        agent=agent,
        q=q or "",
        hits=[h for h in hits if h.score >= CLOSE_MATCH_SCORE] if hits is not None else None,
        weaker=[h for h in hits if h.score < CLOSE_MATCH_SCORE] if hits is not None else [],
        close_score=CLOSE_MATCH_SCORE,
        error=error,
    )


# ---------------------------------------------------------------- a task


LATE_RATE_DAYS = 14


def _late_rate_points(conn: DbConnection, task: Task) -> list[Point]:
    """The late rate of the agent's recent successful reports (the latest run of each report day)."""
    where = tasks_repo.TaskFilter(agent_id=task.agent_id, status=TaskStatus.SUCCEEDED, type=task.type, limit=30)
    recent, _ = tasks_repo.list_tasks(conn, task.org_id, where)
    by_day: dict[str, float] = {}
    for earlier in recent:  # newest first: the first run of a day wins
        kpis = (earlier.output or {}).get("kpis") or {}
        day, late = kpis.get("day"), (kpis.get("late") or {}).get("late_rate")
        if isinstance(day, str) and isinstance(late, int | float) and day not in by_day:
            by_day[day] = float(late)
    viewed = ((task.output or {}).get("kpis") or {}).get("day")
    return late_rate_points(by_day, viewed if isinstance(viewed, str) else None)


def late_rate_points(by_day: dict[str, float], ending: str | None = None) -> list[Point]:
    """One point per calendar day of the LATE_RATE_DAYS days ending at the viewed task's report day (`ending`; the
    newest report day without one): a day without a report keeps its place with no figure, so the chart does not
    join days that are far apart, and a report of a later day (a test run for next year) does not move the
    window away from the one viewed."""
    dated = {}
    for day_text, rate in by_day.items():
        try:
            dated[date.fromisoformat(day_text)] = rate
        except ValueError:
            continue  # not a report day this page can place
    try:
        last = date.fromisoformat(ending) if ending else None
    except ValueError:
        last = None
    if last is not None:
        dated = {day: rate for day, rate in dated.items() if day <= last}
    if not dated:
        return []
    newest = last if last is not None and last in dated else max(dated)
    days = [newest - timedelta(days=back) for back in range(LATE_RATE_DAYS - 1, -1, -1)]
    if not any(day in dated for day in days[:-1]):
        days = days[-1:]  # the only report in the window: one point, not a fortnight of empty days
    return [Point(label=day.isoformat()[5:], value=dated.get(day)) for day in days]


class OutputTable(BaseModel):
    """A task's output that is a table (a one-off request's pipeline): its columns and the rows it keeps inline."""

    columns: list[str]
    rows: list[list[Any]]
    row_count: int | None = None


def _output_table(output: dict[str, Any] | None) -> OutputTable | None:
    """The output as a table when it is one, so that the page shows a table rather than its JSON."""
    if not output or "columns" not in output or "rows" not in output:
        return None
    try:
        return OutputTable.model_validate(output)
    except ValidationError:
        return None  # another shape: shown as JSON


def _hour_point(hour: dict[str, Any]) -> Point:
    """One bar of the picks per hour: none for an hour a clock change skipped, and an hour it lengthened or
    shortened says so in its tooltip (the repeated 01:00 of a fall-back day holds two hours' picks). A report stored
    before hours had lengths counts each as one hour."""
    from phi.workflows.warehouse.kpis import HourlyPicks

    picks = HourlyPicks.model_validate(hour)
    value = None if picks.length_hours == 0 else float(picks.lines)
    return Point(label=f"{picks.hour:02d}", value=value, note=picks.clock_change())


def _task_context(conn: DbConnection, task: Task) -> dict[str, Any]:
    events = tasks_repo.list_events(conn, task.id, task.org_id)
    heading, version_number = _task_workflow(conn, task)
    kpis = (task.output or {}).get("kpis") or {}
    hourly = [_hour_point(h) for h in kpis.get("hourly") or []]
    charts = []
    if hourly:
        caption = f"Lines picked per hour ({kpis.get('timezone', 'UTC')})"
        charts.append((caption, bar_chart("picks-per-hour", "Lines picked per hour", hourly, "lines")))
    if kpis.get("late"):
        late_points = _late_rate_points(conn, task)
        if late_points:
            title = "Late rate by report day (recent reports)"
            charts.append((title, line_chart("late-rate", title, late_points)))
    running = task.status.value not in TERMINAL_STATUSES
    waiting_tool = _awaiting_tool(events) if running else None
    if waiting_tool is not None:
        fleet = fleet_repo.list_local_agents(conn, task.org_id, task.agent_id)
        waiting_tool["online"] = [la["host"] for la in fleet if la["status"] == "ONLINE"]
        waiting_tool["timeout_minutes"] = max(1, round(get_settings().tool_timeout_seconds / 60))
    return {
        "task": task,
        "heading": heading,
        "workflow_version": version_number,
        "creator_email": tasks_repo.creator_email(conn, task.id, task.org_id),
        "events": events,
        "awaiting_approval": _awaiting_approval(events) if running else None,
        "awaiting_tool": waiting_tool,
        "history": task_history(task),
        "charts": charts,
        "citations": (task.output or {}).get("citations") or [],
        "table": _output_table(task.output),
        "running": running,
        "task_poll": TASK_POLL_SECONDS,
    }


def _task_workflow(conn: DbConnection, task: Task) -> tuple[str, int | None]:
    """The name of the workflow version the task ran ('Supplier payments') and that version's number, or its key in
    words and None for a task that ran no stored version (a built-in type, a one-off request)."""
    if task.workflow_version_id is not None:
        version = workflows_repo.get_version_by_id(conn, task.workflow_version_id, task.org_id)
        if version is not None:
            name = version.definition.get("name")
            named = name.strip() if isinstance(name, str) and name.strip() else workflow_name(task.type)
            return named, version.version
    return workflow_name(task.type), None


def _awaiting_tool(events: list[Any]) -> dict[str, Any] | None:
    """The tool request the task waits on (its latest TOOL_REQUESTED with no answer after it): what it asked and
    when, so that the page can say it waits for a local agent."""
    answered = {
        (event.data or {}).get("tool_call_id")
        for event in events
        if event.type in (EventType.TOOL_COMPLETED, EventType.TOOL_FAILED)
    }
    for event in reversed(events):
        if event.type == EventType.TOOL_REQUESTED:
            data = event.data or {}
            if data.get("tool_call_id") in answered:
                return None
            return {"tool": data.get("tool") or event.message.partition(":")[0], "requested_at": event.created_at}
    return None


def _awaiting_approval(events: list[Any]) -> dict[str, Any] | None:
    """The request of the approval the task waits on: its latest APPROVAL_REQUESTED with no decision after it."""
    waiting: dict[str, Any] | None = None
    for event in events:
        if event.type == EventType.APPROVAL_REQUESTED:
            # "<node>: waiting for approval (<approvers>): <title>" — said without the node's id
            waiting = {**(event.data or {}), "message": event.message.partition(": ")[2] or event.message}
        elif event.type in (EventType.APPROVAL_APPROVED, EventType.APPROVAL_REJECTED, EventType.APPROVAL_TIMED_OUT):
            waiting = None
    return waiting


@router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    task = task_of_caller(task_id, conn, user)
    org = org_of_caller(task.org_id, conn, user)
    agent = agents_repo.get_agent_in_org(conn, task.agent_id, task.org_id)
    context = _task_context(conn, task)
    return render(
        request, "task.html", title=f"{context['heading']} · task", user=user, org=org, agent=agent, **context
    )


@router.post("/tasks/{task_id}/cancel", dependencies=[CsrfChecked])
def cancel_task_from_form(
    request: Request,
    task_id: UUID,
    conn: ConsoleConn,
    user: ConsoleUser,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Any member may cancel, as in the API; a task that finished meanwhile is the API's 409, as a page."""
    task = task_of_caller(task_id, conn, user)
    cancel_task(conn, task, user, reason.strip() or None)
    return redirect(request, f"/tasks/{task.id}")


@router.get("/tasks/{task_id}/live")
def task_live(request: Request, task_id: UUID, conn: ConsoleConn, user: ConsoleUser) -> Response:
    task = task_of_caller(task_id, conn, user)
    return render(request, "_task_live.html", **_task_context(conn, task))

"""An agent's workflows as versioned definitions (DESIGN §8): list, read, add a version (validated, errors at
the field), list versions, compare two, roll back. Versions are immutable; each new version resyncs the
agent's schedules, whose AWS side runs after the commit (phi.db.connection.after_commit)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from phi.db import workflows as workflows_repo
from phi.db.connection import DbConnection
from phi.definitions.document import diff, parse_stored, to_document, validate_definition
from phi.definitions.patching import email_problems, refuse_problems
from phi.definitions.templates import WorkflowTemplate, template_for_workflow
from phi.domain.agent_config import WorkflowEntry
from phi.domain.models import Agent
from phi.domain.recipients import EmailRecipients
from phi.domain.request_body import RequestBody
from phi.errors import BadRequest, Conflict, NotFound
from phi.services.schedules import sync_agent_schedules

Source = Literal["template", "api", "patch", "rollback"]


class VersionInfo(BaseModel):
    version: int
    source: str
    reason: str | None
    author_id: UUID | None
    author_email: str | None
    based_on: int | None = Field(description="The version this one was made from (a rollback's target)")
    created_at: datetime


class WorkflowSummary(BaseModel):
    key: str
    name: str
    current_version: int
    schedule: dict[str, Any] | None
    updated_at: datetime


class WorkflowView(BaseModel):
    key: str
    current_version: int
    version: VersionInfo
    definition: dict[str, Any]


class VersionView(VersionInfo):
    definition: dict[str, Any]


class NewVersion(RequestBody):
    definition: dict[str, Any] = Field(description="The whole definition (GET /workflow-schema)")
    reason: str | None = Field(default=None, max_length=500, examples=["Our orders table is called ord_hdr"])
    based_on: int | None = Field(
        default=None,
        ge=1,
        description="The version this edit started from; refused (409) when another version was added since",
    )


class Rollback(RequestBody):
    to_version: int = Field(ge=1, examples=[1])
    reason: str | None = Field(default=None, max_length=500, examples=["Version 3's SQL misses cancelled orders"])


class Change(BaseModel):
    op: Literal["add", "remove", "replace"]
    path: str = Field(description="JSON pointer; nodes are addressed by id: /nodes/<id>/settings/sql")
    old: Any = None
    new: Any = None


class VersionDiff(BaseModel):
    key: str
    from_version: int
    to_version: int
    changes: list[Change]


def _info(row: workflows_repo.VersionRow) -> VersionInfo:
    return VersionInfo.model_validate(row.model_dump())


def _workflow(conn: DbConnection, agent: Agent, key: str) -> workflows_repo.WorkflowRow:
    found = workflows_repo.get(conn, agent.id, agent.org_id, key)
    if found is None or found.current_version == 0:
        raise NotFound(f"The agent has no workflow {key!r}.")
    return found


def list_workflows(conn: DbConnection, agent: Agent) -> list[WorkflowSummary]:
    updated = {w.key: w.updated_at for w in workflows_repo.list_for_agent(conn, agent.id, agent.org_id)}
    return [
        WorkflowSummary(
            key=row.definition["key"],
            name=row.definition["name"],
            current_version=row.version,
            schedule=row.definition.get("schedule"),
            updated_at=updated.get(row.definition["key"], row.created_at),
        )
        for row in workflows_repo.current_definitions(conn, agent.id, agent.org_id)
    ]


def get_workflow(conn: DbConnection, agent: Agent, key: str) -> WorkflowView:
    workflow = _workflow(conn, agent, key)
    row = workflows_repo.get_version(conn, workflow.id, agent.org_id, workflow.current_version)
    assert row is not None
    return WorkflowView(key=key, current_version=row.version, version=_info(row), definition=row.definition)


def add_version(
    conn: DbConnection,
    agent: Agent,
    key: str,
    body: NewVersion,
    author_id: UUID | None,
    source: Source = "api",
    *,
    must_be_new: bool = False,
    rollback_of: int | None = None,
) -> WorkflowView:
    definition = validate_definition({**body.definition, "key": body.definition.get("key", key)})
    if definition.key != key:
        raise BadRequest(
            f"The definition's key {definition.key!r} differs from the workflow's key {key!r}.",
            details={"errors": [{"node": None, "field": "key", "message": "differs from the URL"}]},
        )
    if source in ("api", "rollback"):
        # A person's definition e-mails only the agent's configured recipients. The platform's own versions
        # (a template, a schedule change) are not refused for it: the notifier checks again when it sends.
        refuse_problems(email_problems(definition, EmailRecipients.of_tools(agent.tools)))
    document = to_document(definition)
    workflows_repo.create(conn, agent.id, agent.org_id, key)
    workflow = workflows_repo.get(conn, agent.id, agent.org_id, key, lock=True)
    assert workflow is not None
    if must_be_new and workflow.current_version:
        raise Conflict(f"The agent already has a workflow {key!r}; PUT a new version instead.")
    if body.based_on is not None and body.based_on != workflow.current_version:
        raise Conflict(
            f"Version {workflow.current_version} was added since version {body.based_on}; "
            "start again from the current version.",
            details={"current_version": workflow.current_version},
        )
    current = workflows_repo.get_version(conn, workflow.id, agent.org_id, workflow.current_version)
    if current is not None and current.definition == document:
        return get_workflow(conn, agent, key)  # nothing changed: no new version
    workflows_repo.add_version(
        conn,
        workflow,
        definition=document,
        source=source,
        reason=body.reason,
        author_id=author_id,
        based_on=rollback_of or body.based_on,
    )
    sync_agent_schedules(conn, agent)
    return get_workflow(conn, agent, key)


def list_versions(conn: DbConnection, agent: Agent, key: str, limit: int, offset: int) -> list[VersionInfo]:
    workflow = _workflow(conn, agent, key)
    return [_info(r) for r in workflows_repo.list_versions(conn, workflow.id, agent.org_id, limit, offset)]


def get_version(conn: DbConnection, agent: Agent, key: str, version: int) -> VersionView:
    workflow = _workflow(conn, agent, key)
    row = workflows_repo.get_version(conn, workflow.id, agent.org_id, version)
    if row is None:
        raise NotFound(f"Workflow {key!r} has no version {version}.")
    return VersionView(**_info(row).model_dump(), definition=row.definition)


def compare(conn: DbConnection, agent: Agent, key: str, from_version: int, to_version: int) -> VersionDiff:
    old = get_version(conn, agent, key, from_version).definition
    new = get_version(conn, agent, key, to_version).definition
    changes = [Change.model_validate(c) for c in diff(old, new)]
    return VersionDiff(key=key, from_version=from_version, to_version=to_version, changes=changes)


def rollback(conn: DbConnection, agent: Agent, key: str, body: Rollback, author_id: UUID | None) -> WorkflowView:
    """A new version with the definition of an old one (history is never rewritten)."""
    target = get_version(conn, agent, key, body.to_version)
    parse_stored(target.definition)
    reason = body.reason or f"Rolled back to version {body.to_version}"
    new = NewVersion(definition=target.definition, reason=reason)
    return add_version(conn, agent, key, new, author_id, source="rollback", rollback_of=body.to_version)


# --- templates: what a new agent gets, and the config's schedule shortcut ------------------------------------


def with_schedule(definition: dict[str, Any], entry: WorkflowEntry) -> dict[str, Any]:
    """The definition with the schedule the agent's workflow entry gives (none when the entry has none)."""
    changed = {k: v for k, v in definition.items() if k != "schedule"}
    if entry.schedule:
        changed["schedule"] = {
            "cron": entry.schedule,
            "timezone": entry.timezone,
            "overlap": entry.overlap,
            "input": entry.input,
        }
    return changed


def entry_of(template: WorkflowTemplate) -> WorkflowEntry:
    """The agent config's entry for a template (its schedule as the definition states it)."""
    schedule = template.schedule or {}
    return WorkflowEntry(
        type=template.workflow_key,
        schedule=schedule.get("cron"),
        timezone=schedule.get("timezone", "UTC"),
        input=schedule.get("input") or {},
        overlap=schedule.get("overlap", "SKIP"),
    )


def in_site_zone(definition: dict[str, Any], agent: Agent) -> dict[str, Any]:
    """A template's schedule at its hour in the agent's site (its warehouse time zone): a daily report at 07:00
    and a handover at 22:30 are meant on the site's clock, whatever zone the catalogue wrote them in."""
    schedule = definition.get("schedule")
    zone = agent.config.get("warehouse_timezone")
    if not isinstance(schedule, dict) or not isinstance(zone, str) or not zone:
        return definition
    return {**definition, "schedule": {**schedule, "timezone": zone}}


def follow_site_zone(
    conn: DbConnection, agent: Agent, old_zone: str, author_id: UUID | None, keep: Collection[str] = ()
) -> list[str]:
    """After the site's time zone changed: each workflow scheduled on the site's old clock keeps its hour on the
    new one (a new version of its definition); a schedule set in another zone stays, and so do the workflows in
    `keep` (their schedule given in the same change). The keys of the workflows moved."""
    new_zone = agent.config.get("warehouse_timezone") or "UTC"
    moved = []
    for row in workflows_repo.current_definitions(conn, agent.id, agent.org_id):
        key = row.definition["key"]
        schedule = row.definition.get("schedule")
        if key in keep or not isinstance(schedule, dict) or schedule.get("timezone", "UTC") != old_zone:
            continue
        definition = {**row.definition, "schedule": {**schedule, "timezone": new_zone}}
        reason = f"The site's time zone changed from {old_zone} to {new_zone}; the schedule keeps its local hour"
        add_version(conn, agent, key, NewVersion(definition=definition, reason=reason), author_id, source="patch")
        moved.append(key)
    return moved


def adopt_workflows(
    conn: DbConnection, agent: Agent, entries: Sequence[WorkflowEntry], author_id: UUID | None, *, from_role: bool
) -> None:
    """Each workflow the agent's config names, stored as a version in the caller's unit of work (schedules resync
    after it commits): a workflow the agent does not have yet starts as its template (source "template"), with
    the entry's schedule unless the entry comes from the role (then the template's own schedule stands); one it
    has gets a new version (source "patch") only when the entry changes its schedule. A stored workflow the
    entries no longer name loses its schedule (it stays runnable on request)."""
    named = {e.type for e in entries}
    for entry in entries:
        stored = workflows_repo.current_version_for_key(conn, agent.id, agent.org_id, entry.type)
        if stored is None:
            template = template_for_workflow(entry.type)
            if template is None:
                continue
            definition = (
                in_site_zone(template.definition, agent) if from_role else with_schedule(template.definition, entry)
            )
            reason = f"Created from the template {template.key}"
            body = NewVersion(definition=definition, reason=reason)
            add_version(conn, agent, entry.type, body, author_id, source="template")
        else:
            changed = with_schedule(stored.definition, entry)
            if changed.get("schedule") != stored.definition.get("schedule"):
                body = NewVersion(definition=changed, reason="Schedule changed in the agent's workflows")
                add_version(conn, agent, entry.type, body, author_id, source="patch")
    for row in workflows_repo.current_definitions(conn, agent.id, agent.org_id):
        key = row.definition["key"]
        if key not in named and row.definition.get("schedule"):
            unscheduled = {k: v for k, v in row.definition.items() if k != "schedule"}
            body = NewVersion(definition=unscheduled, reason="No longer scheduled in the agent's workflows")
            add_version(conn, agent, key, body, author_id, source="patch")

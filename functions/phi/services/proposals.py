"""The patch lane's proposals (DESIGN §9): a validated change to a workflow, tied to the version it was made
against, that an OWNER or ADMIN approves (→ a new version with source 'patch'; schedules resync after the
commit) or rejects. A proposal made against an older version is never applied over a newer one: approving it
answers 409 in words until it is rebased — its patch re-applied on the current version and validated again.

Approvals serialise on the workflow row (SELECT … FOR UPDATE): of two proposals on the same base approved at
once, the first commits its version and the second then finds the workflow moved on."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from phi.db import requests as requests_repo
from phi.db import workflows as workflows_repo
from phi.db.connection import DbConnection
from phi.definitions.patching import PatchRefused, patched_definition, validate_for_agent
from phi.domain.models import Agent
from phi.domain.request_body import RequestBody
from phi.errors import Conflict, InvalidDefinition, NotFound
from phi.services.requests import agent_scope
from phi.services.workflows import NewVersion, add_version

ProposalStatus = Literal["PENDING", "APPROVED", "REJECTED"]


class Finding(BaseModel):
    node: str | None = None
    field: str
    message: str


class ProposalView(BaseModel):
    id: UUID
    agent_id: UUID
    workflow: str = Field(description="The key of the workflow it changes")
    request_id: UUID | None
    status: ProposalStatus
    base_version: int = Field(description="The version the patch was made against")
    current_version: int = Field(description="The workflow's version now")
    stale: bool = Field(description="True when the workflow moved on since: approve answers 409 until rebased")
    summary: str = Field(description="What changes, in plain language")
    explanation: str | None = Field(description="The model's own words, when a model wrote the patch")
    patch: list[dict[str, Any]] = Field(description="The RFC 6902 operations")
    changes: list[dict[str, Any]] = Field(description="{op, path, old, new}; nodes addressed by id")
    warnings: list[Finding] = Field(description="Structural findings that do not block (unreachable, unused)")
    definition: dict[str, Any] = Field(description="The workflow as it would be")
    created_by: UUID | None
    created_at: datetime
    decided_by: UUID | None
    decided_at: datetime | None
    decision_reason: str | None
    applied_version: int | None = Field(description="The version its approval created")
    rebased_from: int | None = Field(description="The base it had before its last rebase")


class Decision(RequestBody):
    reason: str | None = Field(default=None, max_length=500, examples=["Ops asked for this on Monday"])
    base_version: int | None = Field(
        default=None,
        ge=1,
        description="On approve: the base version of the proposal as reviewed; if another admin rebased it since "
        "(its definition is then the patch on a newer version), the approval answers 409 instead",
        examples=[1],
    )


def _view(conn: DbConnection, row: requests_repo.ProposalRow) -> ProposalView:
    workflow = workflows_repo.get(conn, row.agent_id, row.org_id, row.workflow_key)
    current = workflow.current_version if workflow else 0
    return ProposalView(
        id=row.id,
        agent_id=row.agent_id,
        workflow=row.workflow_key,
        request_id=row.request_id,
        status=row.status,  # type: ignore[arg-type]
        base_version=row.base_version,
        current_version=current,
        stale=row.status == "PENDING" and current != row.base_version,
        summary=row.summary,
        explanation=row.explanation,
        patch=row.patch,
        changes=row.changes,
        warnings=[Finding.model_validate(w) for w in row.warnings],
        definition=row.definition,
        created_by=row.created_by,
        created_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        applied_version=row.applied_version,
        rebased_from=row.rebased_from,
    )


def _proposal(conn: DbConnection, agent: Agent, proposal_id: UUID, *, lock: bool = False) -> requests_repo.ProposalRow:
    row = requests_repo.get_proposal(conn, proposal_id, agent.org_id, lock=lock)
    if row is None or row.agent_id != agent.id:
        raise NotFound("Proposal not found.")
    return row


def _pending(row: requests_repo.ProposalRow) -> None:
    if row.status != "PENDING":
        when = f" at {row.decided_at:%Y-%m-%d %H:%M} UTC" if row.decided_at else ""
        raise Conflict(f"This proposal was already {row.status.lower()}{when}; it can no longer change.")


def get_proposal(conn: DbConnection, agent: Agent, proposal_id: UUID) -> ProposalView:
    return _view(conn, _proposal(conn, agent, proposal_id))


def list_proposals(
    conn: DbConnection, org_id: UUID, agent_id: UUID | None, status: str | None, limit: int, offset: int
) -> tuple[list[ProposalView], int]:
    rows, total = requests_repo.list_proposals(
        conn, org_id, agent_id=agent_id, status=status, limit=limit, offset=offset
    )
    return [_view(conn, r) for r in rows], total


def _stale_message(conn: DbConnection, row: requests_repo.ProposalRow, current: int) -> str:
    latest = workflows_repo.get_version(conn, row.workflow_id, row.org_id, current)
    by = ""
    if latest is not None:
        who = latest.author_email or "the platform"
        why = f": {latest.reason}" if latest.reason else ""
        by = f" (saved by {who}, source {latest.source}{why})"
    return (
        f"This proposal was made against version {row.base_version} of {row.workflow_key!r}, but the workflow "
        f"is at version {current} now{by}. It is not applied over a newer version: rebase it (POST …/rebase) "
        f"to re-apply the change on version {current} and review it again, or reject it."
    )


def approve(conn: DbConnection, agent: Agent, proposal_id: UUID, user_id: UUID, body: Decision) -> ProposalView:
    row = _proposal(conn, agent, proposal_id, lock=True)
    _pending(row)
    if body.base_version is not None and body.base_version != row.base_version:
        raise Conflict(
            f"This proposal was rebased since you reviewed it: it now stands against version {row.base_version} of "
            f"{row.workflow_key!r}, not version {body.base_version}. Review the change again before approving it.",
            details={"reviewed_base_version": body.base_version, "base_version": row.base_version},
        )
    workflow = workflows_repo.get(conn, agent.id, agent.org_id, row.workflow_key, lock=True)
    if workflow is None or workflow.current_version == 0:
        raise Conflict(f"The workflow {row.workflow_key!r} no longer exists; reject this proposal.")
    if workflow.current_version != row.base_version:
        raise Conflict(
            _stale_message(conn, row, workflow.current_version),
            details={"base_version": row.base_version, "current_version": workflow.current_version},
        )
    try:  # the agent's tools or recipients may have changed since
        validate_for_agent(row.definition, agent_scope(conn, agent))
    except InvalidDefinition as exc:
        raise Conflict(f"The proposed workflow is no longer valid for this agent: {exc.message}") from exc
    reason = body.reason or f"Approved proposal: {row.summary}"
    version = add_version(
        conn,
        agent,
        row.workflow_key,
        NewVersion(definition=row.definition, reason=reason[:500], based_on=row.base_version),
        user_id,
        source="patch",
    )
    requests_repo.decide(
        conn, row.id, agent.org_id, status="APPROVED", decided_by=user_id, reason=body.reason,
        applied_version=version.current_version,
    )  # fmt: skip
    return get_proposal(conn, agent, proposal_id)


def reject(conn: DbConnection, agent: Agent, proposal_id: UUID, user_id: UUID, body: Decision) -> ProposalView:
    row = _proposal(conn, agent, proposal_id, lock=True)
    _pending(row)
    requests_repo.decide(
        conn, row.id, agent.org_id, status="REJECTED", decided_by=user_id, reason=body.reason, applied_version=None
    )
    return get_proposal(conn, agent, proposal_id)


def rebase(conn: DbConnection, agent: Agent, proposal_id: UUID) -> ProposalView:
    """Re-applies the proposal's patch on the workflow's current version and validates the result again; the
    proposal then stands against that version (its summary and changes recomputed) and can be approved."""
    row = _proposal(conn, agent, proposal_id, lock=True)
    _pending(row)
    current = workflows_repo.current_version_for_key(conn, agent.id, agent.org_id, row.workflow_key)
    if current is None:
        raise Conflict(f"The workflow {row.workflow_key!r} no longer exists; reject this proposal.")
    if current.version == row.base_version:
        return _view(conn, row)  # already against the current version
    try:
        document, warnings, changes, summary = patched_definition(
            current.definition, row.patch, agent_scope(conn, agent)
        )
    except PatchRefused as exc:
        raise Conflict(
            f"The change no longer applies to version {current.version}: {exc.message} Reject this proposal "
            "and ask again against the current workflow.",
            details=exc.details,
        ) from exc
    requests_repo.rebase(
        conn,
        row.id,
        agent.org_id,
        base_version=current.version,
        definition=document,
        summary=summary,
        changes=changes,
        warnings=[w.model_dump() for w in warnings],
    )
    return get_proposal(conn, agent, proposal_id)

"""Requests to an agent (DESIGN §9): classify the lane, then run a one-off pipeline (execute) or propose a JSON
Patch of a workflow (patch). Every request is kept with its lane, how the lane was chosen and its outcome — a
task, a proposal, or a refusal in words (a refused request is committed before the error answers, so it is
listed too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from phi.aws import client
from phi.db import catalog as catalog_repo
from phi.db import llm_calls as llm_calls_repo
from phi.db import requests as requests_repo
from phi.db import tasks as tasks_repo
from phi.db import workflows as workflows_repo
from phi.db.connection import DbConnection, commit, rollback
from phi.definitions.document import WorkflowDefinition, validate_inputs
from phi.definitions.patching import AgentScope, outbound_side_effects, patched_definition, validate_for_agent
from phi.definitions.registry import AD_HOC
from phi.domain.models import Agent, OrgRole, Task, is_manager_role
from phi.domain.recipients import EmailRecipients
from phi.domain.request_body import RequestBody
from phi.errors import BadRequest, Conflict, Forbidden, InvalidDefinition, LlmBudgetExhausted, NotFound, PhiError
from phi.llm.failures import describe
from phi.services.lanes import Classification, Lane, UnusableAnswer, classify_by_rules
from phi.services.planning import (
    Budget,
    PlanningContext,
    RequestLlmCall,
    classify_with_llm,
    plan_patch,
    plan_pipeline,
)
from phi.services.tasks import start_task
from phi.settings import get_settings

AD_HOC_TRIGGER = "request"


class LlmRequired(BadRequest):
    code = "llm_required"


class NewRequest(RequestBody):
    prompt: str = Field(min_length=1, max_length=4000, examples=["show me the 10 most late carriers yesterday"])
    lane: Lane | None = Field(default=None, description="Force a lane instead of classifying the prompt")
    pipeline: dict[str, Any] | None = Field(
        default=None,
        description="Execute lane without an LLM: the one-off pipeline as a workflow definition (nodes, edges; "
        "key and name optional, no schedule). GET /workflow-schema has the format.",
    )
    input: dict[str, Any] = Field(default_factory=dict, description="Inputs of the pipeline, if it declares any")
    patch: list[dict[str, Any]] | None = Field(
        default=None, description="Patch lane without an LLM: RFC 6902 operations against the current definition"
    )
    workflow: str | None = Field(
        default=None, max_length=64, description="Patch lane: the key of the workflow to change"
    )
    based_on: int | None = Field(
        default=None, ge=1, description="Patch lane: the version the patch was written against (refused if stale)"
    )


class LaneDecision(BaseModel):
    lane: Lane
    source: Literal["caller", "llm", "rules"] = Field(description="Who chose the lane")
    confidence: float | None = None
    reason: str


class Refusal(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ToolCallInfo(BaseModel):
    tool: str
    status: str
    error: str | None = None
    bytes: int | None = None
    latency_ms: float | None = None


class RequestMetadata(BaseModel):
    rows: int | None = Field(default=None, description="Rows in the full result")
    bytes: int | None = Field(default=None, description="Size of the full result as CSV")
    model: str | None = Field(default=None, description="The model that planned (else classified, else ran), if any")
    tokens: int = Field(default=0, description="Prompt + completion tokens of the request's and its task's LLM calls")
    llm_calls: list[RequestLlmCall] = Field(default_factory=list)
    run_seconds: float | None = Field(default=None, description="Task start to finish")
    tool_calls: int = 0
    tool_call_details: list[ToolCallInfo] = Field(default_factory=list)


class Download(BaseModel):
    url: str = Field(description="Pre-signed GET of the full result as CSV")
    expires_at: datetime


class RequestResult(BaseModel):
    columns: list[str] | None = None
    preview: list[list[Any]] | None = Field(default=None, description="The first rows")
    row_count: int | None = None
    value: Any = Field(default=None, description="The output when it is not a table (e.g. a rendered report)")
    csv: Download | None = None
    truncated: bool = Field(
        default=False, description="The data was cut at a tool's row limit: the result covers the rows fetched only"
    )
    notes: list[str] = Field(default_factory=list, description="What the run noted (a capped source, a skipped LLM)")


class RequestSummary(BaseModel):
    id: UUID
    agent_id: UUID
    prompt: str
    lane: Lane
    lane_source: str
    outcome: Literal["task", "proposal", "refused"]
    status: str = Field(description="The task's status, the proposal's status, or REFUSED")
    task_id: UUID | None
    proposal_id: UUID | None
    created_by: UUID | None
    created_at: datetime


class RequestView(RequestSummary):
    decision: LaneDecision
    refusal: Refusal | None
    pipeline: dict[str, Any] | None = Field(description="The execute lane's pipeline as it ran")
    error: dict[str, Any] | None = Field(default=None, description="The task's error, if it failed")
    result: RequestResult | None
    metadata: RequestMetadata


# --- submitting --------------------------------------------------------------------------------------------------


def _model_failure(exc: Exception, limit: int) -> str:
    """Why the model's answer could not be used, fit to keep on the request and show its members: the project's
    own words about an answer, but only the kind and HTTP status of a provider's error, whose text can echo a
    masked key or the request."""
    return str(exc)[:limit] if isinstance(exc, UnusableAnswer) else describe(exc)


def _decide(body: NewRequest, llm: Any, budget: Budget, calls: list[RequestLlmCall]) -> LaneDecision:
    if body.pipeline is not None and body.patch is not None:  # refused in submit, where the refusal is kept
        return LaneDecision(
            lane=body.lane or "execute", source="caller", reason="Both a pipeline and a patch were given."
        )
    if body.lane is not None:
        return LaneDecision(lane=body.lane, source="caller", reason="The caller chose the lane.")
    if body.pipeline is not None:
        return LaneDecision(lane="execute", source="caller", reason="An explicit pipeline was given: execute lane.")
    if body.patch is not None:
        return LaneDecision(lane="patch", source="caller", reason="An explicit JSON Patch was given: patch lane.")
    note = ""
    if llm is not None:
        try:
            answer: Classification = classify_with_llm(llm, body.prompt, budget, calls)
            return LaneDecision(lane=answer.lane, source="llm", confidence=answer.confidence, reason=answer.reason)
        except Exception as exc:  # the rules still decide; the reason says why the model did not
            note = f" (the model's answer could not be used: {_model_failure(exc, 200)})"
    rules = classify_by_rules(body.prompt)
    return LaneDecision(lane=rules.lane, source="rules", confidence=rules.confidence, reason=rules.reason + note)


def _llm(agent: Agent) -> tuple[Any, str | None]:
    """The provider (its calls accounted on the organisation, within its token budget), or None with why (not
    configured, or configured wrongly)."""
    from phi.llm import get_llm
    from phi.llm.accounting import DbLlmAccounting

    try:
        accounting = DbLlmAccounting(agent.org_id, agent_id=agent.id)
        return get_llm(timeout_seconds=get_settings().request_llm_budget_seconds, accounting=accounting), None
    except RuntimeError as exc:
        return None, str(exc)


def agent_scope(conn: DbConnection, agent: Agent) -> AgentScope:
    """What a definition for the agent may use: its tools' operations and the recipients of its email tool."""
    tools = catalog_repo.tools_by_id(conn, [t.tool_id for t in agent.tools])
    return AgentScope(
        operations=frozenset(op for t in tools for op in t.operations), email=EmailRecipients.of_tools(agent.tools)
    )


def _context(conn: DbConnection, agent: Agent) -> PlanningContext:
    scope = agent_scope(conn, agent)
    return PlanningContext(
        agent_name=agent.name,
        tools=sorted(scope.operations),
        email_recipients=sorted(scope.email.configured or []),
        workflows=[r.definition for r in workflows_repo.current_definitions(conn, agent.id, agent.org_id)],
    )


def submit(
    conn: DbConnection, agent: Agent, user_id: UUID | None, role: OrgRole | None, body: NewRequest
) -> RequestView:
    """`role` is the caller's in the agent's organisation: a one-off pipeline's webhooks and POSTs need an owner
    or admin."""
    llm, llm_problem = _llm(agent)
    budget = Budget(get_settings().request_llm_budget_seconds)
    calls: list[RequestLlmCall] = []
    decision = _decide(body, llm, budget, calls)
    if llm_problem and decision.source == "rules":
        decision.reason += f" (LLM not usable: {llm_problem})"
    state = _Submission(conn, agent, user_id, role, body, decision, calls)
    try:
        if body.pipeline is not None and body.patch is not None:
            raise BadRequest("Give a pipeline (execute lane) or a patch (patch lane), not both.")
        if decision.lane == "execute":
            return state.execute(llm, budget)
        return state.patch(llm, budget)
    except PhiError as error:
        state.refuse(error)
        raise


class _Submission:
    def __init__(
        self,
        conn: DbConnection,
        agent: Agent,
        user_id: UUID | None,
        role: OrgRole | None,
        body: NewRequest,
        decision: LaneDecision,
        calls: list[RequestLlmCall],
    ) -> None:
        self.conn, self.agent, self.user_id, self.role, self.body = conn, agent, user_id, role, body
        self.decision, self.calls = decision, calls
        self.request_id: UUID | None = None

    def _row(self, outcome: str, **extra: Any) -> requests_repo.RequestRow:
        return requests_repo.create_request(
            self.conn,
            org_id=self.agent.org_id,
            agent_id=self.agent.id,
            created_by=self.user_id,
            prompt=self.body.prompt,
            lane=self.decision.lane,
            lane_source=self.decision.source,
            confidence=self.decision.confidence,
            lane_reason=self.decision.reason,
            outcome=outcome,
            llm_usage=[c.model_dump() for c in self.calls],
            **extra,
        )

    def refuse(self, error: PhiError) -> None:
        """Keeps the refused request (committed now, the error then answers) and names it in the error."""
        if self.request_id is not None:
            return
        rollback(self.conn)  # nothing of the refused attempt stays, not even an after-commit hook
        refusal = Refusal(code=error.code, message=error.message, details=error.details)
        row = self._row("refused", refusal=refusal.model_dump(mode="json"))
        commit(self.conn)
        error.details = {**error.details, "request_id": str(row.id), "lane": self.decision.lane}

    # --- execute lane ---

    def execute(self, llm: Any, budget: Budget) -> RequestView:
        if self.body.patch is not None:
            raise BadRequest("A JSON Patch belongs to the patch lane; this request is in the execute lane.")
        raw = self.body.pipeline
        if raw is None:
            if llm is None:
                raise LlmRequired(
                    "This request is in the execute lane, and planning a pipeline needs an LLM, which is not "
                    "configured. Give the pipeline yourself (`pipeline`: nodes and edges, see GET /workflow-schema) "
                    "or configure an LLM (PHI_LLM_PROVIDER)."
                )
            try:
                raw, _ = plan_pipeline(llm, self.body.prompt, _context(self.conn, self.agent), budget, self.calls)
            except LlmBudgetExhausted:
                raise
            except Exception as exc:
                raise BadRequest(f"The model could not plan a pipeline: {_model_failure(exc, 300)}") from exc
        definition = _one_off(raw, self.body.prompt)
        try:
            checked, _ = validate_for_agent(definition, agent_scope(self.conn, self.agent))
            clean_input = validate_inputs(checked, self.body.input)
        except InvalidDefinition as exc:
            source = "The planned pipeline" if self.body.pipeline is None else "The pipeline"
            raise InvalidDefinition(
                f"{source} is not valid: {exc.message.removeprefix('Invalid workflow definition: ')}",
                details=exc.details,
            ) from exc
        _require_role_for_side_effects(checked, self.role)
        from phi.definitions.document import to_document

        pipeline = to_document(checked)
        if self.agent.status != "ACTIVE":  # refused here, so that the refusal is kept
            raise Conflict("This agent is disabled; enable it to run requests.")
        row = self._row("task", pipeline=pipeline)
        self.request_id = row.id

        def link(task: Task) -> None:
            requests_repo.set_task(self.conn, row.id, self.agent.org_id, task.id)

        start_task(self.conn, self.agent, self.user_id, AD_HOC, clean_input, AD_HOC_TRIGGER, before_start=link)
        return get_request(self.conn, self.agent, row.id)

    # --- patch lane ---

    def patch(self, llm: Any, budget: Budget) -> RequestView:
        if self.body.pipeline is not None:
            raise BadRequest("A pipeline belongs to the execute lane; this request is in the patch lane.")
        current = workflows_repo.current_definitions(self.conn, self.agent.id, self.agent.org_id)
        if not current:
            raise Conflict(
                "This request is in the patch lane, but the agent has no workflow definitions to change "
                "(built-in workflows are code): add one with POST /agents/{id}/workflows first."
            )
        operations, key, explanation = self.body.patch, self.body.workflow, None
        if operations is None:
            if llm is None:
                raise LlmRequired(
                    "This request is in the patch lane, and writing the change needs an LLM, which is not "
                    "configured. Give the change yourself (`patch`: RFC 6902 operations against the definition "
                    "GET /agents/{id}/workflows/{key} returns) or configure an LLM (PHI_LLM_PROVIDER)."
                )
            try:
                key_by_model, operations, explanation = plan_patch(
                    llm, self.body.prompt, _context(self.conn, self.agent), budget, self.calls
                )
            except LlmBudgetExhausted:
                raise
            except Exception as exc:
                raise BadRequest(f"The model could not write a change: {_model_failure(exc, 300)}") from exc
            key = key or key_by_model
        target = _target(current, key)
        if self.body.based_on is not None and self.body.based_on != target.version:
            raise Conflict(
                f"The patch was written against version {self.body.based_on} of {target.definition['key']!r}, "
                f"which is at version {target.version} now: write it against the current definition.",
                details={"current_version": target.version},
            )
        document, warnings, changes, summary = patched_definition(
            target.definition, operations, agent_scope(self.conn, self.agent)
        )
        row = self._row("proposal")
        self.request_id = row.id
        requests_repo.create_proposal(
            self.conn,
            org_id=self.agent.org_id,
            agent_id=self.agent.id,
            workflow_id=target.workflow_id,
            request_id=row.id,
            base_version=target.version,
            patch=list(operations),
            definition=document,
            summary=summary,
            explanation=explanation,
            changes=changes,
            warnings=[w.model_dump() for w in warnings],
            created_by=self.user_id,
        )
        return get_request(self.conn, self.agent, row.id)


def _require_role_for_side_effects(definition: WorkflowDefinition, role: OrgRole | None) -> None:
    """A member may ask questions and e-mail the agent's configured recipients, but a webhook signed with the
    organisation's secret or a POST to a partner's API with a payload of their choosing is for an owner or
    admin (as saving a workflow that does so is)."""
    if is_manager_role(role):
        return
    effects = outbound_side_effects(definition)
    if effects:
        first = effects[0]
        raise Forbidden(
            f"Node {first.node!r} ({first.field}) {first.message}: in a one-off request only an owner or admin "
            "of the organisation may send webhooks or POST to other systems.",
            details={"errors": [e.model_dump() for e in effects]},
        )


def _one_off(raw: Any, prompt: str) -> Any:
    """An ad-hoc pipeline's defaults (key ad_hoc, the prompt as its name); a schedule is refused: it runs once."""
    if not isinstance(raw, dict):
        raise InvalidDefinition("The pipeline must be a JSON object with nodes and edges.")
    if "schedule" in raw:
        raise InvalidDefinition(
            "A one-off pipeline runs once, now: it has no schedule. To run something on a schedule, "
            "change a workflow (patch lane) or add one (POST /agents/{id}/workflows)."
        )
    return {"key": "ad_hoc", "name": prompt.strip()[:120] or "Ad-hoc request", **raw}


def _target(current: list[workflows_repo.VersionRow], key: str | None) -> workflows_repo.VersionRow:
    keys = [r.definition["key"] for r in current]
    if key:
        found = next((r for r in current if r.definition["key"] == key), None)
        if found is None:
            raise NotFound(f"The agent has no workflow {key!r}; its workflows: {', '.join(keys)}.")
        return found
    if len(current) > 1:
        raise BadRequest(f"The agent has {len(current)} workflows ({', '.join(keys)}): name one with `workflow`.")
    return current[0]


# --- reading -----------------------------------------------------------------------------------------------------


def _status(row: requests_repo.RequestRow, task: Task | None, proposal_status: str | None) -> str:
    if row.outcome == "refused":
        return "REFUSED"
    if row.outcome == "task":
        return task.status.value if task else "PENDING"
    return proposal_status or "PENDING"


def _summary(row: requests_repo.RequestRow, status: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "agent_id": row.agent_id,
        "prompt": row.prompt,
        "lane": row.lane,
        "lane_source": row.lane_source,
        "outcome": row.outcome,
        "status": status,
        "task_id": row.task_id,
        "proposal_id": row.proposal_id,
        "created_by": row.created_by,
        "created_at": row.created_at,
    }


def list_requests(conn: DbConnection, agent: Agent, limit: int, offset: int) -> tuple[list[RequestSummary], int]:
    rows, total = requests_repo.list_requests(conn, agent.id, agent.org_id, limit, offset)
    summaries = []
    for row in rows:
        task = tasks_repo.get_task(conn, row.task_id, row.org_id) if row.task_id else None
        proposal = requests_repo.get_proposal(conn, row.proposal_id, row.org_id) if row.proposal_id else None
        status = _status(row, task, proposal.status if proposal else None)
        summaries.append(RequestSummary.model_validate(_summary(row, status)))
    return summaries, total


def get_request(conn: DbConnection, agent: Agent, request_id: UUID) -> RequestView:
    row = requests_repo.get_request(conn, request_id, agent.org_id)
    if row is None or row.agent_id != agent.id:
        raise NotFound("Request not found.")
    task = tasks_repo.get_task(conn, row.task_id, row.org_id) if row.task_id else None
    proposal = requests_repo.get_proposal(conn, row.proposal_id, row.org_id) if row.proposal_id else None
    calls = [RequestLlmCall.model_validate(c) for c in row.llm_usage]
    metadata = RequestMetadata(
        model=next((c.model for c in reversed(calls)), None),
        tokens=sum(c.prompt_tokens + c.completion_tokens for c in calls),
        llm_calls=calls,
    )
    result = None
    if task is not None:
        result = _result(task, metadata)
        _task_metadata(conn, task, metadata)
    return RequestView(
        **_summary(row, _status(row, task, proposal.status if proposal else None)),
        decision=LaneDecision(
            lane=row.lane,  # type: ignore[arg-type]
            source=row.lane_source,  # type: ignore[arg-type]
            confidence=row.confidence,
            reason=row.lane_reason,
        ),
        refusal=Refusal.model_validate(row.refusal) if row.refusal else None,
        pipeline=row.pipeline,
        error=task.error if task else None,
        result=result,
        metadata=metadata,
    )


def _task_metadata(conn: DbConnection, task: Task, metadata: RequestMetadata) -> None:
    for call in llm_calls_repo.list_for_task(conn, task.id, task.org_id):  # the pipeline's own llm nodes
        if call.ok:
            metadata.llm_calls.append(
                RequestLlmCall(
                    purpose=call.purpose,
                    model=call.model,
                    prompt_tokens=call.prompt_tokens,
                    completion_tokens=call.completion_tokens,
                    latency_ms=call.latency_ms,
                )
            )
            metadata.tokens += call.prompt_tokens + call.completion_tokens
            metadata.model = metadata.model or call.model
    if task.started_at and task.finished_at:
        metadata.run_seconds = round((task.finished_at - task.started_at).total_seconds(), 3)
    calls = requests_repo.tool_calls_of_task(conn, task.id, task.org_id)
    metadata.tool_calls = len(calls)
    metadata.tool_call_details = [
        ToolCallInfo(
            tool=c.tool,
            status=c.status,
            error=c.error_code,
            bytes=c.result_bytes,
            latency_ms=round((c.completed_at - c.requested_at).total_seconds() * 1000, 1) if c.completed_at else None,
        )
        for c in calls
    ]


def _result(task: Task, metadata: RequestMetadata) -> RequestResult | None:
    output = task.output
    if not output:
        return None
    if not (isinstance(output.get("columns"), list) and isinstance(output.get("rows"), list)):
        return RequestResult(value={k: v for k, v in output.items() if k != "workflow"})
    reference = output.get("result") or {}
    metadata.rows = int(reference.get("rows", output.get("row_count", len(output["rows"]))))
    metadata.bytes = reference.get("csv_bytes")
    return RequestResult(
        columns=output["columns"],
        preview=output["rows"][: get_settings().request_preview_rows],
        row_count=metadata.rows,
        csv=_download(reference.get("csv_key"), task),
        truncated=bool(output.get("truncated")),
        notes=[str(note) for note in output.get("notes") or []],
    )


def _download(key: str | None, task: Task) -> Download | None:
    settings = get_settings()
    expected_prefix = f"{settings.request_results_prefix}{task.org_id}/{task.id}/"
    if not key or not settings.documents_bucket or not key.startswith(expected_prefix):
        return None
    seconds = settings.request_download_url_seconds
    url = client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": settings.documents_bucket, "Key": key}, ExpiresIn=seconds
    )
    return Download(url=url, expires_at=datetime.now(UTC) + timedelta(seconds=seconds))

"""The model's side of a request (DESIGN §9): classification (purpose "classification") and plans (purpose
"planning") — a one-off pipeline for the execute lane, a JSON Patch for the patch lane. Each call runs inside an
API request, so all of them together are cut off after `request_llm_budget_seconds`; nothing here retries.

What the model sees: the agent's tools, the data contracts it can rely on (its workflows' local-tool steps: their
SQL, files and columns), the compute functions' column contracts and the workflow JSON Schema. What it
answers is only a proposal: the caller validates it exactly like a definition written by a person."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import Any

from pydantic import BaseModel, Field

from phi.definitions.document import published_schema
from phi.definitions.functions import COMPUTE
from phi.llm import ChatMessage, LlmProvider
from phi.llm.base import Purpose
from phi.services.lanes import (
    CLASSIFICATION_SCHEMA,
    CLASSIFICATION_SYSTEM,
    Classification,
    UnusableAnswer,
    parse_classification,
    parse_json_answer,
)

MAX_CONTEXT_CHARS = 60_000


class RequestLlmCall(BaseModel):
    purpose: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0


class Budget:
    """What is left of the request's LLM time."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


class PlanningContext(BaseModel):
    agent_name: str
    tools: list[str] = Field(description="operations the agent's local agent runs, e.g. db.query")
    email_recipients: list[str] = Field(
        default_factory=list, description="the only addresses an email notify node may write to (its email tool)"
    )
    workflows: list[dict[str, Any]] = Field(description="the agent's current workflow definitions (with their SQL)")


def _chat(
    llm: LlmProvider,
    messages: list[ChatMessage],
    purpose: Purpose,
    schema: dict[str, Any],
    budget: Budget,
    calls: list[RequestLlmCall],
) -> str:
    seconds = budget.left()
    if seconds <= 0.5:
        raise UnusableAnswer("the request's time for the model is spent")
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{purpose}-llm")
    started = time.monotonic()
    future = pool.submit(llm.chat, messages, purpose=purpose, json_schema=schema)
    pool.shutdown(wait=False)
    try:
        response = future.result(timeout=seconds)
    except FuturesTimeout as exc:
        raise UnusableAnswer(f"the model did not answer within {seconds:.0f} s") from exc
    calls.append(
        RequestLlmCall(
            purpose=purpose,
            model=response.model,
            prompt_tokens=response.prompt_tokens,
            completion_tokens=response.completion_tokens,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
        )
    )
    return response.text


def classify_with_llm(llm: LlmProvider, prompt: str, budget: Budget, calls: list[RequestLlmCall]) -> Classification:
    messages = [
        ChatMessage(role="system", content=CLASSIFICATION_SYSTEM),
        ChatMessage(role="user", content=prompt),
    ]
    return parse_classification(_chat(llm, messages, "classification", CLASSIFICATION_SCHEMA, budget, calls))


def _contracts(context: PlanningContext) -> str:
    compute = {
        f.name: {"description": f.description, "datasets": {d: list(c) for d, c in f.datasets.items()}}
        for f in COMPUTE.values()
    }
    local_steps = [
        {"workflow": w.get("key"), "node": n.get("id"), **n.get("settings", {})}
        for w in context.workflows
        for n in w.get("nodes") or []
        if n.get("kind") == "local_tool"
    ]
    text = json.dumps(
        {
            "agent": context.agent_name,
            "tools": context.tools,
            "e-mail recipients (the only addresses a notify email node may write to)": context.email_recipients,
            "data the agent's workflows already read (their local_tool steps)": local_steps,
            "compute functions and their column contracts": compute,
        },
        indent=1,
    )
    return text[:MAX_CONTEXT_CHARS]


def _schema_text() -> str:
    return json.dumps(published_schema(), separators=(",", ":"))[:MAX_CONTEXT_CHARS]


PIPELINE_ANSWER = {
    "type": "object",
    "required": ["definition", "explanation"],
    "properties": {"definition": {"type": "object"}, "explanation": {"type": "string"}},
}
PATCH_ANSWER = {
    "type": "object",
    "required": ["workflow", "patch", "explanation"],
    "properties": {
        "workflow": {"type": "string"},
        "patch": {"type": "array", "items": {"type": "object"}},
        "explanation": {"type": "string"},
    },
}


def plan_pipeline(
    llm: LlmProvider, prompt: str, context: PlanningContext, budget: Budget, calls: list[RequestLlmCall]
) -> tuple[dict[str, Any], str]:
    """(definition, explanation): a one-off pipeline that answers `prompt`, in the workflow format."""
    system = (
        "You plan one-off data pipelines for an operations agent. Answer with JSON {definition, explanation}. "
        "`definition` is a workflow definition valid against the JSON Schema below, run once now: no schedule. "
        "Fetch data with local_tool nodes (only the agent's tools; SQL only over tables and columns you see in "
        "the data contracts; parameters bound with :name), shape it with table nodes (filter, select, sort, "
        "top_k, group_by, join, limit) and make the last node the `output`: a table the person can read. "
        "Never invent numbers. `explanation`: one sentence on what the pipeline does.\n\n"
        f"Data contracts:\n{_contracts(context)}\n\nWorkflow JSON Schema:\n{_schema_text()}"
    )
    messages = [ChatMessage(role="system", content=system), ChatMessage(role="user", content=prompt)]
    answer = parse_json_answer(_chat(llm, messages, "planning", PIPELINE_ANSWER, budget, calls))
    if not isinstance(answer, dict) or not isinstance(answer.get("definition"), dict):
        raise UnusableAnswer("the plan has no definition object")
    return answer["definition"], str(answer.get("explanation") or "")[:2000]


def plan_patch(
    llm: LlmProvider, prompt: str, context: PlanningContext, budget: Budget, calls: list[RequestLlmCall]
) -> tuple[str, list[Any], str]:
    """(workflow key, RFC 6902 operations, explanation): a permanent change to one of the agent's workflows."""
    system = (
        "You change an operations agent's workflows. Answer with JSON {workflow, patch, explanation}: `workflow` "
        "is the key of the workflow to change, `patch` an RFC 6902 JSON Patch against that workflow's definition "
        "exactly as shown (nodes and edges are arrays: address them by index, '-' appends), so that the result "
        "is valid against the JSON Schema below and does what the person asks from now on. Change as little as "
        "possible; keep every node's id; only the agent's tools. `explanation`: one sentence a manager "
        "approving the change reads.\n\n"
        f"The agent's workflows:\n{json.dumps(context.workflows, indent=1)[:MAX_CONTEXT_CHARS]}\n\n"
        f"Data contracts:\n{_contracts(context)}\n\nWorkflow JSON Schema:\n{_schema_text()}"
    )
    messages = [ChatMessage(role="system", content=system), ChatMessage(role="user", content=prompt)]
    answer = parse_json_answer(_chat(llm, messages, "planning", PATCH_ANSWER, budget, calls))
    if not isinstance(answer, dict) or not isinstance(answer.get("patch"), list):
        raise UnusableAnswer("the plan has no patch (a list of operations)")
    return str(answer.get("workflow") or ""), answer["patch"], str(answer.get("explanation") or "")[:2000]

"""An organisation's LLM usage and monthly token budget."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import ConfigDict, Field

from phi.api.deps import CallerOrg, Conn, OwnerOrg
from phi.domain.request_body import RequestBody
from phi.services.llm_usage import LlmUsage, llm_usage, set_llm_budget

router = APIRouter(tags=["llm"])


class LlmBudgetUpdate(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"monthly_token_budget": 2_000_000}]})

    monthly_token_budget: int | None = Field(
        ge=0, le=10**12, description="Tokens (prompt + completion) per calendar month (UTC); null removes the limit"
    )


@router.get(
    "/orgs/{org_id}/llm-usage",
    response_model=LlmUsage,
    summary="LLM tokens used this month, by model and purpose, and the budget (any member)",
)
def get_usage(org: CallerOrg, conn: Conn) -> LlmUsage:
    return llm_usage(conn, org)


@router.put(
    "/orgs/{org_id}/llm-budget",
    response_model=LlmUsage,
    summary="Set or remove the monthly LLM token budget (owners only)",
    description="Once the month's tokens reach the budget, new LLM work is refused (HTTP 429 "
    "`llm_budget_exhausted` in the API; inside a workflow the LLM step is skipped with a note).",
)
def put_budget(body: LlmBudgetUpdate, org: OwnerOrg, conn: Conn) -> LlmUsage:
    return set_llm_budget(conn, org, body.monthly_token_budget)

"""An organisation's LLM use this month and its monthly token budget (OWNER sets it)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from phi.db import llm_calls as llm_calls_repo
from phi.db.connection import DbConnection
from phi.db.llm_calls import UsageRow
from phi.domain.models import Organization, OrgRole
from phi.errors import Forbidden
from phi.llm.accounting import month_bounds


class LlmUsage(BaseModel):
    month_start: datetime
    resets_at: datetime
    monthly_token_budget: int | None = Field(description="None: no budget, LLM work is not limited")
    used_tokens: int
    remaining_tokens: int | None
    exhausted: bool = Field(description="True: new LLM work is refused until the month turns or the budget rises")
    by_model_and_purpose: list[UsageRow]


def llm_usage(conn: DbConnection, org: Organization, now: datetime | None = None) -> LlmUsage:
    now = now or datetime.now(UTC)
    start, resets_at = month_bounds(now)
    budget = llm_calls_repo.get_budget(conn, org.id)
    used = llm_calls_repo.tokens_since(conn, org.id, start)
    return LlmUsage(
        month_start=start,
        resets_at=resets_at,
        monthly_token_budget=budget,
        used_tokens=used,
        remaining_tokens=None if budget is None else max(0, budget - used),
        exhausted=budget is not None and used >= budget,
        by_model_and_purpose=llm_calls_repo.usage_since(conn, org.id, start),
    )


def set_llm_budget(conn: DbConnection, org: Organization, monthly_tokens: int | None) -> LlmUsage:
    if org.role != OrgRole.OWNER:
        raise Forbidden("Only an owner of the organisation can set its LLM budget.")
    llm_calls_repo.set_budget(conn, org.id, monthly_tokens)
    return llm_usage(conn, org)

"""LLM accounting in PostgreSQL: every call is kept on its organisation (and task), and an organisation whose
monthly token budget is spent gets no new LLM work. Months are calendar months in UTC. The check runs before a
call, so calls already in flight when the budget runs out still finish (and count)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from phi.db import llm_calls as llm_calls_repo
from phi.db import tasks as tasks_repo
from phi.db.connection import transaction
from phi.domain.models import EventType, LlmCall
from phi.errors import LlmBudgetExhausted
from phi.llm.base import Purpose


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar month holding ``now``: [start, next month's start)."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (
        start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    )
    return start, following


def budget_error(budget: int, used: int, now: datetime) -> LlmBudgetExhausted:
    _, resets_at = month_bounds(now)
    return LlmBudgetExhausted(
        f"The organisation's monthly LLM token budget is spent ({used:,} of {budget:,} tokens used); "
        f"LLM work resumes on {resets_at:%Y-%m-%d} (UTC) or when an owner raises the budget.",
        details={
            "budget_tokens": budget,
            "used_tokens": used,
            "resets_at": resets_at.isoformat(),
            "retry_after_seconds": max(1, int((resets_at - now).total_seconds())),
        },
    )


class DbLlmAccounting:
    def __init__(
        self,
        org_id: UUID,
        *,
        task_id: UUID | None = None,
        agent_id: UUID | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.org_id, self.task_id, self.agent_id = org_id, task_id, agent_id
        self._clock = clock

    def before_call(self, purpose: Purpose) -> None:
        now = self._clock()
        with transaction() as conn:
            budget = llm_calls_repo.get_budget(conn, self.org_id)
            if budget is None:
                return
            used = llm_calls_repo.tokens_since(conn, self.org_id, month_bounds(now)[0])
        if used >= budget:
            raise budget_error(budget, used, now)

    def record(self, call: LlmCall) -> None:
        with transaction() as conn:
            llm_calls_repo.add_call(conn, self.org_id, self.task_id, self.agent_id, call)
            if self.task_id is not None:
                tasks_repo.add_event(conn, self.task_id, self.org_id, EventType.LLM_CALLED, _message(call), _data(call))


def _message(call: LlmCall) -> str:
    if call.ok:
        tokens = call.prompt_tokens + call.completion_tokens
        return f"LLM {call.purpose}: {call.route}, {tokens} tokens, {call.latency_ms / 1000:.1f} s"
    return f"LLM {call.purpose}: {call.route} failed ({call.error}) after {call.latency_ms / 1000:.1f} s"


def _data(call: LlmCall) -> dict[str, object]:
    return call.model_dump(mode="json", exclude={"created_at"})

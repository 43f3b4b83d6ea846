"""The ports of a task running in Think: PostgreSQL for the task and its events, the organisation's documents,
the configured LLM, and the local agent through a LangGraph interrupt."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from langgraph.types import interrupt

from phi.db import agents as agents_repo
from phi.db import documents as documents_repo
from phi.db import tasks as tasks_repo
from phi.db.connection import transaction
from phi.documents.models import SearchHit
from phi.domain.models import EventType
from phi.llm import get_llm
from phi.workflows.contracts import TaskContext, ToolOutcome, ToolRequest
from phi.workflows.ports import Ports, SystemClock, TaskSnapshot


class DbTask:
    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx

    def load(self) -> TaskSnapshot | None:
        org_id = UUID(self.ctx.org_id)
        with transaction() as conn:
            task = tasks_repo.get_task(conn, UUID(self.ctx.task_id), org_id)
            agent = agents_repo.get_agent_in_org(conn, UUID(self.ctx.agent_id), org_id)
        if task is None or agent is None:
            return None
        return TaskSnapshot(
            task_id=self.ctx.task_id,
            org_id=self.ctx.org_id,
            agent_id=self.ctx.agent_id,
            type=task.type,
            input=task.input,
            agent_name=agent.name,
            agent_config=agent.config,
        )


class DbEvents:
    def __init__(self, ctx: TaskContext) -> None:
        self.task_id, self.org_id = UUID(ctx.task_id), UUID(ctx.org_id)

    def record(self, event: EventType, message: str, data: dict[str, Any]) -> None:
        with transaction() as conn:
            tasks_repo.add_event(conn, self.task_id, self.org_id, event, message, data)


class AgentDocuments:
    """The agent's own documents and the organisation-wide ones, and nothing of another organisation."""

    def __init__(self, ctx: TaskContext) -> None:
        self.org_id, self.agent_id = UUID(ctx.org_id), UUID(ctx.agent_id)

    def has_documents(self) -> bool:
        with transaction() as conn:
            return documents_repo.has_ready_chunks(conn, self.org_id, self.agent_id)

    def search(self, query: str, top_k: int) -> list[SearchHit]:
        from phi.documents.search import search_documents

        with transaction() as conn:
            return search_documents(conn, self.org_id, query, top_k=top_k, agent_id=self.agent_id)


class LocalAgentTools:
    """Suspends the graph until Think resumes it with the local agent's answer (must run inside a node)."""

    def call(self, request: ToolRequest) -> ToolOutcome:
        return ToolOutcome.model_validate(interrupt(request.model_dump()))


def live_ports(ctx: TaskContext) -> Ports:
    return Ports(
        task=DbTask(ctx),
        events=DbEvents(ctx),
        documents=AgentDocuments(ctx),
        tools=LocalAgentTools(),
        llm=get_llm(),
        clock=SystemClock(),
    )

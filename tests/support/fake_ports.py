"""Fake ports for workflow unit tests: an in-memory task, a list of events, canned document passages, a
scripted LLM, tools answered by a Python function (for db.query: real SQL on a real SQLite file) and an
in-memory table store (the stored tables' real format, in a dict instead of S3)."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from phi.definitions.table import TableError
from phi.definitions.table_format import TableLimits
from phi.documents.models import SearchHit
from phi.domain.models import EventType
from phi.guarded_http import OutboundRefused
from phi.llm.base import ChatMessage, LlmResponse, Purpose
from phi.workflows.contracts import ApprovalOutcome, ApprovalRequest, ToolOutcome, ToolRequest
from phi.workflows.ports import (
    DeliveryReport,
    EmailMessage,
    HttpFetch,
    HttpFetched,
    Ports,
    TaskSnapshot,
    WebhookMessage,
)


@dataclass
class FakeTask:
    snapshot: TaskSnapshot | None

    def load(self) -> TaskSnapshot | None:
        return self.snapshot


@dataclass
class FakeEvents:
    recorded: list[tuple[EventType, str, dict[str, Any]]] = field(default_factory=list)

    def record(self, event: EventType, message: str, data: dict[str, Any]) -> None:
        self.recorded.append((event, message, data))


@dataclass
class FakeDocuments:
    hits: list[SearchHit] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)

    def has_documents(self) -> bool:
        return bool(self.hits)

    def search(self, query: str, top_k: int) -> list[SearchHit]:
        self.queries.append(query)
        return self.hits[:top_k]


@dataclass
class FakeTools:
    answer: Callable[[ToolRequest], ToolOutcome]
    requests: list[ToolRequest] = field(default_factory=list)

    def call(self, request: ToolRequest) -> ToolOutcome:
        self.requests.append(request)
        return self.answer(request)


@dataclass
class FakeApprovals:
    """A person's decision given by a Python function (the live port suspends the graph instead)."""

    answer: Callable[[ApprovalRequest], ApprovalOutcome]
    requests: list[ApprovalRequest] = field(default_factory=list)

    def request(self, request: ApprovalRequest) -> ApprovalOutcome:
        self.requests.append(request)
        return self.answer(request)


@dataclass
class FakeLlm:
    answers: list[str | Exception]  # an exception is raised in place of an answer (a refused or failed call)
    name: str = "fake"
    prompts: list[list[ChatMessage]] = field(default_factory=list)

    def chat(
        self, messages: list[ChatMessage], *, purpose: Purpose, json_schema: dict[str, Any] | None = None
    ) -> LlmResponse:
        self.prompts.append(messages)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return LlmResponse(text=answer, model="fake")


@dataclass
class MemoryTables:
    """The table store in memory: objects by key, as S3Tables keeps them in the claim-check bucket."""

    limits: TableLimits = field(default_factory=lambda: TableLimits(max_bytes=64 * 1024 * 1024, max_rows=2_000_000))
    objects: dict[str, bytes] = field(default_factory=dict)
    prefix: str = "tool-results/t/"

    def open(self, key: str) -> IO[bytes]:
        if key not in self.objects:
            raise TableError(f"the stored table {key!r} is gone (expired?)")
        return io.BytesIO(self.objects[key])

    def save(self, name: str, body: IO[bytes]) -> str:
        key = f"{self.prefix}tables/{name}.jsonl.gz"
        self.objects[key] = body.read()
        return key


@dataclass
class FixedClock:
    moment: datetime = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment


@dataclass
class FakeNotifier:
    """Keeps what would be sent; `fail_with` makes every delivery fail with that reason."""

    emails: list[EmailMessage] = field(default_factory=list)
    webhooks: list[WebhookMessage] = field(default_factory=list)
    fail_with: str | None = None

    def _report(self, channel: Any, delivery: Any, number: int) -> DeliveryReport:
        status: Any = "FAILED" if self.fail_with else ("CAPTURED" if delivery == "outbox" else "SENT")
        return DeliveryReport(
            notification_id=f"fake-{channel}-{number}",
            channel=channel,
            delivery=delivery,
            status=status,
            error=self.fail_with,
        )

    def email(self, message: EmailMessage) -> DeliveryReport:
        self.emails.append(message)
        return self._report("email", "outbox", len(self.emails))

    def webhook(self, message: WebhookMessage) -> DeliveryReport:
        self.webhooks.append(message)
        return self._report("webhook", "https", len(self.webhooks))


@dataclass
class FakeHttp:
    """Answers `http` nodes from a function of the request (which may raise OutboundRefused)."""

    answer: Callable[[HttpFetch], HttpFetched]
    requests: list[HttpFetch] = field(default_factory=list)

    def fetch(self, request: HttpFetch) -> HttpFetched:
        self.requests.append(request)
        return self.answer(request)


def refusing_http(code: str, message: str) -> Callable[[HttpFetch], HttpFetched]:
    def answer(request: HttpFetch) -> HttpFetched:
        raise OutboundRefused(code, message)

    return answer


def sqlite_tools(db_path: Path) -> Callable[[ToolRequest], ToolOutcome]:
    """db.query answered from a SQLite file with bound parameters, as the local agent would answer it."""

    def answer(request: ToolRequest) -> ToolOutcome:
        if request.tool != "db.query":
            return ToolOutcome(ok=False, error="Tool.NotAllowed", cause=f"{request.tool} is not configured")
        connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            from phi_agent.tools.params import decode_params  # the local agent's own binding of typed parameters

            params = decode_params(request.args.get("params"), "sqlite")
            sql = (request.sql_variants or {}).get("sqlite") or request.args["sql"]  # the agent's choice on SQLite
            cursor = connection.execute(sql, params)
            columns = [d[0] for d in cursor.description]
            rows = [list(row) for row in cursor.fetchall()]
        except sqlite3.Error as exc:
            return ToolOutcome(ok=False, error="Tool.SqlError", cause=str(exc))
        finally:
            connection.close()
        return ToolOutcome(ok=True, result={"columns": columns, "rows": rows, "row_count": len(rows)})

    return answer


def snapshot(
    task_type: str = "DAILY_WAREHOUSE_REPORT",
    task_input: dict[str, Any] | None = None,
    agent_config: dict[str, Any] | None = None,
) -> TaskSnapshot:
    return TaskSnapshot(
        task_id="00000000-0000-0000-0000-000000000001",
        org_id="00000000-0000-0000-0000-000000000002",
        agent_id="00000000-0000-0000-0000-000000000003",
        type=task_type,
        input=task_input or {},
        agent_name="Test analyst",
        agent_config=agent_config or {},
    )


def fake_ports(
    task: TaskSnapshot | None,
    tools: Callable[[ToolRequest], ToolOutcome],
    *,
    hits: list[SearchHit] | None = None,
    llm_answers: list[str | Exception] | None = None,
    http: Callable[[HttpFetch], HttpFetched] | None = None,
    tables: MemoryTables | None = None,
    approvals: Callable[[ApprovalRequest], ApprovalOutcome] | None = None,
) -> Ports:
    return Ports(
        task=FakeTask(task),
        events=FakeEvents(),
        documents=FakeDocuments(hits or []),
        tools=FakeTools(tools),
        llm=FakeLlm(llm_answers) if llm_answers is not None else None,
        clock=FixedClock(),
        notifier=FakeNotifier(),
        http=FakeHttp(http or refusing_http("Http.HostNotAllowed", "no host is allowed in this test")),
        tables=tables if tables is not None else MemoryTables(),
        approvals=FakeApprovals(approvals) if approvals is not None else None,
    )

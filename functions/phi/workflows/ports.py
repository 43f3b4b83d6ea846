"""What a workflow graph may reach outside itself, as a small typed object passed in LangGraph's
`configurable` (key "ports"). Nodes never open a database connection, call AWS or pick an LLM themselves:
Think passes the live ports (phi.workflows.live_ports), tests pass fakes — so every node and every graph runs
in a unit test without PostgreSQL, moto or a local agent.

The contract between a graph and the runner is its state's `failure` ({error, cause} or None) and `output`
(the task's output, a JSON object); a tool the local agent must run is requested through `ports.tools`,
which suspends the graph (LangGraph interrupt) until Think resumes it with the tool's outcome; a person's decision
is asked through `ports.approvals` the same way (DESIGN §9)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Literal, Protocol

from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from phi.definitions.table_format import TableLimits
from phi.documents.models import SearchHit
from phi.domain.models import EventType
from phi.llm.base import LlmProvider
from phi.workflows.contracts import ApprovalOutcome, ApprovalRequest, ToolOutcome, ToolRequest

PORTS_KEY = "ports"


class TaskSnapshot(BaseModel):
    """What a graph knows of its task when it starts: ids, validated input and the agent's settings."""

    task_id: str
    org_id: str
    agent_id: str
    type: str
    input: dict[str, Any]
    agent_name: str
    agent_config: dict[str, Any]


class TaskPort(Protocol):
    def load(self) -> TaskSnapshot | None: ...


class EventsPort(Protocol):
    def record(self, event: EventType, message: str, data: dict[str, Any]) -> None: ...


class DocumentsPort(Protocol):
    def has_documents(self) -> bool: ...

    def search(self, query: str, top_k: int) -> list[SearchHit]: ...


class ToolsPort(Protocol):
    def call(self, request: ToolRequest) -> ToolOutcome: ...


class EmailMessage(BaseModel):
    node_id: str
    to: list[str]
    subject: str
    body: str


class WebhookMessage(BaseModel):
    node_id: str
    url: str
    body: dict[str, Any]  # sent as JSON, signed with the organisation's webhook secret


class DeliveryReport(BaseModel):
    """What became of one notification: SENT (SES accepted it, the webhook answered 2xx), CAPTURED (kept in
    the outbox, the embedded stack's stand-in for email), or FAILED with the reason."""

    notification_id: str
    channel: Literal["email", "webhook"]
    delivery: Literal["outbox", "ses", "https"]
    status: Literal["PENDING", "SENT", "CAPTURED", "FAILED"]
    error: str | None = None
    response_status: int | None = None


class NotifierPort(Protocol):
    def email(self, message: EmailMessage) -> DeliveryReport: ...

    def webhook(self, message: WebhookMessage) -> DeliveryReport: ...


class HttpFetch(BaseModel):
    method: Literal["GET", "POST"] = "GET"
    url: str
    params: dict[str, str] = Field(default_factory=dict)
    json_body: Any = None
    timeout_seconds: float | None = None  # at most the deployment's limit
    max_bytes: int | None = None  # at most the deployment's limit


class HttpFetched(BaseModel):
    status: int
    content_type: str
    content: bytes


class HttpPort(Protocol):
    def fetch(self, request: HttpFetch) -> HttpFetched:
        """The response, or phi.guarded_http.OutboundRefused with the reason (host not allow-listed, not
        HTTPS, private address, redirect, too large, too slow)."""


class TableStore(Protocol):
    """Where large tables live outside the graph state (the task's claim-check objects, table_format).
    A store reads only its own task's objects."""

    limits: TableLimits

    def open(self, key: str) -> IO[bytes]:
        """The gzip-compressed object at `key`, as a stream the caller closes; TableError if it is not there."""
        ...

    def save(self, name: str, body: IO[bytes]) -> str:
        """Stores a gzip-compressed table read from `body` under the task's own prefix; its key."""
        ...


class ApprovalsPort(Protocol):
    def request(self, request: ApprovalRequest) -> ApprovalOutcome: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Ports:
    task: TaskPort
    events: EventsPort
    documents: DocumentsPort
    tools: ToolsPort
    llm: LlmProvider | None = None
    clock: Clock = field(default_factory=SystemClock)
    notifier: NotifierPort | None = None
    http: HttpPort | None = None
    tables: TableStore | None = None  # None: no bucket configured, tables stay inline (up to table.MAX_ROWS)
    approvals: ApprovalsPort | None = None  # None: an approval node fails, saying approvals are unavailable


def ports_of(config: RunnableConfig) -> Ports:
    ports = (config.get("configurable") or {}).get(PORTS_KEY)
    if not isinstance(ports, Ports):
        raise RuntimeError("The workflow was run without its ports (configurable['ports'])")
    return ports


def graph_config(thread_id: str, ports: Ports) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id, PORTS_KEY: ports}}

"""GET /metrics: the platform's state in the Prometheus text format, read from PostgreSQL and SQS at scrape time.

Counts are gauges of what the tables hold now; LLM tokens and tool calls are counters (rows are only added, so
the sums only grow — except when an organisation is deleted, which Prometheus reads as a counter reset).
Queue depths cost one SQS GetQueueAttributes per agent queue: at most MAX_QUEUES queues are read (the rest are
counted as unreported), in a few threads within QUEUE_READ_BUDGET_SECONDS, and the figures are kept for
QUEUE_DEPTH_TTL_SECONDS so a fast scraper or several scrapers do not multiply the calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from phi.db import metrics as metrics_repo
from phi.db.connection import DbConnection
from phi.db.metrics import AgentQueue

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TOOL_LATENCY_BOUNDS_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
MAX_QUEUES = 200
QUEUE_DEPTH_TTL_SECONDS = 30.0
_QUEUE_READERS = 8
# All queue reads of one scrape end within this (well inside API Gateway's 29 s); later answers are dropped.
QUEUE_READ_BUDGET_SECONDS = 8.0


class QueueDepth:
    def __init__(self, queue: AgentQueue, visible: int, in_flight: int) -> None:
        self.queue, self.visible, self.in_flight = queue, visible, in_flight


class _QueueDepthCache:
    """The last reading of the agent queues, reused for a short while (per process: one Lambda container)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._value: tuple[list[QueueDepth], int, int] = ([], 0, 0)

    def get(self, read: Callable[[], tuple[list[QueueDepth], int, int]]) -> tuple[list[QueueDepth], int, int]:
        with self._lock:
            if self._read_at is None or self._clock() - self._read_at > QUEUE_DEPTH_TTL_SECONDS:
                self._value = read()
                self._read_at = self._clock()
            return self._value

    def clear(self) -> None:
        with self._lock:
            self._read_at = None


queue_depth_cache = _QueueDepthCache()


def _read_depth(queue: AgentQueue) -> QueueDepth | None:
    from phi.aws import client

    try:
        attributes = client("sqs").get_queue_attributes(
            QueueUrl=queue.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    except Exception:  # a deleted or unreachable queue is an unreported one, not a failed scrape
        return None
    return QueueDepth(
        queue,
        int(attributes.get("ApproximateNumberOfMessages", 0)),
        int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    )


def read_queue_depths(conn: DbConnection) -> Callable[[], tuple[list[QueueDepth], int, int]]:
    queues, total = metrics_repo.agent_queues(conn, MAX_QUEUES)

    def read() -> tuple[list[QueueDepth], int, int]:
        pool = ThreadPoolExecutor(max_workers=_QUEUE_READERS, thread_name_prefix="metrics-sqs")
        futures = [pool.submit(_read_depth, queue) for queue in queues]
        done, _ = wait(futures, timeout=QUEUE_READ_BUDGET_SECONDS)
        pool.shutdown(wait=False, cancel_futures=True)
        depths = [d for f in futures if f in done and (d := f.result()) is not None]
        return depths, total - len(queues), len(queues) - len(depths)

    return read


def render_metrics(conn: DbConnection) -> bytes:
    from prometheus_client import CollectorRegistry, generate_latest  # only a scrape pays for the import

    families = list(_families(conn))

    class Snapshot:
        def collect(self) -> Iterable[Any]:
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Snapshot())
    return generate_latest(registry)


def _families(conn: DbConnection) -> Iterable[Any]:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

    tasks = GaugeMetricFamily(
        "phi_tasks", "Tasks by organisation, status and type", labels=["org_id", "status", "type"]
    )
    for t in metrics_repo.task_counts(conn):
        tasks.add_metric([str(t.org_id), t.status, t.type], t.count)
    yield tasks

    documents = GaugeMetricFamily("phi_documents", "Documents by organisation and status", labels=["org_id", "status"])
    for d in metrics_repo.document_counts(conn):
        documents.add_metric([str(d.org_id), d.status], d.count)
    yield documents

    labels = ["org_id", "model", "purpose"]
    tokens = CounterMetricFamily("phi_llm_tokens", "LLM tokens by model and purpose", labels=[*labels, "kind"])
    calls = CounterMetricFamily(
        "phi_llm_calls", "LLM requests by model, purpose and outcome", labels=[*labels, "outcome"]
    )
    for row in metrics_repo.llm_tokens(conn):
        ids = [str(row.org_id), row.model, row.purpose]
        tokens.add_metric([*ids, "prompt"], row.prompt_tokens)
        tokens.add_metric([*ids, "completion"], row.completion_tokens)
        calls.add_metric([*ids, "ok"], row.calls - row.failed_calls)
        calls.add_metric([*ids, "failed"], row.failed_calls)
    yield tokens
    yield calls

    latency = HistogramMetricFamily(
        "phi_tool_round_trip_seconds", "Tool call round trips (requested to answered), finished calls", labels=["tool"]
    )
    for tool in metrics_repo.tool_latencies(conn, TOOL_LATENCY_BOUNDS_SECONDS):
        buckets = [(str(float(b)), n) for b, n in zip(TOOL_LATENCY_BOUNDS_SECONDS, tool.buckets, strict=True)]
        latency.add_metric([tool.tool], [*buckets, ("+Inf", tool.count)], tool.sum_seconds)
    yield latency

    depths, unlisted, unreadable = queue_depth_cache.get(read_queue_depths(conn))
    visible = GaugeMetricFamily(
        "phi_agent_queue_messages",
        f"Tool requests waiting in each agent's queue (SQS ApproximateNumberOfMessages; read at most every "
        f"{QUEUE_DEPTH_TTL_SECONDS:g} s)",
        labels=["org_id", "agent_id"],
    )
    in_flight = GaugeMetricFamily(
        "phi_agent_queue_messages_in_flight",
        "Tool requests a local agent has received and not yet answered (ApproximateNumberOfMessagesNotVisible)",
        labels=["org_id", "agent_id"],
    )
    for depth in depths:
        ids = [str(depth.queue.org_id), str(depth.queue.agent_id)]
        visible.add_metric(ids, depth.visible)
        in_flight.add_metric(ids, depth.in_flight)
    yield visible
    yield in_flight
    unreported = GaugeMetricFamily(
        "phi_agent_queues_unreported",
        f"Agent queues not in this scrape: past the first {MAX_QUEUES}, or unreadable",
        labels=["reason"],
    )
    unreported.add_metric(["over_limit"], unlisted)
    unreported.add_metric(["unreadable"], unreadable)
    yield unreported

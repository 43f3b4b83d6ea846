"""Queue depths in GET /metrics cost bounded SQS calls: a slow queue is left out once the scrape's budget is spent,
and one reading serves every scrape for a short while."""

from __future__ import annotations

import threading
from typing import Any
from uuid import uuid4

import pytest

from phi.db.metrics import AgentQueue
from phi.services import metrics


def queue(name: str) -> AgentQueue:
    return AgentQueue(org_id=uuid4(), agent_id=uuid4(), queue_url=f"http://sqs/{name}")


def test_a_queue_slower_than_the_budget_is_unreported_and_the_rest_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    queues = [queue("a"), queue("slow"), queue("b")]
    release = threading.Event()

    def read_depth(q: AgentQueue) -> metrics.QueueDepth | None:
        if q.queue_url.endswith("slow"):
            release.wait(10)
        return metrics.QueueDepth(q, visible=3, in_flight=1)

    monkeypatch.setattr(metrics.metrics_repo, "agent_queues", lambda conn, limit: (queues, 250))
    monkeypatch.setattr(metrics, "_read_depth", read_depth)
    monkeypatch.setattr(metrics, "QUEUE_READ_BUDGET_SECONDS", 0.3)

    depths, over_limit, unreadable = metrics.read_queue_depths(conn=None)()  # type: ignore[arg-type]
    release.set()

    assert sorted(d.queue.queue_url for d in depths) == ["http://sqs/a", "http://sqs/b"]
    assert (over_limit, unreadable) == (247, 1)


def test_one_reading_serves_every_scrape_until_it_is_stale() -> None:
    now = [0.0]
    cache = metrics._QueueDepthCache(clock=lambda: now[0])
    reads: list[Any] = []

    def read() -> tuple[list[metrics.QueueDepth], int, int]:
        reads.append(now[0])
        return [], 0, len(reads)

    first = cache.get(read)
    now[0] = metrics.QUEUE_DEPTH_TTL_SECONDS - 1
    again = cache.get(read)
    now[0] = metrics.QUEUE_DEPTH_TTL_SECONDS + 1
    fresh = cache.get(read)

    assert (first, again, fresh) == (([], 0, 1), ([], 0, 1), ([], 0, 2))
    assert reads == [0.0, metrics.QUEUE_DEPTH_TTL_SECONDS + 1]

"""A batch of documents shares one Lambda run: a document the run has no time left for is retried (its message
is reported as a batch item failure), never failed and never allowed to time out the whole batch."""

from __future__ import annotations

import importlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from phi.documents import pipeline
from phi.embedded.aws import LambdaContext
from phi.settings import get_settings


@dataclass
class ContextWithLittleTime(LambdaContext):
    remaining_ms: int = 0

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def sqs_record(key: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"Event": "s3:TestEvent"}  # S3's test message: nothing to ingest
    if key is not None:
        body = {"Records": [{"s3": {"bucket": {"name": "documents"}, "object": {"key": key}}}]}
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": json.dumps(body),
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest",
        "awsRegion": "us-east-1",
    }


@pytest.fixture
def ingest_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("PHI_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("PHI_DOCUMENTS_BUCKET", "documents")
    monkeypatch.setenv("PHI_INGEST_RESERVE_SECONDS", "30")
    get_settings.cache_clear()
    yield importlib.import_module("phi.handlers.ingest")
    get_settings.cache_clear()


def test_documents_the_run_has_no_time_left_for_are_reported_for_retry_untouched(
    ingest_handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients_asked: list[str] = []
    monkeypatch.setattr(pipeline, "client", lambda name: clients_asked.append(name))
    documents = [sqs_record(f"documents/{uuid.uuid4()}/{uuid.uuid4()}/SOP-{n}.pdf") for n in range(2)]
    context = ContextWithLittleTime(function_name="ingest", invoked_function_arn="arn", remaining_ms=45_000)

    response = ingest_handler.handler({"Records": [sqs_record(None), *documents]}, context)

    assert [failure["itemIdentifier"] for failure in response["batchItemFailures"]] == [
        record["messageId"] for record in documents
    ]
    assert clients_asked == []  # not started: neither read from S3 nor marked in the database


def test_a_documents_reading_stops_the_reserve_before_the_runs_end(ingest_handler: Any) -> None:
    context = ContextWithLittleTime(function_name="ingest", invoked_function_arn="arn", remaining_ms=100_000)

    before = time.monotonic()
    deadline = ingest_handler.run_deadline(context)
    after = time.monotonic()

    # 100 s left minus the 30 s reserve, counted from the call (bracketed, so a paused machine cannot break it)
    assert before + 70 - 1e-6 <= deadline <= after + 70 + 1e-6

"""The embedded ingest poller on moto SQS: a slow document of one organisation does not hold up another's."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest

from phi.aws import client
from phi.embedded.ingest_poller import IngestPoller
from tests.support.waiting import wait_until


def s3_event(org: str, name: str) -> str:
    key = f"documents/{org}/{uuid.uuid4()}/{name}"
    return json.dumps({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": key}}}]})


class RecordingHandler:
    """Blocks on the documents named in `hold` until released; records the order documents finish."""

    def __init__(self, hold: set[str]) -> None:
        self.hold, self.release = hold, threading.Event()
        self.started: list[str] = []
        self.finished: list[str] = []

    def __call__(self, event: dict[str, Any], _: Any) -> dict[str, Any]:
        [record] = event["Records"]
        name = json.loads(record["body"])["Records"][0]["s3"]["object"]["key"].rsplit("/", 1)[1]
        self.started.append(name)
        if name in self.hold:
            self.release.wait(60)
        self.finished.append(name)
        return {"batchItemFailures": []}


@pytest.fixture
def queue(stack: object) -> Any:
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=f"fairness-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


def run_poller(queue: str, handler: RecordingHandler, workers: int) -> IngestPoller:
    poller = IngestPoller(
        queue, "arn:aws:sqs:us-east-1:123456789012:fairness", "us-east-1", workers=workers, handler=handler
    )
    threading.Thread(target=poller.run, daemon=True).start()
    return poller


def test_another_organisations_document_is_ingested_while_a_slow_one_runs(queue: str) -> None:
    # Given org A's slow document queued before org B's small one
    sqs = client("sqs")
    org_a, org_b = str(uuid.uuid4()), str(uuid.uuid4())
    for org, name in ((org_a, "a1.pdf"), (org_a, "a2.pdf"), (org_b, "b1.md")):
        sqs.send_message(QueueUrl=queue, MessageBody=s3_event(org, name))
    handler = RecordingHandler(hold={"a1.pdf"})

    # When the poller runs with two workers while a1 never finishes
    poller = run_poller(queue, handler, workers=2)
    try:
        # Then b1 is ingested before A's next document, while a1 is still running
        wait_until(lambda: "b1.md" in handler.finished, timeout=60)
        assert "a1.pdf" not in handler.finished
    finally:
        handler.release.set()
        wait_until(lambda: len(handler.finished) == 3, timeout=60)
        poller.stop()

    # And every processed message was deleted from the queue (none waiting, none in flight)
    def queue_is_empty() -> bool:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
        return all(attributes[name] == "0" for name in names)

    wait_until(queue_is_empty, timeout=30)

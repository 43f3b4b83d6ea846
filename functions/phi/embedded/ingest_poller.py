"""The embedded stack's stand-in for Lambda's SQS event source mapping: long-polls the ingest queue and hands
batches to the same ingest handler, deleting only the messages it reports as processed."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from phi.aws import client
from phi.embedded.aws import LambdaContext

log = logging.getLogger("phi.embedded.ingest")
BATCH_SIZE = 5


class IngestPoller:
    def __init__(self, queue_url: str, queue_arn: str, region: str) -> None:
        self.queue_url, self.queue_arn, self.region = queue_url, queue_arn, region
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:  # keep polling through transient faults, as the event source mapping does
                log.exception("ingest poll failed")
                self._stop.wait(1)

    def stop(self) -> None:
        self._stop.set()

    def poll_once(self, wait_seconds: int = 0) -> int:
        sqs = client("sqs")
        messages = sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=BATCH_SIZE, WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        from phi.handlers.ingest import handler

        context = LambdaContext(function_name="phi-dev-ingest", invoked_function_arn="embedded",
                                aws_request_id=str(uuid.uuid4()))
        response = handler({"Records": [self._record(m) for m in messages]}, context)
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }

"""The embedded stack's stand-in for Lambda's SQS event source mapping: long-polls the ingest queue and hands each
message to the same ingest handler, deleting only the messages it reports as processed.

Fairness: one organisation's documents must not hold up another's. Messages wait in per-organisation queues
(the organisation is in the object key) and a few workers take the next one from the organisation with the
fewest documents in progress, oldest turn first; a large upload batch from one organisation therefore
interleaves with everyone else's instead of going first. Every document's work is bounded by the ingest
limits (characters, chunks, extraction time), so a worker is never held for long. Messages held here stay
invisible on the queue (their visibility is extended) so that no other receiver takes them meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from phi.aws import client
from phi.embedded.aws import LambdaContext
from phi.names import DOCUMENTS_PREFIX

log = logging.getLogger("phi.embedded.ingest")
RECEIVE_BATCH = 10
WORKERS = 2
MAX_HELD = 20  # messages received but not finished; the rest waits on the queue
VISIBILITY_SECONDS = 60
RETRY_AFTER_SECONDS = 5

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class FairQueue:
    """Per-key FIFO queues; `take` serves the key with the fewest items in progress, the longest-waiting first."""

    def __init__(self) -> None:
        self._queues: OrderedDict[str, deque[Any]] = OrderedDict()  # order = turn: front has waited longest
        self._running: dict[str, int] = {}
        self._cond = threading.Condition()

    def put(self, key: str, item: Any) -> None:
        with self._cond:
            self._queues.setdefault(key, deque()).append(item)
            self._cond.notify()

    def take(self, timeout: float) -> tuple[str, Any] | None:
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._queues), timeout):
                return None
            key = min(self._queues, key=lambda k: self._running.get(k, 0))  # min keeps the first of equals
            queue = self._queues.pop(key)
            item = queue.popleft()
            if queue:
                self._queues[key] = queue  # back of the line: its next item waits for the others' turn
            self._running[key] = self._running.get(key, 0) + 1
            return key, item

    def done(self, key: str) -> None:
        with self._cond:
            self._running[key] -= 1
            if not self._running[key]:
                del self._running[key]

    def __len__(self) -> int:
        with self._cond:
            return sum(len(queue) for queue in self._queues.values()) + sum(self._running.values())


def organisation_of(body: str) -> str:
    """The organisation of an S3 event message (documents/<org>/<document>/<file>); "" when there is none."""
    with contextlib.suppress(ValueError, KeyError, TypeError, IndexError):
        for record in json.loads(body).get("Records", []):
            key = record["s3"]["object"]["key"]
            if key.startswith(DOCUMENTS_PREFIX):
                return str(key.removeprefix(DOCUMENTS_PREFIX).split("/")[0])
    return ""


class IngestPoller:
    def __init__(
        self, queue_url: str, queue_arn: str, region: str, *, workers: int = WORKERS, handler: Handler | None = None
    ) -> None:
        self.queue_url, self.queue_arn, self.region = queue_url, queue_arn, region
        self._stop = threading.Event()
        self._queue = FairQueue()
        self._held: dict[str, tuple[str, float]] = {}  # message id -> (receipt handle, visible again at)
        self._held_lock = threading.Lock()
        self._handler = handler
        self._workers = [
            threading.Thread(target=self._work, name=f"ingest-worker-{n}", daemon=True) for n in range(workers)
        ]

    def run(self) -> None:
        for worker in self._workers:
            worker.start()
        while not self._stop.is_set():
            try:
                self.receive_once(wait_seconds=1)
                self._extend_visibility()
            except Exception:  # keep polling through transient faults, as the event source mapping does
                log.exception("ingest poll failed")
                self._stop.wait(1)

    def stop(self) -> None:
        self._stop.set()

    def receive_once(self, wait_seconds: int = 0) -> int:
        room = MAX_HELD - len(self._queue)
        if room <= 0:
            self._stop.wait(0.2)
            return 0
        messages = (
            client("sqs")
            .receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(RECEIVE_BATCH, room),
                WaitTimeSeconds=wait_seconds,
                VisibilityTimeout=VISIBILITY_SECONDS,
                AttributeNames=["All"],
            )
            .get("Messages", [])
        )
        for message in messages:
            with self._held_lock:
                self._held[message["MessageId"]] = (message["ReceiptHandle"], time.monotonic() + VISIBILITY_SECONDS)
            self._queue.put(organisation_of(message["Body"]), message)
        return len(messages)

    def _extend_visibility(self) -> None:
        now = time.monotonic()
        with self._held_lock:
            due = [(mid, handle) for mid, (handle, until) in self._held.items() if until - now < VISIBILITY_SECONDS / 2]
        for message_id, handle in due:
            with contextlib.suppress(Exception):  # a message finished meanwhile: nothing to extend
                client("sqs").change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=VISIBILITY_SECONDS
                )
                with self._held_lock:
                    if message_id in self._held:
                        self._held[message_id] = (handle, now + VISIBILITY_SECONDS)

    def _work(self) -> None:
        while not self._stop.is_set():
            taken = self._queue.take(timeout=0.5)
            if taken is None:
                continue
            organisation, message = taken
            try:
                self.process(message)
            except Exception:
                log.exception("ingest of message %s failed", message["MessageId"])
            finally:
                with self._held_lock:
                    self._held.pop(message["MessageId"], None)
                self._queue.done(organisation)

    def process(self, message: dict[str, Any]) -> None:
        """One message, one handler invocation (a batch of one: documents never wait on each other)."""
        handler = self._handler
        if handler is None:
            from phi.handlers.ingest import handler as lambda_handler

            handler = lambda_handler
        context = LambdaContext(
            function_name="phi-dev-ingest", invoked_function_arn="embedded", aws_request_id=str(uuid.uuid4())
        )
        response = handler({"Records": [self._record(message)]}, context)
        sqs = client("sqs")
        if response.get("batchItemFailures"):  # retried shortly, and dead-lettered after the queue's receive limit
            sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=RETRY_AFTER_SECONDS
            )
        else:
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

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

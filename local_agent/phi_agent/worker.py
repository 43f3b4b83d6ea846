"""The poll loop: long-poll the agent's queue, run each tool request, answer, then delete the message."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from phi_agent.config import AgentConfig
from phi_agent.credentials import AwsClients
from phi_agent.errors import ToolError
from phi_agent.heartbeat import AgentState
from phi_agent.logs import log_fields, redact, token_hint
from phi_agent.messages import MalformedRequest, ToolRequest, clock_offset, parse_request, queued_seconds
from phi_agent.results import check_upload_target, read_output
from phi_agent.stepfunctions import TaskAnswerer
from phi_agent.tools.registry import ToolRegistry

logger = logging.getLogger(__name__)
MAX_TASK_HEARTBEAT_SECONDS = 30.0
# This machine's clock (seconds since the epoch); a module attribute so that tests can set it wrong.
_wall_clock = time.time
_MAX_POLL_BACKOFF_SECONDS = 30.0


@dataclass
class Outcome:
    output: dict[str, Any] | None = None
    error: str = ""
    cause: str = ""

    @property
    def ok(self) -> bool:
        return self.output is not None


@dataclass
class _InFlight:
    task_token: str
    receipt_handle: str
    next_heartbeat: float
    next_visibility: float
    step_over: bool = False


@dataclass
class _KeepaliveTable:
    entries: dict[int, _InFlight] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class TokenLedger:
    """The task tokens this process is running a tool for, and the last `size` it answered (the step is over for
    them). SQS delivers at least once: the same request can come back while its tool still runs here (a duplicate
    delivery) or after it was answered (its delete failed); neither is run a second time on the customer's
    database."""

    RUNNING = "running"
    ANSWERED = "answered"

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._running: set[str] = set()
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, task_token: str) -> str | None:
        """None when the caller may run the request (it is now running); else why not."""
        with self._lock:
            if task_token in self._answered:
                return self.ANSWERED
            if task_token in self._running:
                return self.RUNNING
            self._running.add(task_token)
            return None

    def release(self, task_token: str, *, answered: bool) -> None:
        """The tool ended; `answered`: the step is over (a copy that comes back is deleted, not run)."""
        with self._lock:
            self._running.discard(task_token)
            if answered:
                self._answered[task_token] = None
                while len(self._answered) > self._size:
                    self._answered.popitem(last=False)


class Keepalive:
    """While tools run: SendTaskHeartbeat for their tokens and extend their messages' visibility."""

    def __init__(self, clients: AwsClients, answerer: TaskAnswerer, config: AgentConfig) -> None:
        self._sqs = clients.sqs
        self._answerer = answerer
        self._queue_url = config.cloud.queue_url
        self._heartbeat_every = min(MAX_TASK_HEARTBEAT_SECONDS, config.local.heartbeat_seconds)
        self._visibility = config.local.visibility_timeout_seconds
        self._table = _KeepaliveTable()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="phi-keepalive", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def track(self, task_token: str, receipt_handle: str) -> _InFlight:
        """Keep a running tool's message hidden: extended at once (it was received with a short
        visibility), then every half visibility timeout."""
        now = time.monotonic()
        entry = _InFlight(task_token, receipt_handle, now + self._heartbeat_every, now)
        with self._table.lock:
            self._table.entries[id(entry)] = entry
        return entry

    def untrack(self, entry: _InFlight) -> None:
        with self._table.lock:
            self._table.entries.pop(id(entry), None)

    def tracked(self) -> list[_InFlight]:
        with self._table.lock:
            return list(self._table.entries.values())

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            with self._table.lock:
                entries = list(self._table.entries.values())
            for entry in entries:
                self._keep(entry, time.monotonic())

    def _keep(self, entry: _InFlight, now: float) -> None:
        if now >= entry.next_heartbeat and not entry.step_over:
            entry.next_heartbeat = now + self._heartbeat_every
            if not self._answerer.heartbeat(entry.task_token):
                entry.step_over = True
                logger.warning(
                    "the step ended while its tool was running",
                    extra=log_fields(token=token_hint(entry.task_token)),
                )
        if now >= entry.next_visibility:
            entry.next_visibility = now + self._visibility / 2
            try:
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue_url,
                    ReceiptHandle=entry.receipt_handle,
                    VisibilityTimeout=self._visibility,
                )
            except (ClientError, BotoCoreError) as error:
                logger.warning("could not extend message visibility", extra=log_fields(problem=str(error)))


class Worker:
    def __init__(self, config: AgentConfig, clients: AwsClients, registry: ToolRegistry, state: AgentState) -> None:
        self._config = config
        self._sqs = clients.sqs
        self._registry = registry
        self._state = state
        self._answerer = TaskAnswerer(clients.sfn)
        self._keepalive = Keepalive(clients, self._answerer, config)
        self._ledger = TokenLedger()
        # This machine's clock minus the cloud's, from the latest first delivery: a request's deadline and its send
        # time are on the cloud's clock, and a customer machine's clock may be minutes off (no NTP).
        self._clock_offset = 0.0
        self._slots = threading.Semaphore(config.local.concurrency)
        self._executor = ThreadPoolExecutor(config.local.concurrency, thread_name_prefix="phi-tool")
        self._futures: dict[Future[None], dict[str, Any]] = {}
        self._futures_lock = threading.Lock()
        self._poller: threading.Thread | None = None

    # -- loop ---------------------------------------------------------------------------------------
    def run(self, stop: threading.Event, on_stopping: Callable[[], None] | None = None) -> bool:
        """Serve until `stop` is set; True when every running tool finished within the shutdown grace.

        `on_stopping` runs as soon as the stop is seen (the agent reports OFFLINE before draining).
        """
        logger.info(
            "polling for tool requests",
            extra=log_fields(
                agent_id=self._config.agent_id,
                tools=self._registry.keys,
                concurrency=self._config.local.concurrency,
            ),
        )
        self._keepalive.start()
        poller = threading.Thread(target=self._poll_loop, args=(stop,), name="phi-poller", daemon=True)
        self._poller = poller
        poller.start()
        while not stop.wait(1.0):
            pass
        logger.info("stopping: no new requests; waiting for running tools")
        if on_stopping is not None:
            on_stopping()
        started = time.monotonic()
        with self._futures_lock:
            running = set(self._futures)
        _, unfinished = wait_futures(running, timeout=self._config.local.shutdown_grace_seconds)
        self._executor.shutdown(wait=False, cancel_futures=True)
        # The poller may still sit in a long poll: wait for it to come back, so that whatever it receives
        # is made visible again at once rather than left hidden by a process that is gone.
        poll_budget = self._config.local.wait_time_seconds + 10.0 - (time.monotonic() - started)
        poller.join(timeout=max(1.0, poll_budget))
        self._release_unstarted()
        if unfinished:
            self._release_running()
        self._keepalive.stop()
        if unfinished:
            logger.warning(
                "tools still running at shutdown; their requests are made visible again for redelivery",
                extra=log_fields(count=len(unfinished)),
            )
        return not unfinished

    def _release_unstarted(self) -> None:
        """Messages whose tool never started (cancelled in the executor's queue) go back to the queue now."""
        with self._futures_lock:
            cancelled = [message for future, message in self._futures.items() if future.cancelled()]
        self._release_messages(cancelled)

    def _release_running(self) -> None:
        for entry in self._keepalive.tracked():
            self._release_receipts([entry.receipt_handle])

    def _poll_loop(self, stop: threading.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            free = self._take_slots(stop)
            if free == 0:
                continue
            try:
                messages = self._receive(free)
                backoff = 1.0
            except (ClientError, BotoCoreError) as error:
                self._release_slots(free)
                self._state.record_error(f"receive failed: {error}")
                logger.error("could not receive from the queue", extra=log_fields(problem=str(error), retry_in=backoff))
                stop.wait(backoff)
                backoff = min(_MAX_POLL_BACKOFF_SECONDS, backoff * 2)
                continue
            self._release_slots(free - len(messages))
            if stop.is_set():
                self._release_messages(messages)
                self._release_slots(len(messages))
                return
            for message in messages:
                self._submit(message)

    def _take_slots(self, stop: threading.Event) -> int:
        if not self._slots.acquire(timeout=0.5):
            return 0
        if stop.is_set():
            self._slots.release()
            return 0
        taken = 1
        while taken < min(10, self._config.local.concurrency) and self._slots.acquire(blocking=False):
            taken += 1
        return taken

    def _release_slots(self, count: int) -> None:
        for _ in range(count):
            self._slots.release()

    def _receive(self, count: int) -> list[dict[str, Any]]:
        answer = self._sqs.receive_message(
            QueueUrl=self._config.cloud.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=self._config.local.wait_time_seconds,
            VisibilityTimeout=self._config.local.initial_visibility_seconds,
            # MessageSystemAttributeNames needs a newer boto3 than we require
            AttributeNames=["SentTimestamp", "ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount"],
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    def _release_messages(self, messages: list[dict[str, Any]]) -> None:
        self._release_receipts([message["ReceiptHandle"] for message in messages])

    def _release_receipts(self, receipt_handles: list[str]) -> None:
        for receipt_handle in receipt_handles:
            try:
                self._sqs.change_message_visibility(
                    QueueUrl=self._config.cloud.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
                )
            except (ClientError, BotoCoreError):
                logger.warning("could not make a message visible again during shutdown")
        if receipt_handles:
            logger.info("messages made visible again for redelivery", extra=log_fields(count=len(receipt_handles)))

    def _submit(self, message: dict[str, Any]) -> None:
        future = self._executor.submit(self.handle_message, message)
        with self._futures_lock:
            self._futures[future] = message

        def _done(finished: Future[None]) -> None:
            if not finished.cancelled():
                with self._futures_lock:
                    self._futures.pop(finished, None)
            self._slots.release()

        future.add_done_callback(_done)

    # -- one message --------------------------------------------------------------------------------
    def handle_message(self, message: dict[str, Any]) -> None:
        """Answer one request and delete it; never raises (a bad message must not stop the agent)."""
        try:
            self._handle(message)
        except Exception as error:
            self._state.record_error(f"unexpected error handling a message: {error}")
            logger.exception("unexpected error handling a message; it will be redelivered")

    def _handle(self, message: dict[str, Any]) -> None:
        receipt_handle = message["ReceiptHandle"]
        offset = clock_offset(message, _wall_clock())
        if offset is not None:
            self._clock_offset = offset
        request = parse_request(message.get("Body", ""))
        if isinstance(request, MalformedRequest):
            self._handle_malformed(message, request)
            return
        fields = {
            "task_id": request.task_id,
            "tool_call_id": request.tool_call_id,
            "tool": request.tool,
            "agent_id": request.agent_id,
            "token": token_hint(request.task_token),
        }
        logger.info("tool request received", extra=log_fields(**fields))
        seen = self._ledger.claim(request.task_token)
        if seen == TokenLedger.ANSWERED:
            logger.warning("a request this agent already answered came again; deleted", extra=log_fields(**fields))
            self._delete(receipt_handle)
            return
        if seen == TokenLedger.RUNNING:
            # Hidden for a visibility timeout, not deleted: by the time it comes back the running copy has answered
            # (and this one is deleted), or failed to (and this one runs then).
            logger.warning(
                "a copy of a request whose tool is running here came; tool not run twice", extra=log_fields(**fields)
            )
            self._hide(receipt_handle)
            return
        answered = False
        try:
            answered = self._serve(message, request, fields)
        finally:
            self._ledger.release(request.task_token, answered=answered)

    def _serve(self, message: dict[str, Any], request: ToolRequest, fields: dict[str, Any]) -> bool:
        """Runs the request's tool and answers; True when the step is over (answered now or before)."""
        receipt_handle = message["ReceiptHandle"]
        if self._step_ended_while_queued(message, request):
            logger.warning(
                "the step ended while its request waited on the queue; tool not run", extra=log_fields(**fields)
            )
            self._delete(receipt_handle)
            return True
        started = time.monotonic()
        entry = self._keepalive.track(request.task_token, receipt_handle)
        try:
            outcome = self._run_tool(request)
        finally:
            self._keepalive.untrack(entry)
        duration_ms = round((time.monotonic() - started) * 1000)
        if outcome.output is not None:
            answered = self._answerer.succeed(request.task_token, outcome.output)
            logger.info("tool succeeded", extra=log_fields(duration_ms=duration_ms, **fields))
        else:
            self._state.record_error(f"{outcome.error}: {outcome.cause}")
            answered = self._answerer.fail(request.task_token, outcome.error, outcome.cause)
            logger.warning(
                "tool failed",
                extra=log_fields(duration_ms=duration_ms, error=outcome.error, cause=outcome.cause, **fields),
            )
        if answered:
            self._delete(receipt_handle)
        return answered

    def _cloud_now(self) -> float:
        """The cloud's time now (seconds since the epoch), by this machine's clock corrected by the offset."""
        return _wall_clock() - self._clock_offset

    def _hide(self, receipt_handle: str) -> None:
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self._config.cloud.queue_url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=self._config.local.visibility_timeout_seconds,
            )
        except (ClientError, BotoCoreError) as error:
            logger.warning("could not hide a duplicate request", extra=log_fields(problem=str(error)))

    def _step_ended_while_queued(self, message: dict[str, Any], request: ToolRequest) -> bool:
        """A request that waited long enough for its task to be cancelled or time out meanwhile is checked first:
        work on the customer's database nobody waits for any more is not started. (A network error answers
        "not ended": the tool runs, and its answer is dropped if the step is over.)"""
        waited = queued_seconds(message, self._cloud_now())
        if waited is None or waited < self._config.local.stale_request_seconds:
            return False
        return not self._answerer.heartbeat(request.task_token)

    def _handle_malformed(self, message: dict[str, Any], request: MalformedRequest) -> None:
        body_excerpt = redact(str(message.get("Body", ""))[:500])
        self._state.record_error(f"malformed tool request: {request.reason}")
        if request.task_token is None:
            logger.error(
                "malformed message without a task token; logged and deleted",
                extra=log_fields(message_id=message.get("MessageId"), reason=request.reason, body=body_excerpt),
            )
            self._delete(message["ReceiptHandle"])
            return
        logger.error(
            "malformed tool request; answering with Tool.BadRequest",
            extra=log_fields(
                message_id=message.get("MessageId"),
                reason=request.reason,
                token=token_hint(request.task_token),
            ),
        )
        if self._answerer.fail(request.task_token, "Tool.BadRequest", request.reason):
            self._delete(message["ReceiptHandle"])

    def _run_tool(self, request: ToolRequest) -> Outcome:
        try:
            if request.agent_id != self._config.agent_id or request.org_id != self._config.org_id:
                raise ToolError("Tool.BadRequest", "the request is for another agent or organisation, not this one")
            seconds_left = request.seconds_left(datetime.fromtimestamp(self._cloud_now(), UTC))
            if seconds_left is not None and seconds_left <= 0:
                raise ToolError("Tool.Timeout", "the request's deadline passed before the agent could run it")
            if request.result_upload is not None:
                check_upload_target(request.result_upload, self._config.cloud)
            tool = self._registry.get(request.tool)
            deadline = None if seconds_left is None else time.monotonic() + seconds_left
            with tool.open(request.tool_args(), seconds_left) as result:
                read = read_output(
                    request.tool_call_id,
                    result,
                    self._config.local.inline_result_limit_bytes,
                    request.result_upload,
                    as_text=request.result_as_text,
                )
            # a large result goes up after the tool closed: its database connection is not held during the upload
            return Outcome(output=read if isinstance(read, dict) else read.upload_output(deadline))
        except ToolError as error:
            return Outcome(error=error.error, cause=error.cause)
        except Exception as error:
            logger.exception("tool crashed", extra=log_fields(tool=request.tool))
            return Outcome(error="Tool.InternalError", cause=redact(f"{type(error).__name__}: {error}"))

    def _delete(self, receipt_handle: str) -> None:
        try:
            self._sqs.delete_message(QueueUrl=self._config.cloud.queue_url, ReceiptHandle=receipt_handle)
        except (ClientError, BotoCoreError) as error:
            # The answer is already in; a redelivery will be answered again and dropped as InvalidToken.
            self._state.record_error(f"delete failed: {error}")
            logger.warning("could not delete an answered message", extra=log_fields(problem=str(error)))

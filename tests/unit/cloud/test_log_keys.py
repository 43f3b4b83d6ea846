"""Task ids on log lines belong to the invocation that bound them: the embedded stack runs several invocations at
once in one process, and ids on the shared logger had put one organisation's ids on another's lines."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import pytest

from phi.handlers.observability import bind_task_ids, log_metrics
from phi.log import logger


@pytest.fixture
def log_lines() -> Any:
    stream = io.StringIO()
    handler = logger._logger.handlers[0]
    saved = handler.stream  # type: ignore[attr-defined]
    handler.stream = stream  # type: ignore[attr-defined]
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.stream = saved  # type: ignore[attr-defined]


def test_ids_bound_by_concurrent_invocations_stay_on_their_own_lines(log_lines: Any) -> None:
    both_bound = threading.Barrier(2)

    @log_metrics
    def handler(event: dict[str, Any], context: Any) -> None:
        bind_task_ids({"org_id": event["org"], "task_id": event["task"]})
        both_bound.wait(timeout=30)  # each has bound its ids before either logs
        logger.info(f"working for {event['org']}")

    threads = [
        threading.Thread(target=handler, args=({"org": org, "task": f"task-of-{org}"}, None)) for org in ("A", "B")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    @log_metrics
    def unbound(event: Any, context: Any) -> None:  # an ingest: binds no task
        logger.info("ingesting")

    unbound({}, None)
    lines = {line["message"]: line for line in log_lines()}
    assert (lines["working for A"]["org_id"], lines["working for A"]["task_id"]) == ("A", "task-of-A")
    assert (lines["working for B"]["org_id"], lines["working for B"]["task_id"]) == ("B", "task-of-B")
    assert "org_id" not in lines["ingesting"] and "task_id" not in lines["ingesting"]


def test_a_lone_surrogate_in_a_message_is_written_as_its_json_escape_not_dropped() -> None:
    # A UTF-8 stream, as Lambda's and a terminal's are (a StringIO would take the surrogate as it is).
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    handler = logger._logger.handlers[0]
    saved = handler.stream  # type: ignore[attr-defined]
    handler.stream = stream  # type: ignore[attr-defined]
    try:
        logger.info("unknown input %s for Zoë & Co", '"\ud800"')  # JSON's "\ud800" decodes to a lone half
    finally:
        handler.stream = saved  # type: ignore[attr-defined]

    [line] = raw.getvalue().decode("utf-8").splitlines()
    assert json.loads(line)["message"] == 'unknown input "\ud800" for Zoë & Co'
    assert "Zoë" in line  # other non-ASCII text stays readable, as Powertools writes it

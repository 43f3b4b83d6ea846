"""Tool round-trip benchmark on the embedded stack (issues 7 and 15): over N tool calls, the dispatch latency
(Think requests the tool → the local agent starts it) and the full round trip (Think → tool → Think),
p50/p95/p99, and where the time goes, for
- phi-agent (long polling) on the embedded stack as it runs (moto shortcuts on: Lambda tasks dispatched
  in-process, one boto3 client per service in moto's Step Functions interpreter);
- the same with moto's own path (each Lambda task an HTTP call back into moto through a new boto3 client),
  the baseline, in the same run;
- with --claim-check-variant, also phi-agent sending every result through S3 (its inline limit at 1 KiB): what
  carrying up to 128 KiB of rows through the state machine costs the embedded stack's interpreter;
- with --polling-baseline, also a client that polls every 5 seconds as the original design did.

    python bench/bench_roundtrip.py [--tool-calls 201] [--concurrency 10] [--claim-check-variant] [--polling-baseline]

Times come from the database (tool_calls.requested_at: written by Think just before it returns;
completed_at: written when the next Think step starts), from the agent's log ("tool request received",
"tool succeeded" with the tool's duration) and from probes this process (which hosts the stack) puts on
Think's handler, moto's SQS SendMessage and Step Functions SendTaskSuccess.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]


def agent_times(log_file: Path) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """When the agent received each request, and when its tool finished (received + the tool's duration)."""
    starts: dict[str, datetime] = {}
    done: dict[str, datetime] = {}
    for line in log_file.read_text().splitlines():
        if '"tool request received"' in line:
            record = json.loads(line)
            starts.setdefault(record["tool_call_id"], datetime.fromisoformat(record["ts"]))
        elif '"tool succeeded"' in line:
            record = json.loads(line)
            if record["tool_call_id"] in starts:
                done.setdefault(
                    record["tool_call_id"],
                    starts[record["tool_call_id"]] + timedelta(milliseconds=record["duration_ms"]),
                )
    return starts, done


class Probes:
    """Wall-clock instants (UTC) per tool call id, recorded inside this process: Think's handler returning a
    tool call and starting on its result, moto receiving the SQS message and the SendTaskSuccess."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.marks: dict[str, dict[str, datetime]] = {}

    def mark(self, tool_call_id: Any, name: str) -> None:
        if isinstance(tool_call_id, str):
            with self.lock:
                self.marks.setdefault(tool_call_id, {}).setdefault(name, datetime.now(UTC))

    def install(self) -> None:
        from moto.sqs.models import SQSBackend
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        import phi.handlers.think as think_module

        handler, send_message, send_task_success = (
            think_module.handler,
            SQSBackend.send_message,
            StepFunctionsParserBackend.send_task_success,
        )

        def think(event: dict[str, Any], context: Any) -> Any:
            self.mark((event.get("tool_result") or {}).get("tool_call_id"), "think_start")
            result = handler(event, context)
            self.mark((result.get("tool_call") or {}).get("tool_call_id"), "think_return")
            return result

        def on_send(backend: Any, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
            message = send_message(backend, queue_name, message_body, *args, **kwargs)
            self.mark(_field(message_body, "tool_call_id"), "sent")
            return message

        def on_success(backend: Any, task_token: str, outcome: str) -> Any:
            self.mark(_field(outcome, "tool_call_id"), "success_received")
            return send_task_success(backend, task_token, outcome)

        think_module.handler = think  # type: ignore[assignment]
        SQSBackend.send_message = on_send  # type: ignore[method-assign]
        StepFunctionsParserBackend.send_task_success = on_success  # type: ignore[method-assign]


def _field(body: str, name: str) -> Any:
    try:
        return json.loads(body).get(name)
    except (ValueError, AttributeError):
        return None


# (label, from, to): the parts of one round trip, in order.
SEGMENTS = [
    ("Think: tool call recorded → handler returns", "requested", "think_return"),
    ("Step Functions: Think returned → SQS message sent", "think_return", "sent"),
    ("SQS: message sent → agent receives", "sent", "received"),
    ("agent: runs the tool", "received", "tool_done"),
    ("agent: tool done → SendTaskSuccess at moto", "tool_done", "success_received"),
    ("Step Functions: SendTaskSuccess → next Think starts", "success_received", "think_start"),
    ("Think: starts → tool call marked complete", "think_start", "completed"),
]


def tool_call_times(agent_id: str) -> list[dict[str, Any]]:
    from phi.db.connection import transaction

    with transaction() as conn:
        return conn.execute(
            """SELECT c.id::text AS id, c.requested_at, c.completed_at FROM tool_calls c
               JOIN tasks t ON t.id = c.task_id WHERE t.agent_id = %s AND c.completed_at IS NOT NULL""",
            (agent_id,),
        ).fetchall()


def run_tasks(api: Any, agent_id: str, report_day: str, tasks: int, concurrency: int) -> list[str]:
    statuses: list[str] = []
    pending = list(range(tasks))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                pending.pop()
            run = api.call(
                "POST",
                f"/agents/{agent_id}/run-task",
                json={"type": "DAILY_WAREHOUSE_REPORT", "input": {"date": report_day}},
            )
            # The figures come from timestamps, not from this loop: poll gently, since the API shares the
            # process (and its interpreter lock) with moto and every handler being measured.
            task = api.wait_for_task(run["task_id"], timeout=600, interval=1.0)
            with lock:
                statuses.append(task["status"])

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def measure(
    variant: str,
    command: list[str] | None,
    api: Any,
    work: Path,
    warehouse: Path,
    day: str,
    tasks: int,
    concurrency: int,
    probes: Probes,
    fast: bool = True,
    inline_limit_bytes: int | None = None,
) -> dict[str, Any]:
    from phi.embedded.aws import fast_step_functions
    from phi.embedded.demo import create_demo_agent, start_local_agent, stop_process

    fast_step_functions(fast)
    folder = Path(tempfile.mkdtemp(prefix="variant-", dir=work))
    agent = create_demo_agent(api, folder)
    if inline_limit_bytes is not None:  # the machine's own setting, as a customer would put it in the config file
        config = yaml.safe_load(agent.config_file.read_text(encoding="utf-8"))
        config.setdefault("local", {})["inline_result_limit_bytes"] = inline_limit_bytes
        agent.config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    log_file = folder / "agent.log"
    if command is not None:
        command = [*command, str(agent.config_file)]
    # As many tools at once as reports in flight, so neither client queues requests behind its own slots.
    process = start_local_agent(agent, warehouse, log_file, command, {"PHI_AGENT_CONCURRENCY": str(concurrency)})
    time.sleep(3)  # both clients up and polling before the clock starts
    started = time.monotonic()
    statuses = run_tasks(api, agent.agent_id, day, tasks, concurrency)
    wall = time.monotonic() - started
    stop_process(process)
    fast_step_functions(True)
    starts, done = agent_times(log_file)
    calls = tool_call_times(agent.agent_id)
    dispatch = [(starts[c["id"]] - c["requested_at"]).total_seconds() * 1000 for c in calls if c["id"] in starts]
    roundtrip = [(c["completed_at"] - c["requested_at"]).total_seconds() * 1000 for c in calls]
    segments: dict[str, list[float]] = {label: [] for label, _, _ in SEGMENTS}
    for c in calls:
        instants = {"requested": c["requested_at"], "completed": c["completed_at"], **probes.marks.get(c["id"], {})}
        if c["id"] in starts:
            instants["received"] = starts[c["id"]]
        if c["id"] in done:
            instants["tool_done"] = done[c["id"]]
        for label, start, end in SEGMENTS:
            if start in instants and end in instants:
                segments[label].append((instants[end] - instants[start]).total_seconds() * 1000)
    return {
        "variant": variant,
        "tasks": len(statuses),
        "succeeded": statuses.count("SUCCEEDED"),
        "tool_calls": len(calls),
        "wall_s": wall,
        "dispatch": dispatch,
        "roundtrip": roundtrip,
        "segments": segments,
    }


def print_table(results: list[dict[str, Any]]) -> None:
    print(
        f"\n{'variant':<40}{'calls':>6}  {'dispatch p50/p95/p99 (ms)':>28}  {'round trip p50/p95/p99 (ms)':>30}  "
        f"{'wall s':>7}"
    )
    for r in results:
        d = "/".join(f"{percentile(r['dispatch'], q):.0f}" for q in (50, 95, 99))
        t = "/".join(f"{percentile(r['roundtrip'], q):.0f}" for q in (50, 95, 99))
        print(f"{r['variant']:<40}{r['tool_calls']:>6}  {d:>28}  {t:>30}  {r['wall_s']:>7.1f}")
    baseline = results[1]
    for r in results[:1] + results[2:]:
        for label, key in (("dispatch", "dispatch"), ("round trip", "roundtrip")):
            ratio = statistics.median(baseline[key]) / statistics.median(r[key])
            print(f"median {label}: {baseline['variant']} / {r['variant']} = {ratio:.1f}x")
    print("\nWhere the time goes, p50 / p95 ms per part (parts are medians of their own, so they need not add up):")
    print(f"{'part':<56}" + "".join(f"{r['variant'][:30]:>32}" for r in results))
    for label, _, _ in SEGMENTS:
        cells = []
        for r in results:
            values = r["segments"][label]
            cells.append(f"{percentile(values, 50):.0f} / {percentile(values, 95):.0f}" if values else "-")
        print(f"{label:<56}" + "".join(f"{c:>32}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tool-calls", type=int, default=201, help="tool calls per variant (3 per report)")
    parser.add_argument("--concurrency", type=int, default=10, help="reports running at once")
    parser.add_argument("--polling-baseline", action="store_true", help="also run the 5 s polling client")
    parser.add_argument(
        "--claim-check-variant",
        action="store_true",
        help="also run phi-agent with every result through S3 (inline limit 1 KiB instead of 128 KiB)",
    )
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from phi.embedded.demo import ApiClient
    from phi.embedded.stack import EmbeddedStack
    from phi.workflows.warehouse.sample_data import generate_sample_warehouse

    work = Path(tempfile.mkdtemp(prefix="phi-bench-roundtrip-"))
    stack = EmbeddedStack(data_dir=work / "stack", tool_timeout_seconds=120)
    try:
        info = stack.start()
        probes = Probes()
        probes.install()
        summary = generate_sample_warehouse(work / "warehouse.sqlite", days=2, seed=3)
        api = ApiClient(info.api_url)
        api.sign_up(f"bench-{int(time.time())}@example.com", "bench-password-123", "Bench")
        api.call("POST", "/orgs", json={"name": "Bench"})
        tasks = math.ceil(args.tool_calls / 3)
        day = summary.last_day.isoformat()
        print(f"{tasks} reports x 3 tool calls per variant, {args.concurrency} reports at a time, 2 cores")
        baseline = [sys.executable, str(REPO / "bench" / "polling_baseline_agent.py")]
        warehouse = work / "warehouse.sqlite"
        # One report first, outside the figures: loads the embedding model and imports every handler.
        measure("warm-up", None, api, work, warehouse, day, 1, 1, probes)

        def variant(name: str, command: list[str] | None = None, **options: Any) -> dict[str, Any]:
            return measure(name, command, api, work, warehouse, day, tasks, args.concurrency, probes, **options)

        results = [variant("phi-agent, moto shortcuts on"), variant("phi-agent, moto's own path", fast=False)]
        if args.claim_check_variant:
            results.append(variant("phi-agent, every result via S3", inline_limit_bytes=1024))
        if args.polling_baseline:
            results.append(variant("5 s polling (original design)", baseline))
        print_table(results)
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Tool round-trip benchmark on the embedded stack (issue 7): over N tool calls, the dispatch latency
(Think requests the tool → the local agent starts it) and the full round trip (Think → tool → Think),
p50/p95/p99, for phi-agent's long polling and, in the same run, for a client that polls every 5 seconds
as the original design did. Prints a table and the ratios.

    python bench/bench_roundtrip.py [--tool-calls 201] [--concurrency 10]

Times come from the database (tool_calls.requested_at: written by Think just before it returns;
completed_at: written when the next Think step starts) and from the agent's log ("tool request received").
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
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]


def agent_start_times(log_file: Path) -> dict[str, datetime]:
    starts: dict[str, datetime] = {}
    for line in log_file.read_text().splitlines():
        if '"tool request received"' in line:
            record = json.loads(line)
            starts.setdefault(record["tool_call_id"], datetime.fromisoformat(record["ts"]))
    return starts


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
            run = api.call("POST", f"/agents/{agent_id}/run-task",
                           json={"type": "DAILY_WAREHOUSE_REPORT", "input": {"date": report_day}})
            task = api.wait_for_task(run["task_id"], timeout=600)
            with lock:
                statuses.append(task["status"])

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def measure(variant: str, command: list[str] | None, api: Any, work: Path, warehouse: Path, day: str,
            tasks: int, concurrency: int) -> dict[str, Any]:
    from phi.embedded.demo import create_demo_agent, start_local_agent, stop_process

    folder = work / variant.split()[0]
    folder.mkdir()
    agent = create_demo_agent(api, folder)
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
    starts = agent_start_times(log_file)
    calls = tool_call_times(agent.agent_id)
    dispatch = [(starts[c["id"]] - c["requested_at"]).total_seconds() * 1000 for c in calls if c["id"] in starts]
    roundtrip = [(c["completed_at"] - c["requested_at"]).total_seconds() * 1000 for c in calls]
    return {"variant": variant, "tasks": len(statuses), "succeeded": statuses.count("SUCCEEDED"),
            "tool_calls": len(calls), "wall_s": wall, "dispatch": dispatch, "roundtrip": roundtrip}


def print_table(results: list[dict[str, Any]]) -> None:
    print(f"\n{'variant':<40}{'calls':>6}  {'dispatch p50/p95/p99 (ms)':>28}  {'round trip p50/p95/p99 (ms)':>30}  "
          f"{'wall s':>7}")
    for r in results:
        d = "/".join(f"{percentile(r['dispatch'], q):.0f}" for q in (50, 95, 99))
        t = "/".join(f"{percentile(r['roundtrip'], q):.0f}" for q in (50, 95, 99))
        print(f"{r['variant']:<40}{r['tool_calls']:>6}  {d:>28}  {t:>30}  {r['wall_s']:>7.1f}")
    fast, slow = results
    for label, key in (("dispatch", "dispatch"), ("round trip", "roundtrip")):
        ratio = statistics.median(slow[key]) / statistics.median(fast[key])
        print(f"median {label}: 5 s polling / long polling = {ratio:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tool-calls", type=int, default=201, help="tool calls per variant (3 per report)")
    parser.add_argument("--concurrency", type=int, default=10, help="reports running at once")
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from phi.embedded.demo import ApiClient
    from phi.embedded.stack import EmbeddedStack
    from phi.workflows.warehouse.sample_data import generate_sample_warehouse

    work = Path(tempfile.mkdtemp(prefix="phi-bench-roundtrip-"))
    stack = EmbeddedStack(data_dir=work / "stack", tool_timeout_seconds=120)
    try:
        info = stack.start()
        summary = generate_sample_warehouse(work / "warehouse.sqlite", days=2, seed=3)
        api = ApiClient(info.api_url)
        api.sign_up(f"bench-{int(time.time())}@example.com", "bench-password-123", "Bench")
        api.call("POST", "/orgs", json={"name": "Bench"})
        tasks = math.ceil(args.tool_calls / 3)
        day = summary.last_day.isoformat()
        print(f"{tasks} reports x 3 tool calls per variant, {args.concurrency} reports at a time, 2 cores")
        baseline = [sys.executable, str(REPO / "bench" / "polling_baseline_agent.py")]
        results = [
            measure("long polling (phi-agent, 20 s waits)", None, api, work, work / "warehouse.sqlite", day, tasks,
                    args.concurrency),
            measure("5 s polling (original design)", baseline, api, work, work / "warehouse.sqlite", day, tasks,
                    args.concurrency),
        ]
        print_table(results)
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

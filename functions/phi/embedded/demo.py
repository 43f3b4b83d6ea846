"""The README's main command: the whole task loop on the embedded stack, as a new customer would run it."""

from __future__ import annotations

import os
import shlex
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

FINAL_STATUSES = {"SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED"}
# One TLS context for every call: without it each httpx.request loads the CA bundle again (~10 ms of CPU),
# in the embedded stack's own process when a benchmark or test drives the API.
_TLS = ssl.create_default_context()


@dataclass
class ApiClient:
    """A small client for the REST API (what a web app or script would do)."""

    base_url: str
    token: str | None = None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = httpx.request(method, self.base_url + path, headers=headers, timeout=30, verify=_TLS, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} → {response.status_code}: {response.text}")
        content_type = response.headers.get("content-type", "")
        return response.json() if content_type.startswith("application/json") else response.text

    def sign_up(self, email: str, password: str, full_name: str) -> None:
        self.token = self.call(
            "POST",
            "/auth/signup",
            json={
                "email": email,
                "password": password,
                "full_name": full_name,
            },
        )["access_token"]

    def wait_for_task(self, task_id: str, timeout: float, interval: float = 0.25) -> dict[str, Any]:
        """The task once it has finished (or at the timeout), with its execution history. Polls without the
        history: each read of it is a call to Step Functions, which the API shares with the running tasks."""
        deadline = time.monotonic() + timeout
        while True:
            task: dict[str, Any] = self.call("GET", f"/tasks/{task_id}?history=false")
            if task["status"] in FINAL_STATUSES or time.monotonic() > deadline:
                return dict(self.call("GET", f"/tasks/{task_id}"))
            time.sleep(interval)


@dataclass
class DemoAgent:
    agent_id: str
    config_file: Path
    agent_key: str
    org_id: str = ""


def create_demo_agent(api: ApiClient, work_dir: Path, org_id: str | None = None) -> DemoAgent:
    org_id = org_id or api.call("POST", "/orgs", json={"name": "Northwind Logistics"})["id"]
    agent = api.call(
        "POST",
        f"/orgs/{org_id}/agents",
        json={
            "name": "Warehouse analyst (Leeds DC)",
            "industry_key": "logistics",
            "role_key": "warehouse_analyst",
            "tools": {"db": {"url_env": "PHI_WAREHOUSE_DB_URL", "statement_timeout_seconds": 30, "max_rows": 100000}},
            # The limits the anomaly checks use are the ones the SOPs state.
            "threshold_sources": {
                "max_late_rate": "SOP-OUT-04.docx",
                "max_backlog_orders": "SOP-OUT-04.docx",
                "min_picker_lines_per_hour": "SOP-PCK-02.md",
            },
        },
    )
    return _with_key(api, agent, work_dir / "phi-agent-config.yaml", org_id)


def _with_key(api: ApiClient, agent: dict[str, Any], config_file: Path, org_id: str) -> DemoAgent:
    config_file.write_text(api.call("GET", f"/agents/{agent['id']}/config"))
    key = api.call("POST", f"/agents/{agent['id']}/keys")["key"]
    return DemoAgent(agent_id=agent["id"], config_file=config_file, agent_key=key, org_id=org_id)


def teach_sops(api: ApiClient, agent: DemoAgent) -> None:
    """Uploads the warehouse's SOPs and waits until the ingest pipeline has made them searchable."""
    from phi.embedded.sample_sops import PICKING_SOP, shipping_sop_docx

    uploads = [("SOP-OUT-04.docx", shipping_sop_docx()), ("SOP-PCK-02.md", PICKING_SOP.encode())]
    for document in upload_sops(api, agent, uploads):
        print(
            f"  {document['filename']}: {document['status']}, {document['chunk_count']} chunks"
            + (f" ({document['error']})" if document["error"] else "")
        )


def upload_sops(api: ApiClient, agent: DemoAgent, uploads: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    """Uploads SOP files and waits (two minutes at most) until ingest has finished each; returns them as they are."""
    documents = [
        api.call("POST", f"/agents/{agent.agent_id}/documents", files={"file": upload}, data={"source_type": "SOP"})
        for upload in uploads
    ]
    deadline = time.monotonic() + 120
    finished = []
    for document in documents:
        while document["status"] == "PROCESSING" and time.monotonic() < deadline:
            time.sleep(0.25)
            document = api.call("GET", f"/agents/{agent.agent_id}/documents/{document['id']}")
        finished.append(document)
    return finished


def start_local_agent(
    agent: DemoAgent,
    warehouse_db: Path,
    log_file: Path,
    command: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """The local agent runs as its own process, exactly as on a customer machine."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PHI_", "AWS_"))},
        "PHI_AGENT_KEY": agent.agent_key,
        "PHI_WAREHOUSE_DB_URL": f"sqlite:///{warehouse_db}",
        **(extra_env or {}),
    }
    command = command or [sys.executable, "-m", "phi_agent", "run", "--config", str(agent.config_file)]
    with log_file.open("ab") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    stop_processes([process])


def stop_processes(processes: list[subprocess.Popen[bytes]], timeout: float = 30.0) -> None:
    """SIGTERM to all at once, then wait: a local agent ends its current long poll (up to 20 s) before it exits,
    so that a request received meanwhile goes straight back to the queue; stopped together, they wait it out once."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def print_workflows(api: ApiClient, agent: DemoAgent) -> None:
    """What the agent runs: its workflows as data, each version 1 of a catalogue template (GET /workflow-templates)."""
    for workflow in api.call("GET", f"/agents/{agent.agent_id}/workflows"):
        view = api.call("GET", f"/agents/{agent.agent_id}/workflows/{workflow['key']}")
        nodes = ", ".join(f"{n['id']} ({n['kind']})" for n in view["definition"]["nodes"])
        print(f"  workflow {workflow['key']} v{view['current_version']} ({view['version']['reason']}): {nodes}")


def print_timeline(task: dict[str, Any]) -> None:
    started = datetime.fromisoformat(task["events"][0]["created_at"]) if task["events"] else None
    print("\nEvent timeline")
    for event in task["events"]:
        offset = (datetime.fromisoformat(event["created_at"]) - started).total_seconds() if started else 0.0
        print(f"  +{offset:7.3f}s  {event['type']:<17} {event['message']}")


# The demo's own account on a local, throw-away stack (printed at the end so that the console can show its reports).
DEMO_PASSWORD = "demo-password-123"


def run_demo(data_dir: Path) -> int:
    from phi.embedded.stack import EmbeddedStack
    from phi.workflows.warehouse.sample_data import generate_sample_warehouse

    work_dir = data_dir / "demo"
    work_dir.mkdir(parents=True, exist_ok=True)
    # The handlers' structured logs would drown the report; warnings and errors still show.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    print("Phi Agents demo — the daily warehouse report, end to end, on the embedded stack\n")
    stack = EmbeddedStack(data_dir=data_dir)
    started = time.monotonic()
    info = stack.start()
    print(f"Embedded stack up in {time.monotonic() - started:.1f}s")
    print(f"  API:                  {info.api_url}   (OpenAPI docs at {info.api_url}/docs)")
    print(f"  AWS endpoint (moto):  {info.aws_endpoint_url}")
    print(f"  PostgreSQL data:      {data_dir / 'pgdata'}\n")
    agent_processes: list[subprocess.Popen[bytes]] = []
    email: str | None = None
    outcome = 1
    try:
        warehouse_db = work_dir / "warehouse.sqlite"
        summary = generate_sample_warehouse(warehouse_db, days=7, end_date=_yesterday(), seed=42)
        report_day = _eventful_day(summary)
        print(f"Sample warehouse database: {warehouse_db}")
        print(
            f"  {summary.days} days ({summary.first_day} to {summary.last_day}); "
            + ", ".join(f"{n:,} {table}" for table, n in summary.row_counts.items())
        )
        for event in summary.events:
            print(f"  scripted incident on {event.day}: {event.detail}")
        print(f"Reporting on {report_day}, a day with incidents, so the anomaly checks have work to do.\n")
        api = ApiClient(info.api_url)
        email = f"demo-{int(time.time())}@northwind.example"
        api.sign_up(email, DEMO_PASSWORD, "Demo User")
        agent = create_demo_agent(api, work_dir)
        print(f"Agent {agent.agent_id} created with its own queue; config written to {agent.config_file}")
        print_workflows(api, agent)
        print("Teaching it the warehouse SOPs (S3 → SQS → ingest → pgvector; the first embedding loads the model):")
        teach_sops(api, agent)
        agent_process = start_local_agent(agent, warehouse_db, work_dir / "local-agent.log")
        agent_processes.append(agent_process)
        print(f"Local agent started as process {agent_process.pid} (log: {work_dir / 'local-agent.log'})\n")
        status = _run_report(api, agent, report_day)
        roles = _run_role_templates(
            api, agent.org_id, warehouse_db, work_dir, report_day, summary.last_day, agent_processes
        )
        outcome = roles or status
    finally:
        if agent_processes:
            print("\nStopping the local agents (each ends its current long poll first, up to 20 s) ...")
            stop_processes(agent_processes)
        stack.stop()
        print("\nStopped: local agent, API, moto server and PostgreSQL.")
    if outcome == 0 and email is not None:  # the steps promise the three reports: only when they are there
        _print_next_steps(data_dir, email)
    return outcome


def _print_next_steps(data_dir: Path, email: str) -> None:
    """Where to go from here: the demo's account, agent and reports stay in the data folder, which `make dev`
    (the same default folder) or `phi dev --data-dir` serves again."""
    # `make dev` serves the Makefile's folder's .phi: only that one, and only from where the Makefile is.
    from_makefile = Path("Makefile").is_file() and data_dir == Path(".phi").resolve()
    again = "make dev" if from_makefile else f"phi dev --data-dir {shlex.quote(str(data_dir))}"
    print(
        "\nNext steps:\n"
        f"  {again}\n"
        f"      the same stack again, kept up until Ctrl-C (this demo's data stays in {data_dir});\n"
        "      then open http://127.0.0.1:8000/console and log in as\n"
        f"      {email} / {DEMO_PASSWORD} to see this agent, its SOPs and the three reports.\n"
        "  README.md, 'Running the embedded stack yourself'\n"
        "      your own account and agent, and phi-agent on your own database or files."
    )


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def _eventful_day(summary: Any) -> date:
    late_spikes = [event.day for event in summary.events if event.kind == "late_spike"]
    return late_spikes[0] if late_spikes else summary.last_day


def _run_report(api: ApiClient, agent: DemoAgent, report_day: date) -> int:
    started = time.monotonic()
    run = api.call(
        "POST",
        f"/agents/{agent.agent_id}/run-task",
        json={
            "type": "DAILY_WAREHOUSE_REPORT",
            "input": {"date": report_day.isoformat(), "warehouse": "Leeds DC"},
        },
    )
    task = api.wait_for_task(run["task_id"], timeout=180)
    print(f"Task {task['id']} finished {task['status']} in {time.monotonic() - started:.1f}s\n")
    if task["status"] == "SUCCEEDED":
        print("=" * 100)
        print(task["output"]["markdown"])
        print("=" * 100)
    else:
        print(f"Error: {task.get('error')}")
    print_timeline(task)
    return 0 if task["status"] == "SUCCEEDED" else 1


# --- the other seeded roles: their templates from the catalogue ---------------------------------------------


@dataclass(frozen=True)
class RoleRun:
    role: str
    name: str
    workflow: str  # the catalogue template's workflow key
    sops: tuple[str, ...]
    task_input: dict[str, Any]


def _sop_upload(name: str) -> tuple[str, bytes]:
    from phi.embedded.sample_sops import PICKING_SOP, SAFETY_SOP, shipping_sop_docx

    data = {
        "SOP-OUT-04.docx": shipping_sop_docx,
        "SOP-PCK-02.md": PICKING_SOP.encode,
        "SOP-SAF-01.md": SAFETY_SOP.encode,
    }
    return name, data[name]()


def _role_agent(api: ApiClient, org_id: str, run: RoleRun, work_dir: Path) -> DemoAgent:
    """An agent of the role (with the database tool): the role template gives it its workflow from the
    catalogue."""
    created = api.call(
        "POST",
        f"/orgs/{org_id}/agents",
        json={
            "name": run.name,
            "industry_key": "logistics",
            "role_key": run.role,
            "tools": {"db": {"url_env": "PHI_WAREHOUSE_DB_URL", "statement_timeout_seconds": 30}},
        },
    )
    agent = _with_key(api, created, work_dir / f"phi-agent-config-{run.role}.yaml", org_id)
    upload_sops(api, agent, [_sop_upload(name) for name in run.sops])
    return agent


def _run_role_templates(
    api: ApiClient,
    org_id: str,
    warehouse_db: Path,
    work_dir: Path,
    day: date,
    week_ending: date,
    agent_processes: list[subprocess.Popen[bytes]],
) -> int:
    """The late shift's handover on the eventful day, and the safety summary of the sample's last seven days."""
    runs = [
        RoleRun(
            "ops_manager",
            "Operations manager (Leeds DC)",
            "SHIFT_HANDOVER",
            ("SOP-OUT-04.docx",),
            {"date": day.isoformat(), "shift": "late", "site": "Leeds DC"},
        ),
        RoleRun(
            "safety_officer",
            "Safety officer (Leeds DC)",
            "WEEKLY_INCIDENT_SUMMARY",
            ("SOP-SAF-01.md",),
            {"week_ending": week_ending.isoformat(), "site": "Leeds DC"},
        ),
    ]
    status = 0
    for run in runs:
        print(f"\n{run.name}: role {run.role}, workflow {run.workflow} from the template catalogue")
        agent = _role_agent(api, org_id, run, work_dir)
        agent_processes.append(start_local_agent(agent, warehouse_db, work_dir / f"local-agent-{run.role}.log"))
        started = time.monotonic()
        task_run = api.call(
            "POST", f"/agents/{agent.agent_id}/run-task", json={"type": run.workflow, "input": run.task_input}
        )
        task = api.wait_for_task(task_run["task_id"], timeout=180)
        print(f"Task {task['id']} finished {task['status']} in {time.monotonic() - started:.1f}s\n")
        if task["status"] == "SUCCEEDED":
            print("=" * 100)
            print(task["output"]["markdown"])
            print("=" * 100)
        else:
            print(f"Error: {task.get('error')}")
            status = 1
    return status

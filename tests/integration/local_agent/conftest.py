"""Real components for the local agent's integration tests: a moto server (SQS, Step Functions, S3),
embedded PostgreSQL (pgserver), SQLite files and a small stand-in for the Phi API's agent endpoints."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from sqlalchemy import create_engine, text

from phi_agent.app import Agent, build_agent, serve
from phi_agent.config import load_config
from phi_agent.tools.db_query import database_url

AGENT_ID = "3f2c0000-0000-0000-0000-0000000000aa"
ORG_ID = "9a1b0000-0000-0000-0000-0000000000bb"
REGION = "us-east-1"
GOOD_KEY = "phi_ak_test_good_key"


@dataclass
class Cloud:
    endpoint: str
    port: int

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def new_queue(self) -> str:
        return str(self.client("sqs").create_queue(QueueName=f"agent-{uuid.uuid4().hex[:12]}")["QueueUrl"])

    def tool_state_machine(self, queue_url: str) -> str:
        """One RunLocalTool step, as in the real state machine: sendMessage.waitForTaskToken."""
        body = {
            "v": 1,
            "task_token.$": "$$.Task.Token",
            "task_id.$": "$.task_id",
            "tool_call_id.$": "$.tool_call_id",
            "org_id.$": "$.org_id",
            "agent_id.$": "$.agent_id",
            "tool.$": "$.tool",
            "args.$": "$.args",
            "deadline.$": "$.deadline",
            "result_upload.$": "$.result_upload",
        }
        definition = {
            "StartAt": "RunLocalTool",
            "States": {
                "RunLocalTool": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": queue_url, "MessageBody": body},
                    "TimeoutSeconds": 600,  # bounds only: no test here races the step timeouts on a slow machine
                    "HeartbeatSeconds": 590,  # must be below TimeoutSeconds
                    "End": True,
                }
            },
        }
        answer = self.client("stepfunctions").create_state_machine(
            name=f"tool-{uuid.uuid4().hex[:12]}",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/phi-test",
        )
        return str(answer["stateMachineArn"])

    def start_tool(self, queue_url: str, tool: str, args: dict[str, Any], **extra: Any) -> str:
        """Start one RunLocalTool execution (moto cannot start an execution while another one waits for
        its token, so tests run them one at a time)."""
        state_machine_arn = self.tool_state_machine(queue_url)
        request = {
            "task_id": str(uuid.uuid4()),
            "tool_call_id": f"call-{uuid.uuid4().hex[:8]}",
            "org_id": ORG_ID,
            "agent_id": AGENT_ID,
            "tool": tool,
            "args": args,
            "deadline": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
            "result_upload": None,
        }
        request.update(extra)
        answer = self.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=uuid.uuid4().hex, input=json.dumps(request)
        )
        return str(answer["executionArn"])

    def run_tool(self, queue_url: str, tool: str, args: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return self.wait_finished(self.start_tool(queue_url, tool, args, **extra))

    def wait_finished(self, execution_arn: str, timeout: float = 120) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING":
                return description
            time.sleep(0.1)
        raise AssertionError(f"execution still RUNNING after {timeout} s")

    def queue_depth(self, queue_url: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[tuple[str, int]]:
    from moto.server import ThreadedMotoServer

    from phi.embedded.aws import patch_moto

    patch_moto()  # the same moto set-up and fixes as the embedded stack
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}", port
    server.stop()


@pytest.fixture
def cloud(moto_server: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> Cloud:
    endpoint, port = moto_server
    # moto's Step Functions interpreter reaches SQS through the server on MOTO_PORT.
    monkeypatch.setenv("MOTO_PORT", str(port))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return Cloud(endpoint, port)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    from phi.embedded.postgres import scratch_database

    with scratch_database("phi_agent_test", migrate=False) as url:
        engine = create_engine(database_url(url))
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS stock; DROP SEQUENCE IF EXISTS s"))
            connection.execute(
                text(
                    "CREATE TABLE stock (sku text PRIMARY KEY, qty int, price numeric(10,2), "
                    "updated timestamptz, day date, blob bytea, id uuid)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO stock SELECT 'SKU-' || i, i, i * 1.25, "
                    "'2026-01-02 03:04:05+00'::timestamptz, '2026-01-02'::date, '\\x00ff'::bytea, "
                    "'00000000-0000-0000-0000-000000000001'::uuid FROM generate_series(1, 50) AS i"
                )
            )
            connection.execute(text("CREATE SEQUENCE s"))
            connection.execute(
                text(
                    "CREATE FUNCTION sneaky_write() RETURNS int LANGUAGE sql VOLATILE AS "
                    "$$ INSERT INTO stock (sku, qty) VALUES ('sneaky', 0) RETURNING 1 $$"
                )
            )
        engine.dispose()
        yield url


@pytest.fixture
def warehouse_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE stock (sku TEXT PRIMARY KEY, qty INTEGER, price NUMERIC, updated TEXT)")
        connection.executemany(
            "INSERT INTO stock VALUES (?, ?, ?, ?)",
            [(f"SKU-{i:04d}", i, i * 1.5, "2026-01-01T07:00:00") for i in range(1, 101)],
        )
    return path


def agent_config(
    queue_url: str,
    endpoint: str,
    api_url: str = "http://127.0.0.1:9",
    base_dir: Path | None = None,
    **local: Any,
) -> dict[str, Any]:
    tools: list[dict[str, Any]] = [
        {"key": "db.query", "settings": {"url_env": "PHI_WAREHOUSE_DB_URL", "statement_timeout_seconds": 20}}
    ]
    if base_dir is not None:
        tools.append({"key": "file.read", "settings": {"base_dir": str(base_dir)}})
    return {
        "version": 1,
        "agent_id": AGENT_ID,
        "org_id": ORG_ID,
        "name": "Warehouse analyst",
        "tools": tools,
        "cloud": {"region": REGION, "queue_url": queue_url, "api_url": api_url, "aws_endpoint_url": endpoint},
        "local": {"wait_time_seconds": 1, "heartbeat_seconds": 30, "shutdown_grace_seconds": 10, **local},
    }


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


class AgentThread:
    """The real agent (config → credentials → tools → poll loop) in a thread of the test process."""

    def __init__(self, config_path: Path, environ: dict[str, str], *, allow_privileged_db_login: bool = False) -> None:
        self.agent: Agent = build_agent(
            load_config(config_path, environ), environ, allow_privileged_db_login=allow_privileged_db_login
        )
        self.stop = threading.Event()
        self.finished: bool | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.finished = serve(self.agent, self.stop)

    def __enter__(self) -> AgentThread:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self._thread.join(timeout=120)
        assert not self._thread.is_alive(), "the agent did not stop"


@dataclass
class FakePhiApi:
    """The two agent endpoints of the Phi API, answering like the real ones; it records every call."""

    credentials: dict[str, Any]
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)
    credential_calls: int = 0
    next_heartbeat_seconds: int = 1
    url: str = ""
    # Set to answer every call with this status and error, as the real API does for a key revoked after
    # the agent started (401) or for a disabled agent (403); `refused` counts those answers.
    refusing: tuple[int, str] | None = None
    refused: int = 0

    def handle(self, path: str, authorization: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.auth_headers.append(authorization)
        if authorization != f"Bearer {GOOD_KEY}":
            return 401, {"error": {"code": "unauthorized", "message": "unknown agent key"}}
        if self.refusing is not None:
            self.refused += 1
            status, code = self.refusing
            return status, {"error": {"code": code, "message": f"refused by the test ({status})"}}
        if path == "/local-agents/credentials":
            self.credential_calls += 1
            return 200, self.credentials
        if path == "/local-agents/heartbeat":
            self.heartbeats.append(body)
            return 200, {"status": body.get("status"), "next_heartbeat_seconds": self.next_heartbeat_seconds}
        return 404, {"error": {"code": "not_found", "message": path}}


@pytest.fixture
def phi_api(cloud: Cloud) -> Iterator[FakePhiApi]:
    api = FakePhiApi(
        credentials={
            "access_key_id": "ASIAVENDED",
            "secret_access_key": "vended-secret",
            "session_token": "vended-session",
            "expiration": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "region": REGION,
            "queue_url": None,
            "aws_endpoint_url": cloud.endpoint,
        }
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            status, answer = api.handle(self.path, self.headers.get("Authorization", ""), body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_config(cloud: Cloud, tmp_path: Path):
    """Write an agent config for `queue_url` (extra keyword arguments go to `local:`)."""

    def _make(queue_url: str, api_url: str = "http://127.0.0.1:9", base_dir: Path | None = None, **local: Any) -> Path:
        data = agent_config(queue_url, cloud.endpoint, api_url=api_url, base_dir=base_dir, **local)
        return write_yaml(tmp_path / f"agent-{uuid.uuid4().hex[:6]}.yaml", data)

    return _make


@pytest.fixture
def run_agent():
    return AgentThread

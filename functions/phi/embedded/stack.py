"""The embedded one-machine deployment: PostgreSQL (pgserver), a moto server for the AWS services, the same
state machine file and handlers as AWS, and the FastAPI app under uvicorn."""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from phi import names
from phi.embedded.aws import PLACEHOLDERS, free_port, persistent_kms_key, start_moto, state_machine_definition

REPO_ROOT = Path(__file__).resolve().parents[3]
ASL_FILE = REPO_ROOT / "statemachines" / "agent_task.asl.json"
REGION = "us-east-1"
STAGE = "dev"
log = logging.getLogger("phi.embedded")


class DataDirInUse(RuntimeError):
    """Another live stack runs on the same data folder."""


@dataclass
class StackInfo:
    api_url: str
    aws_endpoint_url: str
    database_url: str
    state_machine_arn: str
    region: str = REGION


@dataclass
class EmbeddedStack:
    """Start with `start()`, stop with `stop()`; data lives under `data_dir` and survives restarts."""

    data_dir: Path
    api_port: int = 0
    moto_port: int = 0
    tool_timeout_seconds: int = 300
    tool_heartbeat_seconds: int = 120
    extra_env: dict[str, str] = field(default_factory=dict)
    info: StackInfo | None = None
    _pg: Any = None
    _moto: Any = None
    _uvicorn: Any = None
    scheduler: Any = None
    ingest_poller: Any = None
    scheduler_interval_seconds: float = 1.0
    _threads: list[threading.Thread] = field(default_factory=list)
    _ingest_queue: tuple[str, str] = ("", "")
    _data_lock: Any = None

    def start(self) -> StackInfo:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_data_dir()
        try:
            return self._start()
        except BaseException:
            self.stop()  # nothing half-started stays behind, PostgreSQL included
            raise

    def _start(self) -> StackInfo:
        database_url = self._start_postgres()
        self.moto_port = self.moto_port or free_port()
        self.api_port = self.api_port or free_port()
        endpoint = f"http://127.0.0.1:{self.moto_port}"
        self._moto = start_moto(self.moto_port)
        self._configure_environment(database_url, endpoint)
        state_machine_arn = self._provision_aws(endpoint)
        os.environ["PHI_STATE_MACHINE_ARN"] = state_machine_arn
        self._reset_settings()
        self._recover_after_restart()
        self._start_scheduler()
        self._start_ingest_poller()
        self._start_api()
        self.info = StackInfo(f"http://127.0.0.1:{self.api_port}", endpoint, database_url, state_machine_arn)
        return self.info

    def stop(self) -> None:
        # Each phase is logged, so that a stop that takes long says where (a supervisor's log shows it).
        log.info("stopping: API, scheduler and ingest")
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        for worker in (self.scheduler, self.ingest_poller):
            if worker is not None:
                worker.stop()
        for thread in self._threads:
            thread.join(timeout=10)
            if thread.is_alive():
                log.warning("stopping: %s did not end within 10 s; going on", thread.name)
        from phi.db.connection import close_pool

        log.info("stopping: database connections")
        close_pool()
        if self._moto is not None:
            log.info("stopping: moto server")
            self._moto.stop()
            self._moto = None
        if self._pg is not None:
            log.info("stopping: PostgreSQL")
            self._stop_postgres()
        if self._data_lock is not None:
            self._data_lock.release()
            self._data_lock = None

    def _lock_data_dir(self) -> None:
        """One stack per data folder. The lock is the operating system's, so it dies with its process, even with
        a SIGKILL: holding it means no live stack uses this PostgreSQL but this one."""
        import fasteners

        lock = fasteners.InterProcessLock(str(self.data_dir / "stack.lock"))
        if not lock.acquire(blocking=False):
            raise DataDirInUse(
                f"another phi process (dev or demo) is running on {self.data_dir}; stop it first, or give this one "
                "its own --data-dir"
            )
        self._data_lock = lock

    def _start_postgres(self) -> str:
        if "XDG_RUNTIME_DIR" not in os.environ:  # pgserver keeps its lock file there
            runtime_dir = self.data_dir / "run"
            runtime_dir.mkdir(mode=0o700, exist_ok=True)
            os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
        from phi.embedded.postgres import start_server

        pgdata = self.data_dir / "pgdata"
        # pgserver stops the server when the last process that holds a handle on it lets go, and keeps those
        # processes' ids in this file. A stack killed hard never let go, so its id stays there and the server would
        # outlive every later clean stop. With the data folder locked no other live process holds a handle: forget
        # the dead ones, so this stack adopts the old server and stops it like one it started.
        (pgdata / ".handle_pids.json").unlink(missing_ok=True)
        self._pg = start_server(pgdata)
        exists = self._pg.psql("SELECT 1 FROM pg_database WHERE datname = 'phi';")
        if "(1 row)" not in exists:
            self._pg.psql("CREATE DATABASE phi;")
        dsn: str = self._pg.get_uri(database="phi")
        from phi.db.migrate import apply_migrations

        applied = apply_migrations(dsn)
        if applied:
            log.info("migrations applied: %s", ", ".join(applied))
        return dsn

    def _stop_postgres(self) -> None:
        """Stops the server this stack started or adopted, and checks that it is gone (a running server has a
        postmaster.pid file; it is the last thing a stopping server removes)."""
        self._pg.cleanup()
        if (Path(self._pg.pgdata) / "postmaster.pid").exists():  # pgserver left it running: stop it here
            log.warning("PostgreSQL still running after pgserver's cleanup; stopping it")
            self.stop_database()
        self._pg = None

    def stop_database(self) -> None:
        """Stops PostgreSQL, leaving everything else up (fault tests)."""
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # generated at import time

        pg_ctl(["-m", "fast", "-w", "stop"], pgdata=self._pg.pgdata, user=self._pg.system_user, timeout=30)

    def start_database(self) -> None:
        self._pg.ensure_postgres_running()

    def _configure_environment(self, database_url: str, endpoint: str) -> None:
        env = {
            "PHI_STAGE": STAGE,
            "PHI_DATABASE_URL": database_url,
            "PHI_JWT_SECRET": self._jwt_secret(),
            "PHI_API_URL": f"http://127.0.0.1:{self.api_port}",
            "PHI_AGENT_QUEUE_PREFIX": names.agent_queue_prefix(STAGE),
            "PHI_DOCUMENTS_BUCKET": f"{names.stage_prefix(STAGE)}-documents",
            "PHI_TOOL_TIMEOUT_SECONDS": str(self.tool_timeout_seconds),
            "PHI_TOOL_HEARTBEAT_SECONDS": str(self.tool_heartbeat_seconds),
            # Every Lambda runs in this one process here, so the pool serves them all at once.
            "PHI_DB_POOL_MAX": "24",
            "PHI_DB_CONNECT_TIMEOUT_SECONDS": "30",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            # moto accepts any credentials; these are not secrets.
            "AWS_ACCESS_KEY_ID": "embedded",
            "AWS_SECRET_ACCESS_KEY": "embedded",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "phi",
        }
        os.environ.update({**env, **self.extra_env})

    def _jwt_secret(self) -> str:
        secret_file = self.data_dir / "jwt-secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(48))
            secret_file.chmod(0o600)
        return secret_file.read_text().strip()

    def _provision_aws(self, endpoint: str) -> str:
        kw: dict[str, Any] = {"endpoint_url": endpoint, "region_name": REGION}
        iam, lam, sfn = boto3.client("iam", **kw), boto3.client("lambda", **kw), boto3.client("stepfunctions", **kw)
        sqs, s3 = boto3.client("sqs", **kw), boto3.client("s3", **kw)
        role = iam.create_role(RoleName=f"phi-{STAGE}-embedded", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        agent_role = iam.create_role(RoleName=f"phi-{STAGE}-local-agent", AssumeRolePolicyDocument="{}")
        arns = {
            placeholder: lam.create_function(
                FunctionName=f"{names.stage_prefix(STAGE)}-{suffix}",
                Runtime="python3.12",
                Role=role,
                Handler="embedded",
                Code={"ZipFile": b"embedded"},
            )["FunctionArn"]
            for placeholder, suffix in PLACEHOLDERS.items()
        }
        definition = state_machine_definition(ASL_FILE.read_text(), arns)
        machine = sfn.create_state_machine(name=names.state_machine_name(STAGE), definition=definition, roleArn=role)
        dlq = sqs.create_queue(QueueName=names.agent_dlq_name(STAGE))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.create_bucket(Bucket=os.environ["PHI_DOCUMENTS_BUCKET"])
        self._wire_ingest(sqs, s3)
        group = names.scheduler_group_name(STAGE)
        boto3.client("scheduler", **kw).create_schedule_group(Name=group)
        scheduler_role = iam.create_role(RoleName=f"phi-{STAGE}-scheduler", AssumeRolePolicyDocument="{}")
        os.environ["PHI_SCHEDULER_GROUP"] = group
        os.environ["PHI_SCHEDULER_ROLE_ARN"] = scheduler_role["Role"]["Arn"]
        os.environ["PHI_AGENT_DLQ_ARN"] = dlq_arn
        os.environ["PHI_AGENT_ROLE_ARN"] = agent_role["Role"]["Arn"]
        os.environ["PHI_SECRETS_KEY_ARN"] = persistent_kms_key(
            self.data_dir / "kms-secrets-key.json", REGION, f"phi-{STAGE}: organisations' secrets"
        )
        return str(machine["stateMachineArn"])

    def _wire_ingest(self, sqs: Any, s3: Any) -> None:
        """S3 object-created (documents/) → ingest queue, with a dead-letter queue after 3 receives."""
        dlq = sqs.create_queue(QueueName=names.ingest_dlq_name(STAGE))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
        queue = sqs.create_queue(
            QueueName=names.ingest_queue_name(STAGE), Attributes={"VisibilityTimeout": "30", "RedrivePolicy": redrive}
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(
            Bucket=os.environ["PHI_DOCUMENTS_BUCKET"],
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": arn,
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": names.DOCUMENTS_PREFIX}]}},
                    }
                ]
            },
        )
        self._ingest_queue = (queue, arn)

    def _start_ingest_poller(self) -> None:
        from phi.embedded.ingest_poller import IngestPoller

        self.ingest_poller = IngestPoller(*self._ingest_queue, region=REGION)
        thread = threading.Thread(target=self.ingest_poller.run, name="ingest-poller", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _reset_settings(self) -> None:
        from phi.aws import reset_clients
        from phi.settings import get_settings

        get_settings.cache_clear()
        reset_clients()

    def _recover_after_restart(self) -> None:
        from phi.embedded.recovery import fail_orphaned_tasks, restore_agent_queues

        restore_agent_queues()
        fail_orphaned_tasks()

    def _start_scheduler(self) -> None:
        from phi.embedded.scheduler import LocalScheduler

        self.scheduler = LocalScheduler(os.environ["PHI_SCHEDULER_GROUP"], self.scheduler_interval_seconds)
        thread = threading.Thread(target=self.scheduler.run, name="scheduler", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _start_api(self) -> None:
        import uvicorn

        from phi.api.app import create_app

        # proxy_headers=False: no proxy stands in front, so X-Forwarded-For is the client's own claim and must
        # not replace the peer address (the login limiter counts failures per address).
        config = uvicorn.Config(
            create_app(), host="127.0.0.1", port=self.api_port, log_level="warning", proxy_headers=False
        )
        self._uvicorn = uvicorn.Server(config)
        thread = threading.Thread(target=self._uvicorn.run, name="uvicorn", daemon=True)
        thread.start()
        self._threads.append(thread)
        deadline = time.monotonic() + 15
        while not self._uvicorn.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the API did not start")
            time.sleep(0.05)

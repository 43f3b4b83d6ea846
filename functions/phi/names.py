"""Names and limits shared by the CDK app (infra_cdk/), the embedded stack (phi.embedded) and the app itself.

One place, so a queue, a schedule group or a state machine is called the same everywhere. Pure constants and
string functions: no imports beyond the standard library (the Lambda handlers import this at cold start).
"""

from __future__ import annotations

from enum import StrEnum

PROJECT = "phi"
STACK_NAME_PREFIX = "PhiAgents"
METRICS_NAMESPACE = "PhiAgents"
DEFAULT_STAGE = "dev"
DB_NAME = "phi"

# Object keys under DOCUMENTS_PREFIX are ingested; TOOL_RESULTS_PREFIX holds large tool results that local agents
# upload through pre-signed URLs (never ingested); REQUEST_RESULTS_PREFIX the full results of ad-hoc requests
# (CSV and gzip JSON lines, written by Think, downloaded through pre-signed URLs).
DOCUMENTS_PREFIX = "documents/"
TOOL_RESULTS_PREFIX = "tool-results/"
REQUEST_RESULTS_PREFIX = "request-results/"
# The KMS encryption context's `purpose` of organisations' webhook signing secrets (phi.secrets); IAM lets the API
# encrypt and Think decrypt with the secrets key for this purpose only.
WEBHOOK_SECRET_PURPOSE = "webhook-signing-secret"

# API Gateway's REST integration timeout. Everything the API Lambda calls within one request has a budget below it.
API_INTEGRATION_TIMEOUT_SECONDS = 29

# The migrate Lambda's timeout: clearly below the 900 s of CDK's custom resource provider function that invokes it,
# so a migration out of time fails the deploy at once (the provider answers FAILED) instead of leaving
# CloudFormation waiting for an answer that never comes.
MIGRATE_TIMEOUT_SECONDS = 780

# A task that runs longer than this is stuck, whatever its step budget says: the state machine's TimeoutSeconds.
EXECUTION_TIMEOUT_SECONDS = 24 * 3600

# CORS, identical in API Gateway's preflight and FastAPI's middleware. Clients authenticate with a bearer token in
# the Authorization header, never a cookie, so browsers need no credentialed requests.
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", "X-Agent-Key", "X-Requested-With")
CORS_ALLOW_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS")


class Service(StrEnum):
    """One Lambda function each: its Powertools service name (logs, traces, metrics) and its handler."""

    API = "api"
    START_TASK = "start-task"
    THINK = "think"
    FINISH_TASK = "finish-task"
    MARK_FAILED = "mark-failed"
    AWAIT_APPROVAL = "await-approval"
    INGEST = "ingest"
    MIGRATE = "migrate"
    SWEEPER = "sweeper"

    @property
    def module(self) -> str:
        return f"phi.handlers.{self.value.replace('-', '_')}"

    @property
    def handler(self) -> str:
        """The Lambda handler string (module.attribute) inside the ``functions/`` code asset."""
        return f"{self.module}.handler"


# ASL placeholder -> the workflow function whose ARN replaces it (CDK definition_substitutions, embedded stack).
FUNCTION_PLACEHOLDERS: dict[str, Service] = {
    "StartTaskFunctionArn": Service.START_TASK,
    "ThinkFunctionArn": Service.THINK,
    "FinishTaskFunctionArn": Service.FINISH_TASK,
    "MarkFailedFunctionArn": Service.MARK_FAILED,
    "AwaitApprovalFunctionArn": Service.AWAIT_APPROVAL,
}
# ASL placeholder of the execution's TimeoutSeconds (a number, so it stands unquoted in the file).
EXECUTION_TIMEOUT_PLACEHOLDER = "ExecutionTimeoutSeconds"
# ASL placeholder of the partition in the service integrations' ARNs (arn:aws-cn:states:::lambda:invoke in China,
# arn:aws-us-gov:… in GovCloud): CDK gives the stack's partition, the embedded stack "aws".
PARTITION_PLACEHOLDER = "Partition"
EMBEDDED_PARTITION = "aws"
ASL_PLACEHOLDERS = (*FUNCTION_PLACEHOLDERS, EXECUTION_TIMEOUT_PLACEHOLDER, PARTITION_PLACEHOLDER)


def stage_prefix(stage: str) -> str:
    """``phi-<stage>``: the prefix of every named resource of a stage."""
    return f"{PROJECT}-{stage}"


def function_name(stage: str, service: Service) -> str:
    return f"{stage_prefix(stage)}-{service.value}"


def agent_queue_prefix(stage: str) -> str:
    """Each agent's own queue is ``<prefix><agent id>``; the API creates and deletes queues under it only."""
    return f"{stage_prefix(stage)}-agent-"


def agent_dlq_name(stage: str) -> str:
    # Deliberately outside agent_queue_prefix: the API may create and delete agent queues, never this one.
    return f"{stage_prefix(stage)}-dlq-agent-tasks"


def ingest_queue_name(stage: str) -> str:
    return f"{stage_prefix(stage)}-ingest"


def ingest_dlq_name(stage: str) -> str:
    return f"{stage_prefix(stage)}-ingest-dlq"


def scheduler_group_name(stage: str) -> str:
    return stage_prefix(stage)


def state_machine_name(stage: str) -> str:
    return f"{stage_prefix(stage)}-agent-task"

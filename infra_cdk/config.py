"""Every constant of the deployment, and the per-stage settings read from CDK context."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, field_validator, model_validator

from phi import names
from phi.names import Service
from phi.settings import parse_llm_routes

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
MIGRATIONS_DIR = FUNCTIONS_DIR / "phi" / "db" / "migrations"
STATE_MACHINE_FILE = REPO_ROOT / "statemachines" / "agent_task.asl.json"
DEPS_LAYER_DIR = REPO_ROOT / "layers" / "build" / "deps"
# functions/ with its bytecode compiled for Lambda's Python (layers/build_layers.py): the code asset.
CODE_ASSET_DIR = REPO_ROOT / "layers" / "build" / "code"
LAYER_BUILD_COMMAND = "python layers/build_layers.py"

PROJECT = names.PROJECT
STACK_NAME_PREFIX = names.STACK_NAME_PREFIX
POWERTOOLS_METRICS_NAMESPACE = names.METRICS_NAMESPACE

DB_NAME = names.DB_NAME
DB_ADMIN_USER = "phi_admin"
# The instance listens on a non-default port; clients only ever see the proxy on 5432.
DB_INSTANCE_PORT = 5433
DB_PROXY_PORT = 5432

# Object keys under DOCUMENTS_PREFIX are ingested; TOOL_RESULTS_PREFIX holds large tool results
# uploaded by local agents through pre-signed URLs (never ingested).
DOCUMENTS_PREFIX = names.DOCUMENTS_PREFIX
TOOL_RESULTS_PREFIX = names.TOOL_RESULTS_PREFIX
REQUEST_RESULTS_PREFIX = names.REQUEST_RESULTS_PREFIX  # ad-hoc requests' full results (Think writes them)
TOOL_RESULTS_EXPIRY_DAYS = 30
NONCURRENT_VERSION_EXPIRY_DAYS = 30

# How often the sweeper fails tasks that passed their overall deadline (settings.task_deadline_seconds).
SWEEPER_INTERVAL_MINUTES = 5

# Step Functions waits at most this long for a local tool (settings.tool_timeout_seconds default);
# a message older than twice that means the agent is not polling.
AGENT_QUEUE_AGE_ALARM_SECONDS = 600

EXCLUDE_FROM_CODE_ASSET = ["*.egg-info", "**/.mypy_cache", "**/.pytest_cache"]


class Stage(StrEnum):
    DEV = "dev"
    PROD = "prod"


class Handler(StrEnum):
    """Lambda handlers inside the ``functions/`` code asset (package ``phi``)."""

    API = Service.API.handler
    START_TASK = Service.START_TASK.handler
    THINK = Service.THINK.handler
    FINISH_TASK = Service.FINISH_TASK.handler
    MARK_FAILED = Service.MARK_FAILED.handler
    AWAIT_APPROVAL = Service.AWAIT_APPROVAL.handler
    INGEST = Service.INGEST.handler
    MIGRATE = Service.MIGRATE.handler
    SWEEPER = Service.SWEEPER.handler

    @property
    def service(self) -> Service:
        return Service[self.name]


# ASL placeholder -> the workflow handler whose function ARN replaces it (names.FUNCTION_PLACEHOLDERS).
ASL_PLACEHOLDERS: dict[str, Handler] = {
    placeholder: Handler[service.name] for placeholder, service in names.FUNCTION_PLACEHOLDERS.items()
}


def sender_address(sender: str) -> str:
    """'Phi Alerts <alerts@example.com>' → 'alerts@example.com'."""
    from email.utils import parseaddr

    return parseaddr(sender)[1].lower()


# What PHI_LLM_PROVIDER may be on AWS (phi.settings also knows "scripted", the tests' provider: never deployed).
LlmProvider = Literal["none", "openai"]


class StageConfig(BaseModel):
    """What differs between stages; everything else is a constant above."""

    stage: Stage
    nat_gateways: int = Field(ge=1)
    db_instance_class: str
    db_multi_az: bool
    db_allocated_storage_gb: int
    db_max_allocated_storage_gb: int
    db_backup_retention_days: int
    deletion_protection: bool
    # A name of aws_logs.RetentionDays (CloudWatch accepts only fixed retention periods).
    log_retention: str
    api_rate_limit_rps: int
    api_burst_limit: int
    cors_allow_origins: list[str]
    llm_provider: LlmProvider = "none"
    openai_api_key_secret_arn: str | None = None
    # PHI_LLM_ROUTES (JSON), checked at synth: on AWS a route's key is a Secrets Manager secret the functions may read.
    llm_routes: str | None = None
    alarm_email: str | None = None
    # Workflow e-mail (notify nodes) through Amazon SES: the From address (the only one the functions may send
    # from), and the SES identity it belongs to, which the deployer verifies (a domain or address; default: the
    # address's domain; named in the EmailDelivery output). Without a sender, e-mails stay in the outbox
    # (readable through the API) and nothing is sent.
    email_sender: str | None = None
    ses_identity: str | None = None
    # X-Ray SDK subsegments and task annotations on top of Lambda's active tracing (costs each cold start the
    # SDK's import, ~0.15-0.2 s: phi.handlers.observability). Context `xraySdk=true`.
    xray_sdk: bool = False

    @field_validator("email_sender")
    @classmethod
    def sender_is_an_address(cls, value: str | None) -> str | None:
        if value is not None and "@" not in sender_address(value):
            raise ValueError(f"emailSender must be an e-mail address (optionally 'Name <a@b>'), not {value!r}")
        return value

    @property
    def email_identity(self) -> str | None:
        """The SES identity to verify for the sender (the IAM policies pin the From address, not the identity:
        SES may authorise a send against the address's own identity or, in the sandbox, the recipients')."""
        if self.email_sender is None:
            return None
        return self.ses_identity or sender_address(self.email_sender).rsplit("@", 1)[1]

    @field_validator("cors_allow_origins")
    @classmethod
    def origins_present(cls, origins: list[str]) -> list[str]:
        if not origins:
            raise ValueError("corsAllowOrigins needs at least one origin (the web app's URL)")
        return origins

    @field_validator("llm_provider", mode="before")
    @classmethod
    def provider_supported(cls, value: Any) -> Any:
        if value not in get_args(LlmProvider):
            raise ValueError(f"llmProvider must be one of: {', '.join(get_args(LlmProvider))} (not {value!r})")
        return value

    @model_validator(mode="after")
    def openai_key_where_needed(self) -> StageConfig:
        """What each function checks at cold start (phi.settings.requirements_for), checked at synth: an LLM on
        OpenAI's endpoint needs the key's secret, or the API, Think and ingest functions fail at every cold start.
        On AWS there is no other way to give it (no base URL context key; routes name their own secrets)."""
        if self.openai_api_key_secret_arn:
            return self
        if self.llm_provider == "openai":
            raise ValueError(
                "llmProvider=openai needs openaiApiKeySecretArn (the full ARN of the Secrets Manager secret holding "
                "the API key): without it the API, Think and ingest functions fail at every cold start"
            )
        if self.llm_routes:
            table = parse_llm_routes(self.llm_routes)
            default_key = [
                route.label
                for routes in table.values()
                for route in routes
                if route.provider == "openai" and not (route.base_url or route.api_key_secret_arn)
            ]
            if default_key:
                raise ValueError(
                    f"llmRoutes: {', '.join(dict.fromkeys(default_key))} talks to OpenAI's endpoint with no key of "
                    "its own (api_key_secret_arn), which needs openaiApiKeySecretArn: set it, or give the route its "
                    "own key and base_url"
                )
        return self

    @field_validator("llm_routes")
    @classmethod
    def routes_valid(cls, raw: str | None) -> str | None:
        if raw is None:
            return None
        table = parse_llm_routes(raw)
        if any(route.api_key_env for routes in table.values() for route in routes):
            raise ValueError("llmRoutes: on AWS a route names its key with api_key_secret_arn, not api_key_env")
        return raw

    @property
    def llm_route_secret_arns(self) -> list[str]:
        """The Secrets Manager secrets the routes name, each once, in order."""
        if not self.llm_routes:
            return []
        table = parse_llm_routes(self.llm_routes)
        arns = [r.api_key_secret_arn for routes in table.values() for r in routes if r.api_key_secret_arn]
        return list(dict.fromkeys(arns))

    @property
    def prefix(self) -> str:
        return names.stage_prefix(self.stage.value)

    @property
    def stack_name(self) -> str:
        return f"{STACK_NAME_PREFIX}-{self.stage.value}"

    @property
    def agent_queue_prefix(self) -> str:
        return names.agent_queue_prefix(self.stage.value)

    @property
    def agent_dlq_name(self) -> str:
        return names.agent_dlq_name(self.stage.value)

    @property
    def ingest_queue_name(self) -> str:
        return names.ingest_queue_name(self.stage.value)

    @property
    def ingest_dlq_name(self) -> str:
        return names.ingest_dlq_name(self.stage.value)

    @property
    def scheduler_group_name(self) -> str:
        return names.scheduler_group_name(self.stage.value)

    @property
    def state_machine_name(self) -> str:
        return names.state_machine_name(self.stage.value)

    @property
    def is_prod(self) -> bool:
        return self.stage is Stage.PROD


_STAGE_DEFAULTS: dict[Stage, dict[str, Any]] = {
    Stage.DEV: {
        "nat_gateways": 1,
        "db_instance_class": "t4g.micro",
        "db_multi_az": False,
        "db_allocated_storage_gb": 20,
        "db_max_allocated_storage_gb": 50,
        "db_backup_retention_days": 1,
        "deletion_protection": False,
        "log_retention": "TWO_WEEKS",
        "api_rate_limit_rps": 20,
        "api_burst_limit": 40,
        "cors_allow_origins": ["http://localhost:5173", "http://localhost:3000"],
    },
    Stage.PROD: {
        "nat_gateways": 2,
        "db_instance_class": "t4g.medium",
        "db_multi_az": True,
        "db_allocated_storage_gb": 50,
        "db_max_allocated_storage_gb": 500,
        "db_backup_retention_days": 14,
        "deletion_protection": True,
        "log_retention": "ONE_YEAR",
        "api_rate_limit_rps": 100,
        "api_burst_limit": 200,
        "cors_allow_origins": [],
    },
}

# CDK context key -> StageConfig field. Values come from cdk.json or `cdk synth -c key=value`.
CONTEXT_KEYS: dict[str, str] = {
    "corsAllowOrigins": "cors_allow_origins",
    "llmProvider": "llm_provider",
    "openaiApiKeySecretArn": "openai_api_key_secret_arn",
    "llmRoutes": "llm_routes",
    "alarmEmail": "alarm_email",
    "emailSender": "email_sender",
    "sesIdentity": "ses_identity",
    "xraySdk": "xray_sdk",
    "natGateways": "nat_gateways",
    "dbInstanceClass": "db_instance_class",
}


def _split_list(value: Any) -> Any:
    return [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value


def stage_config(get_context: Any) -> StageConfig:
    """Build the config from a ``node.try_get_context``-like callable (missing keys give None)."""
    stage = Stage(get_context("stage") or Stage.DEV.value)
    values: dict[str, Any] = dict(_STAGE_DEFAULTS[stage])
    for context_key, field_name in CONTEXT_KEYS.items():
        value = get_context(context_key)
        if value not in (None, ""):
            values[field_name] = _split_list(value) if field_name == "cors_allow_origins" else value
    return StageConfig(stage=stage, **values)


def cdk_json_context(cdk_json: Path = REPO_ROOT / "cdk.json") -> dict[str, Any]:
    """The context the CLI passes to app.py (feature flags, defaults); tests synthesize with it too."""
    context: dict[str, Any] = json.loads(cdk_json.read_text(encoding="utf-8"))["context"]
    return context

"""One settings model, read once at start-up (environment variables prefixed PHI_)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from phi import names

ENV_PREFIX = "PHI_"


class MissingSettingError(RuntimeError):
    """A setting this handler needs is not configured: raised at cold start, naming the variable."""


# What an LLM call is for; each purpose has its own ordered routes (PHI_LLM_ROUTES).
LlmPurpose = Literal["analysis", "profile", "classification", "planning"]
LLM_PURPOSES: tuple[LlmPurpose, ...] = ("analysis", "profile", "classification", "planning")


class LlmRoute(BaseModel):
    """One provider + model a purpose may use. The API key is a reference (an environment variable's name or a
    Secrets Manager ARN), never the key itself: configuration is logged and shown, keys must not be."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["openai", "scripted"] = Field(
        default="openai", description="openai: OpenAI or any OpenAI-compatible server (vLLM, Ollama) at base_url"
    )
    model: str = Field(min_length=1, max_length=200)
    base_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    api_key_secret_arn: str | None = Field(default=None, pattern=r"^arn:")
    timeout_seconds: float | None = Field(default=None, gt=0, le=600)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(k in data for k in ("api_key", "key", "openai_api_key")):
            raise ValueError("a route names its key (api_key_env or api_key_secret_arn), it never holds one")
        return data

    @property
    def label(self) -> str:
        """provider/model@host — what logs, events and metrics show (never a key)."""
        return f"{self.provider}/{self.model}" + (f"@{_host(self.base_url)}" if self.base_url else "")


def _host(url: str) -> str:
    """host[:port] of a URL, without its user information: a proxy's credentials in the URL
    (https://user:key@host/v1) must not reach a label that logs, events and metrics show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:  # a port that is no number: the host alone says where the route goes
        port = None
    return f"{host}:{port}" if port is not None else host


LlmRoutingTable = dict[LlmPurpose, list[LlmRoute]]
_ROUTES_FILE = TypeAdapter(dict[Literal[LlmPurpose, "default"], list[LlmRoute]])


def parse_llm_routes(raw: str) -> LlmRoutingTable:
    """PHI_LLM_ROUTES: {"<purpose>" | "default": [route, ...]}; every purpose must end up with a route. Errors
    name the place and the problem, never the value (which might hold a mistakenly pasted key)."""
    try:
        table = _ROUTES_FILE.validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'routes'}: {e['msg']}" for e in exc.errors(include_input=False)
        )
        raise ValueError(f"PHI_LLM_ROUTES is invalid: {problems}") from None
    default = table.get("default") or []
    routed: LlmRoutingTable = {p: table.get(p) or default for p in LLM_PURPOSES}
    unrouted = [p for p, routes in routed.items() if not routes]
    if unrouted:
        raise ValueError(f'PHI_LLM_ROUTES has no route for {", ".join(unrouted)} (add them or a "default" list)')
    return routed


def _environment_values(model: type[BaseModel]) -> dict[str, str]:
    """Each field's value from the environment, as text for pydantic to convert: ``PHI_<FIELD>``, or the field's
    own variable where it names one (``AWS_REGION``); names are matched without regard to case. Every field is a
    scalar, so nothing needs decoding first. (pydantic-settings did this, at ~35 ms of CPU on every cold start for
    its import alone; bench/bench_cold_start.py.)"""
    environment = {name.lower(): value for name, value in os.environ.items()}
    values: dict[str, str] = {}
    for field, info in model.model_fields.items():
        variable = info.validation_alias if isinstance(info.validation_alias, str) else ENV_PREFIX + field
        if (value := environment.get(variable.lower())) is not None:
            values[field] = value
    return values


class Settings(BaseModel):
    """Read from the environment when made; values passed in take the place of the environment's."""

    # Inputs stay out of validation errors: a bad value may be a secret (a DSN, a key pasted in the wrong place).
    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True, populate_by_name=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_environment_values(type(self)), **values})

    stage: str = "dev"
    region: str = Field(default="us-east-1", validation_alias="AWS_REGION")

    # Database: a DSN (embedded stack) or, on AWS, the RDS Proxy host plus the Secrets Manager secret.
    database_url: SecretStr | None = None
    db_secret_arn: str | None = None
    db_host: str | None = None
    db_name: str = "phi"
    db_pool_max: int = 4
    db_connect_timeout_seconds: float = 10.0
    # Each statement of an API request is stopped past this (a 503 that says so): API Gateway answers 504 at 29 s
    # anyway, and a runaway query would otherwise hold its connection, and the Lambda, until it ends. 0: no limit
    # set by the API (for a database role that carries its own statement_timeout instead; see the README).
    api_statement_timeout_seconds: float = Field(default=20.0, ge=0, le=900)

    # Auth
    jwt_secret: SecretStr | None = None
    jwt_secret_arn: str | None = None
    jwt_ttl_seconds: int = 3600

    # Orchestration
    state_machine_arn: str | None = None
    agent_queue_prefix: str = names.agent_queue_prefix(names.DEFAULT_STAGE)
    agent_dlq_arn: str | None = None
    max_steps: int = 25
    tool_timeout_seconds: int = 300
    tool_heartbeat_seconds: int = 120
    task_deadline_seconds: int | None = None  # default: max_steps * (tool timeout + 60 s)

    # Local agent access and schedules
    agent_role_arn: str | None = None
    scheduler_group: str | None = None
    scheduler_role_arn: str | None = None

    # The KMS key that encrypts organisations' secrets kept in the database (webhook signing secrets); each
    # ciphertext is bound to its organisation by the encryption context.
    secrets_key_arn: str | None = None

    # Storage
    documents_bucket: str | None = None
    tool_results_prefix: str = names.TOOL_RESULTS_PREFIX
    request_results_prefix: str = names.REQUEST_RESULTS_PREFIX
    # Large tool results and table outputs (gzip JSON lines in S3) are read and written as streams, in bounded
    # memory, and refused past these limits (which bound the time a Think step spends on one table).
    max_tool_result_bytes: int = 1024 * 1024 * 1024  # uncompressed
    max_tool_result_rows: int = 5_000_000

    # Comma-separated origins of the web app allowed to call the API from a browser
    cors_allow_origins: str = ""

    # Budget of every AWS call (botocore's standard retry mode is the one retry layer): at most
    # attempts x (connect + read) + backoff = 3 x (2 + 5) + 3 = 24 s, below API Gateway's 29 s (phi.aws).
    aws_connect_timeout_seconds: float = 2.0
    aws_read_timeout_seconds: float = 5.0
    aws_max_attempts: int = Field(default=3, ge=1, le=10)

    # X-Ray SDK subsegments (AWS calls, annotations with the task id) on top of Lambda's own active tracing.
    # Off by default: importing the SDK costs every cold start ~0.15-0.2 s of CPU (bench/bench_cold_start.py).
    xray_sdk: bool = False

    # Public endpoints written into agent configs
    api_url: str = "http://127.0.0.1:8000"
    aws_endpoint_url: str | None = Field(default=None, validation_alias="AWS_ENDPOINT_URL")

    # LLM: "none" means no generative model; reports say the narrative needs one.
    llm_provider: Literal["none", "openai", "scripted"] = "none"
    openai_api_key: SecretStr | None = None
    openai_api_key_secret_arn: str | None = None
    openai_base_url: str | None = None
    llm_model_analysis: str = "gpt-4o-mini"
    llm_model_profile: str = "gpt-4o-mini"
    llm_temperature: float = 0.2
    # One LLM request (the SDK does not retry; phi.workflows.retry is the one retry layer, in Think only).
    llm_timeout_seconds: float = 60.0
    # The most a model's server may send for one answer (phi.llm.bounded_http): an answer is outside input.
    llm_max_answer_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    # Profile generation runs inside an API request: one LLM request, cut off after this, then the role template.
    profile_llm_budget_seconds: float = Field(default=20.0, gt=0, lt=names.API_INTEGRATION_TIMEOUT_SECONDS)
    scripted_llm_file: str | None = None
    # The routing table (JSON): purpose → ordered routes, the next tried when one fails (phi.llm.routing).
    # Unset: one route per purpose built from the settings above (PHI_LLM_PROVIDER, PHI_OPENAI_BASE_URL, ...).
    llm_routes: str | None = None
    _llm_routing: LlmRoutingTable = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _validate_llm_routes(self) -> Settings:
        self._llm_routing = parse_llm_routes(self.llm_routes) if self.llm_routes else self._single_route_table()
        unset = sorted(
            {r.api_key_env for rs in self._llm_routing.values() for r in rs if r.api_key_env} - set(os.environ)
        )
        if unset:
            raise ValueError(f"PHI_LLM_ROUTES names key variables that are not set: {', '.join(unset)}")
        return self

    def _single_route_table(self) -> LlmRoutingTable:
        if self.llm_provider == "none":
            return {}
        base_url = self.openai_base_url if self.llm_provider == "openai" else None
        models: dict[LlmPurpose, str] = {
            "analysis": self.llm_model_analysis,
            "profile": self.llm_model_profile,
            "classification": self.llm_model_analysis,
            "planning": self.llm_model_analysis,
        }
        if self.llm_provider == "scripted":
            models = dict.fromkeys(LLM_PURPOSES, "scripted")
        return {p: [LlmRoute(provider=self.llm_provider, model=m, base_url=base_url)] for p, m in models.items()}

    def llm_routing(self) -> LlmRoutingTable:
        """Purpose → ordered routes; empty when no generative model is configured."""
        return self._llm_routing

    # Requests to an agent (DESIGN §9) classify and plan inside an API request: all their LLM calls together
    # are cut off after this; an ad-hoc result's preview rows and its CSV link's lifetime.
    request_llm_budget_seconds: float = Field(default=24.0, gt=0, lt=names.API_INTEGRATION_TIMEOUT_SECONDS)
    request_preview_rows: int = Field(default=20, ge=1, le=1000)
    request_download_url_seconds: int = Field(default=900, ge=60, le=7 * 24 * 3600)

    # Embeddings. "local": an offline model shipped in a Python package (embedded default; needs the
    # `embedded` extra). "openai": the OpenAI embeddings API or any server speaking it (openai_base_url).
    embedding_provider: Literal["local", "openai"] = "local"
    # None picks the provider's default: "all-minilm-l6-v2" locally (384 dims; chosen on measured retrieval
    # quality, see README), "text-embedding-3-small" on OpenAI; "wordllama-l2-supercat-256" is the light one.
    embedding_model: str | None = None
    embedding_dimensions: int | None = None
    embedding_cache_dir: str | None = None
    embedding_timeout_seconds: float = 30.0
    embedding_max_retries: int = 5
    # Per request OpenAI accepts at most 2048 inputs and 300k tokens; stay under both.
    embedding_max_batch_inputs: int = 2048
    embedding_max_batch_tokens: int = 250_000

    # Documents
    max_upload_bytes: int = 25 * 1024 * 1024
    # Bounded work per document, checked before embedding (a document over a limit ends FAILED with the reason):
    # 2M characters is ~1,000 dense pages; 4,000 chunks embed in about 2 minutes with MiniLM on 2 cores.
    ingest_max_chars: int = 2_000_000
    ingest_max_chunks: int = 4_000
    ingest_max_page_seconds: float = 20.0
    ingest_max_seconds: float = 120.0
    # A batch of documents shares one Lambda run: a document's reading stops this long before the run's own time
    # limit (kept for embedding, writing and a clean exit), and one is started only with at least this much
    # reading time ahead. A document stopped or not started for want of time is retried, never failed.
    ingest_reserve_seconds: float = 30.0
    # The sweeper fails a document whose ingest made no progress for this long (above the ingest queue's
    # visibility timeout, so a retry pending on the queue is not cut short), and expires unused upload URLs.
    document_stale_seconds: int = 2 * 3600
    # Weight of PostgreSQL's full-text ranking fused with the vector ranking in document search; 0 = vector only
    # (the default: on our labelled paraphrase questions every weight tried lowered recall, see bench_retrieval.py).
    search_text_weight: float = 0.0

    # E-mail (workflow `notify` nodes, invitations). "outbox" keeps every email in the database, readable through the
    # API (the embedded stack's only mode: it never sends real email); "ses" sends through Amazon SES (sesv2)
    # from `email_sender`, an address of the SES identity the deployment's IAM policy is scoped to.
    email_delivery: Literal["outbox", "ses"] = "outbox"
    email_sender: str | None = None
    # Outbound HTTPS (webhooks, `http` nodes; phi.guarded_http): a deadline for one whole exchange and a cap
    # on the response body. A node may ask for less, never for more.
    outbound_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    outbound_max_response_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)

    @field_validator("email_sender")
    @classmethod
    def _sender_is_an_address(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        from email.utils import parseaddr

        address = parseaddr(value)[1]
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise ValueError(f"PHI_EMAIL_SENDER must be an e-mail address (optionally 'Name <a@b>'), not {value!r}")
        return value

    @property
    def hybrid_search(self) -> bool:
        """Full-text ranking is fused into document search: chunks are then written with their full-text vector."""
        return self.search_text_weight > 0

    def env_name(self, field: str) -> str:
        """The environment variable that sets ``field``."""
        alias = type(self).model_fields[field].validation_alias
        return alias if isinstance(alias, str) else f"{ENV_PREFIX}{field.upper()}"

    def missing(self, requirement: Requirement) -> str | None:
        """None when one alternative of ``requirement`` is fully set; otherwise what to set, readably."""
        if any(all(getattr(self, field) not in (None, "") for field in option) for option in requirement):
            return None
        return " or ".join(" + ".join(self.env_name(field) for field in option) for option in requirement)

    def require(self, requirements: Sequence[Requirement]) -> Settings:
        """Fails with every missing variable named, so a misconfigured function fails at its cold start
        instead of calling AWS with a None (e.g. StartExecution without a state machine ARN)."""
        problems = [problem for requirement in requirements if (problem := self.missing(requirement))]
        if problems:
            raise MissingSettingError("missing configuration: set " + "; ".join(problems))
        return self

    def required(self, field: str) -> str:
        """The value of a setting that must be present where it is used."""
        value = getattr(self, field)
        if value in (None, ""):
            raise MissingSettingError(f"missing configuration: set {self.env_name(field)}")
        return str(value.get_secret_value() if isinstance(value, SecretStr) else value)


# A requirement is a tuple of alternatives; each alternative is the fields that together satisfy it.
Requirement = tuple[tuple[str, ...], ...]
DATABASE: Requirement = (("database_url",), ("db_secret_arn", "db_host"))
JWT_SECRET: Requirement = (("jwt_secret",), ("jwt_secret_arn",))
STATE_MACHINE: Requirement = (("state_machine_arn",),)
DOCUMENTS_BUCKET: Requirement = (("documents_bucket",),)
SCHEDULES: Requirement = (("scheduler_group", "scheduler_role_arn"),)
AGENT_ROLE: Requirement = (("agent_role_arn",),)
OPENAI_ACCESS: Requirement = (("openai_api_key",), ("openai_api_key_secret_arn",), ("openai_base_url",))
EMAIL_SENDER: Requirement = (("email_sender",),)
SECRETS_KEY: Requirement = (("secrets_key_arn",),)

# What each Lambda function needs before it may serve a request (names.Service value -> requirements).
HANDLER_REQUIREMENTS: dict[names.Service, tuple[Requirement, ...]] = {
    names.Service.API: (DATABASE, JWT_SECRET, STATE_MACHINE, DOCUMENTS_BUCKET, SCHEDULES, AGENT_ROLE, SECRETS_KEY),
    names.Service.START_TASK: (DATABASE,),
    names.Service.THINK: (DATABASE, DOCUMENTS_BUCKET, SECRETS_KEY),
    names.Service.FINISH_TASK: (DATABASE,),
    names.Service.MARK_FAILED: (DATABASE,),
    names.Service.AWAIT_APPROVAL: (DATABASE,),
    names.Service.INGEST: (DATABASE, DOCUMENTS_BUCKET),
    names.Service.MIGRATE: (DATABASE,),
    names.Service.SWEEPER: (DATABASE,),
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


# Functions that send e-mail: Think (notify nodes) and the API (invitations).
_EMAIL_SENDERS = {names.Service.THINK, names.Service.API}

# Functions that call the LLM or embed text (search in the API, documents in ingest, SOPs in Think).
_MODEL_USERS = {names.Service.API, names.Service.THINK, names.Service.INGEST}


def requirements_for(service: names.Service, settings: Settings) -> tuple[Requirement, ...]:
    requirements = HANDLER_REQUIREMENTS[service]
    # A route with no key reference and no base_url of its own uses the default OpenAI key.
    default_key_routes = [
        r
        for routes in settings.llm_routing().values()
        for r in routes
        if r.provider == "openai" and not (r.base_url or r.api_key_env or r.api_key_secret_arn)
    ]
    uses_openai = bool(default_key_routes) or settings.embedding_provider == "openai"
    if service in _MODEL_USERS and uses_openai:
        requirements = (*requirements, OPENAI_ACCESS)
    if service in _EMAIL_SENDERS and settings.email_delivery == "ses":
        requirements = (*requirements, EMAIL_SENDER)
    return requirements


def settings_for(service: names.Service) -> Settings:
    """The settings, validated for one handler: called at module level, so a gap fails the cold start."""
    settings = get_settings()
    return settings.require(requirements_for(service, settings))

"""One settings model, read once at start-up (environment variables prefixed PHI_)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHI_", extra="ignore")

    stage: str = "dev"
    region: str = Field(default="us-east-1", validation_alias="AWS_REGION")

    # Database: a DSN (embedded stack) or, on AWS, the RDS Proxy host plus the Secrets Manager secret.
    database_url: SecretStr | None = None
    db_secret_arn: str | None = None
    db_host: str | None = None
    db_name: str = "phi"
    db_pool_max: int = 4
    db_connect_timeout_seconds: float = 10.0

    # Auth
    jwt_secret: SecretStr | None = None
    jwt_secret_arn: str | None = None
    jwt_ttl_seconds: int = 3600

    # Orchestration
    state_machine_arn: str | None = None
    agent_queue_prefix: str = "phi-dev-agent-"
    agent_dlq_arn: str | None = None
    max_steps: int = 25
    tool_timeout_seconds: int = 300
    tool_heartbeat_seconds: int = 120
    task_deadline_seconds: int | None = None  # default: max_steps * (tool timeout + 60 s)

    # Local agent access and schedules
    agent_role_arn: str | None = None
    scheduler_group: str | None = None
    scheduler_role_arn: str | None = None

    # Storage
    documents_bucket: str | None = None
    tool_results_prefix: str = "tool-results/"
    # Large tool results (gzip JSON lines in S3) are read as a stream and refused past these limits.
    max_tool_result_bytes: int = 32 * 1024 * 1024  # uncompressed
    max_tool_result_rows: int = 1_000_000

    # Comma-separated origins of the web app allowed to call the API from a browser
    cors_allow_origins: str = ""

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
    llm_timeout_seconds: float = 60.0
    scripted_llm_file: str | None = None

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
    # The sweeper fails a document whose ingest made no progress for this long (above the ingest queue's
    # visibility timeout, so a retry pending on the queue is not cut short), and expires unused upload URLs.
    document_stale_seconds: int = 2 * 3600
    # Weight of PostgreSQL's full-text ranking fused with the vector ranking in document search; 0 = vector only
    # (the default: on our labelled paraphrase questions every weight tried lowered recall, see bench_retrieval.py).
    search_text_weight: float = 0.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

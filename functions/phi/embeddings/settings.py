"""Embedding settings (env prefix PHI_); to be folded into `phi.settings.Settings` by the lead."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class EmbeddingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHI_", extra="ignore")

    # "local": an offline model shipped in a Python package (embedded default).
    # "openai": the OpenAI embeddings API or any server speaking it (`openai_base_url`).
    embedding_provider: Literal["local", "openai"] = "local"
    # None picks the provider's default: "all-minilm-l6-v2" locally, "text-embedding-3-small" on
    # OpenAI. Local choices (phi.embeddings.local.LOCAL_MODELS): "all-minilm-l6-v2" (384 dims, needs
    # torch) or "wordllama-l2-supercat-256" (256 dims, numpy only, 60x faster, less accurate).
    embedding_model: str | None = None
    # OpenAI v3 models can return shorter vectors; also required for unknown OpenAI-compatible models.
    embedding_dimensions: int | None = None
    # Where a local model may write files at first use (WordLlama needs its tokenizer copied).
    embedding_cache_dir: str | None = None

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    embedding_timeout_seconds: float = 30.0
    embedding_max_retries: int = 5
    # Per request: OpenAI accepts at most 2048 inputs and 300k tokens; stay under both.
    embedding_max_batch_inputs: int = 2048
    embedding_max_batch_tokens: int = 250_000

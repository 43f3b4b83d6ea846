"""Embedding providers: an offline local model (embedded default) or the OpenAI API."""

from __future__ import annotations

from phi.embeddings.base import EmbeddingError, EmbeddingProvider, EmbeddingUnavailable
from phi.secrets import openai_api_key
from phi.settings import Settings, get_settings

__all__ = [
    "EmbeddingError",
    "EmbeddingProvider",
    "EmbeddingUnavailable",
    "get_embedding_provider",
]


def get_embedding_provider(settings: Settings | None = None) -> EmbeddingProvider:
    """The provider the settings name. Cheap: no model is loaded until the first `embed`."""
    settings = settings or get_settings()
    if settings.embedding_provider == "openai":
        from phi.embeddings.openai import DEFAULT_OPENAI_MODEL, OpenAIEmbeddings

        key = openai_api_key(settings)
        if key is None:
            raise EmbeddingError("PHI_EMBEDDING_PROVIDER=openai needs PHI_OPENAI_API_KEY (or its secret ARN)")
        return OpenAIEmbeddings(
            key,
            model=settings.embedding_model or DEFAULT_OPENAI_MODEL,
            dimensions=settings.embedding_dimensions,
            base_url=settings.openai_base_url,
            timeout_seconds=settings.embedding_timeout_seconds,
            max_retries=settings.embedding_max_retries,
            max_batch_inputs=settings.embedding_max_batch_inputs,
            max_batch_tokens=settings.embedding_max_batch_tokens,
        )
    from phi.embeddings.local import DEFAULT_LOCAL_MODEL, LocalEmbeddings

    return LocalEmbeddings(settings.embedding_model or DEFAULT_LOCAL_MODEL, cache_dir=settings.embedding_cache_dir)

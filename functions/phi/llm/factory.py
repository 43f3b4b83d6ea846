"""Chooses the provider from settings; None means no generative model is configured."""

from __future__ import annotations

from phi.llm.base import LlmProvider
from phi.settings import Settings, get_settings


def _openai_key(settings: Settings) -> str:
    if settings.openai_api_key is not None:
        return settings.openai_api_key.get_secret_value()
    if settings.openai_api_key_secret_arn:
        from phi.aws import client

        secret = client("secretsmanager").get_secret_value(SecretId=settings.openai_api_key_secret_arn)
        return str(secret["SecretString"])
    if settings.openai_base_url:
        return "not-needed"  # local OpenAI-compatible servers (Ollama, vLLM) accept any key
    raise RuntimeError("PHI_LLM_PROVIDER=openai needs PHI_OPENAI_API_KEY (or PHI_OPENAI_BASE_URL for a local server)")


def get_llm(settings: Settings | None = None) -> LlmProvider | None:
    settings = settings or get_settings()
    if settings.llm_provider == "openai":
        from phi.llm.openai_provider import OpenAIProvider

        return OpenAIProvider(settings, _openai_key(settings))
    if settings.llm_provider == "scripted":
        from phi.llm.scripted import ScriptedProvider

        if not settings.scripted_llm_file:
            raise RuntimeError("PHI_LLM_PROVIDER=scripted needs PHI_SCRIPTED_LLM_FILE")
        return ScriptedProvider(settings.scripted_llm_file)
    return None

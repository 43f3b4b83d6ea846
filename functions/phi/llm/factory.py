"""Chooses the provider from settings; None means no generative model is configured."""

from __future__ import annotations

from phi.llm.base import LlmProvider
from phi.secrets import openai_api_key
from phi.settings import Settings, get_settings


def _openai_key(settings: Settings) -> str:
    key = openai_api_key(settings)
    if key is None:
        raise RuntimeError(
            "PHI_LLM_PROVIDER=openai needs PHI_OPENAI_API_KEY (or PHI_OPENAI_BASE_URL for a local server)"
        )
    return key


def get_llm(settings: Settings | None = None, *, timeout_seconds: float | None = None) -> LlmProvider | None:
    """``timeout_seconds`` bounds each request (default settings.llm_timeout_seconds); providers never retry."""
    settings = settings or get_settings()
    if settings.llm_provider == "openai":
        from phi.llm.openai_provider import OpenAIProvider

        return OpenAIProvider(settings, _openai_key(settings), timeout_seconds)
    if settings.llm_provider == "scripted":
        from phi.llm.scripted import ScriptedProvider

        if not settings.scripted_llm_file:
            raise RuntimeError("PHI_LLM_PROVIDER=scripted needs PHI_SCRIPTED_LLM_FILE")
        return ScriptedProvider(settings.scripted_llm_file)
    return None

"""OpenAI, or any OpenAI-compatible server (vLLM, Ollama, llama.cpp server) through base_url."""

from __future__ import annotations

from typing import Any

from phi.llm.base import ChatMessage, LlmResponse, Purpose
from phi.settings import Settings


class OpenAIProvider:
    name = "openai"

    def __init__(self, settings: Settings, api_key: str, timeout_seconds: float | None = None) -> None:
        from openai import OpenAI  # imported here: only tasks that call an LLM pay for it

        # No SDK retries: the caller owns the one retry layer (phi.workflows.retry) or has none (a budget).
        self._client = OpenAI(
            api_key=api_key,
            base_url=settings.openai_base_url,
            timeout=timeout_seconds or settings.llm_timeout_seconds,
            max_retries=0,
        )
        self._models: dict[Purpose, str] = {
            "analysis": settings.llm_model_analysis,
            "profile": settings.llm_model_profile,
            "classification": settings.llm_model_analysis,
        }
        self._temperature = settings.llm_temperature

    def chat(
        self, messages: list[ChatMessage], *, purpose: Purpose, json_schema: dict[str, Any] | None = None
    ) -> LlmResponse:
        extra: dict[str, Any] = {}
        if json_schema is not None:
            extra["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": json_schema},
            }
        completion = self._client.chat.completions.create(
            model=self._models[purpose],
            messages=[m.model_dump() for m in messages],  # type: ignore[misc]
            temperature=self._temperature,
            **extra,
        )
        usage = completion.usage
        return LlmResponse(
            text=completion.choices[0].message.content or "",
            model=completion.model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

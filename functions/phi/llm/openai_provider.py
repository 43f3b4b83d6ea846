"""OpenAI, or any OpenAI-compatible server (vLLM, Ollama, llama.cpp server) through base_url."""

from __future__ import annotations

from typing import Any

from phi.llm.base import ChatMessage, LlmResponse, Purpose


class OpenAIProvider:
    """One route: one server, one model. Which model serves which purpose is the routing table's (phi.llm.routing)."""

    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None,
        timeout_seconds: float,
        temperature: float,
        max_answer_bytes: int = 2 * 1024 * 1024,
    ) -> None:
        from openai import DefaultHttpxClient, OpenAI  # imported here: only tasks that call an LLM pay for it

        from phi.llm.bounded_http import BoundedTransport

        # No SDK retries: the caller owns the one retry layer (phi.workflows.retry) or has none (a budget).
        # The transport bounds the answer in bytes and in time (the SDK's timeout bounds each read only).
        self._client = OpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout_seconds,
            max_retries=0,
            http_client=DefaultHttpxClient(transport=BoundedTransport(max_answer_bytes)),
        )
        self._model = model
        self._temperature = temperature

    def chat(
        self,
        messages: list[ChatMessage],
        *,
        purpose: Purpose,
        json_schema: dict[str, Any] | None = None,
        timeout_seconds: float | None = None,
    ) -> LlmResponse:
        extra: dict[str, Any] = {}
        if json_schema is not None:
            extra["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": json_schema},
            }
        if timeout_seconds is not None:
            extra["timeout"] = timeout_seconds
        completion = self._client.chat.completions.create(
            model=self._model,
            messages=[m.model_dump() for m in messages],  # type: ignore[misc]
            temperature=self._temperature,
            **extra,
        )
        usage = completion.usage
        return LlmResponse(
            text=completion.choices[0].message.content or "",
            model=completion.model or self._model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

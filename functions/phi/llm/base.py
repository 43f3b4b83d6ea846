"""The provider interface: chat with optional JSON-schema output, token usage reported."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel

from phi.settings import LlmPurpose

Purpose = LlmPurpose


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class LlmResponse(BaseModel):
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LlmProvider(Protocol):
    name: str

    def chat(
        self, messages: list[ChatMessage], *, purpose: Purpose, json_schema: dict[str, Any] | None = None
    ) -> LlmResponse: ...

"""LLM providers behind one small interface; which model serves which purpose is settings."""

from phi.llm.base import ChatMessage, LlmProvider, LlmResponse
from phi.llm.factory import get_llm

__all__ = ["ChatMessage", "LlmProvider", "LlmResponse", "get_llm"]

"""Secrets resolved from settings: a value given directly (embedded stack), or a Secrets Manager ARN (AWS)."""

from __future__ import annotations

from functools import lru_cache

from phi.settings import Settings


@lru_cache(maxsize=8)
def _secret_string(secret_arn: str) -> str:
    from phi.aws import client

    return str(client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"])


def secret_string(secret_arn: str) -> str:
    """A Secrets Manager secret's value, read once per cold start."""
    return _secret_string(secret_arn)


def openai_api_key(settings: Settings) -> str | None:
    """The OpenAI (or compatible) key; a local OpenAI-compatible server (Ollama, vLLM) accepts any key."""
    if settings.openai_api_key is not None:
        return settings.openai_api_key.get_secret_value()
    if settings.openai_api_key_secret_arn:
        return _secret_string(settings.openai_api_key_secret_arn)
    return "not-needed" if settings.openai_base_url else None

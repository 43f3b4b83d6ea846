"""Secrets resolved from settings: a value given directly (embedded stack), or a Secrets Manager ARN (AWS)."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID

from phi import names
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


def _context(org_id: UUID) -> dict[str, str]:
    """Webhook signing secrets are encrypted with KMS (the settings' secrets_key_arn) under this encryption context:
    with the organisation's id, a ciphertext copied to another organisation's row does not decrypt."""
    return {"purpose": names.WEBHOOK_SECRET_PURPOSE, "org_id": str(org_id)}


def encrypt_webhook_secret(org_id: UUID, secret: str) -> bytes:
    from phi.aws import client
    from phi.settings import get_settings

    key_id = get_settings().required("secrets_key_arn")
    response = client("kms").encrypt(KeyId=key_id, Plaintext=secret.encode(), EncryptionContext=_context(org_id))
    return bytes(response["CiphertextBlob"])


def decrypt_webhook_secret(org_id: UUID, ciphertext: bytes) -> str:
    """The secret, for signing only (never a response or a log). KMS refuses a ciphertext of another organisation
    or another key (InvalidCiphertextException)."""
    from phi.aws import client
    from phi.settings import get_settings

    key_id = get_settings().required("secrets_key_arn")
    response = client("kms").decrypt(CiphertextBlob=ciphertext, KeyId=key_id, EncryptionContext=_context(org_id))
    return bytes(response["Plaintext"]).decode()

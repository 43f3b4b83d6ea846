"""What the API answers is a public model: storage and credential internals never appear in a response."""

from __future__ import annotations

from typing import Any

from phi.api.app import create_app

# Field names that would expose storage layout, credential material or orchestration secrets.
INTERNAL_FIELDS = {"s3_key", "result_key", "password_hash", "key_hash", "task_token", "jwt_secret", "bucket"}
# Credential material is the point of these answers: vended to the agent key that asked; a new webhook signing
# secret, shown once to the owner or admin who created it (never readable again).
EXPECTED_SECRETS = {("Credentials", "secret_access_key"), ("NewWebhookSecret", "secret")}


def _response_schemas(schema: dict[str, Any]) -> set[str]:
    """Names of every component schema reachable from a response."""
    components = schema["components"]["schemas"]
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                if name not in seen:
                    seen.add(name)
                    walk(components[name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for item in schema["paths"].values():
        for operation in item.values():
            walk(operation.get("responses", {}))
    return seen


def test_no_response_model_carries_storage_or_credential_internals() -> None:
    schema = create_app().openapi()
    names = _response_schemas(schema)
    assert {"PublicDocument", "PublicUploadTicket"} <= names
    exposed = {
        (name, field)
        for name in names
        for field in schema["components"]["schemas"][name].get("properties", {})
        if field in INTERNAL_FIELDS or "secret" in field or field.endswith("_hash")
    }
    exposed -= EXPECTED_SECRETS
    assert exposed == set()

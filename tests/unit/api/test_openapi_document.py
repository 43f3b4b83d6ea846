"""The OpenAPI document a web app is built from: every operation summarised, with the shared error shape."""

from __future__ import annotations

from typing import Any

import pytest

from phi.api.app import create_app

DOCUMENT = create_app().openapi()
OPERATIONS = [(m.upper(), p, op) for p, item in DOCUMENT["paths"].items() for m, op in item.items()]
IDS = [f"{m} {p}" for m, p, _ in OPERATIONS]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return DOCUMENT["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_has_a_summary_and_documented_errors(method: str, path: str, operation: dict[str, Any]) -> None:
    assert operation.get("summary"), f"{method} {path} has no summary"
    error = operation["responses"]["404"]["content"]["application/json"]
    assert error["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert set(error["example"]["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_json_request_body_has_examples(method: str, path: str, operation: dict[str, Any]) -> None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return
    schema = (
        _resolve(content["schema"]) if "anyOf" not in content["schema"] else _resolve(content["schema"]["anyOf"][0])
    )
    has_examples = "examples" in schema or any("examples" in f for f in schema.get("properties", {}).values())
    assert has_examples, f"{method} {path}: request body without examples"


def test_the_error_shape_is_a_component() -> None:
    body = DOCUMENT["components"]["schemas"]["ErrorBody"]
    assert body["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert DOCUMENT["components"]["schemas"]["ErrorDetail"]["required"] == ["code", "message"]

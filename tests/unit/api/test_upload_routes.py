"""Which requests get an upload's body budget (phi.api.limits): a multipart POST to a document upload route only."""

from __future__ import annotations

from typing import Any

import pytest

from phi.api.limits import is_upload

AGENT = "6f1c2f8e-2a4b-4c53-9d2e-0a1b2c3d4e5f"
MULTIPART = [(b"content-type", b"multipart/form-data; boundary=x")]


def _scope(path: str, method: str = "POST", headers: Any = MULTIPART, root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": root_path, "headers": headers}


@pytest.mark.parametrize(
    "scope",
    [
        _scope(f"/agents/{AGENT}/documents"),
        _scope(f"/console/agents/{AGENT}/documents"),
        _scope(f"/dev/agents/{AGENT}/documents", root_path="/dev"),  # under the API Gateway stage
    ],
)
def test_a_multipart_post_to_an_upload_route_is_an_upload(scope: dict[str, Any]) -> None:
    assert is_upload(scope)


@pytest.mark.parametrize(
    "scope",
    [
        _scope(f"/workflows/x/agents/{AGENT}/documents"),  # ends like one, is not one
        _scope(f"/agents/{AGENT}/documents/upload-url"),
        _scope("/orgs"),
        _scope(f"/agents/{AGENT}/documents", method="PUT"),
        _scope(f"/agents/{AGENT}/documents", headers=[(b"content-type", b"application/json")]),
        _scope(f"/dev/workflows/agents/{AGENT}/documents", root_path="/dev"),
    ],
)
def test_anything_else_is_not(scope: dict[str, Any]) -> None:
    assert not is_upload(scope)

"""A field the API does not know is refused (422, naming it), never ignored: a misspelt `inputs` for `input`
answered 202 and ran the task with the workflow's defaults."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.api import ApiSession


def _owner_with_agent(api_url: str) -> tuple[ApiSession, dict[str, Any]]:
    owner = ApiSession(api_url)
    owner.sign_up(f"bodies-{uuid.uuid4().hex[:10]}@example.com")
    owner.create_org("Bodies Ltd")
    return owner, owner.create_agent()


def test_a_misspelt_field_is_refused_by_name_and_nothing_runs(api_url: str) -> None:
    owner, agent = _owner_with_agent(api_url)
    response = owner.request(
        "POST",
        f"/agents/{agent['id']}/run-task",
        json={"type": "DAILY_WAREHOUSE_REPORT", "inputs": {"date": "2026-01-31"}},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [f["field"] for f in error["details"]["fields"]] == ["inputs"]
    assert "inputs" in error["message"]
    assert owner.ok("GET", f"/agents/{agent['id']}/tasks") == []


def test_a_misspelt_field_inside_a_nested_body_model_is_refused_by_its_path(api_url: str) -> None:
    owner, agent = _owner_with_agent(api_url)
    response = owner.request(
        "PATCH",
        f"/agents/{agent['id']}",
        json={"workflows": [{"type": "DAILY_WAREHOUSE_REPORT", "schedule": "0 6 * * *", "inputs": {}}]},
    )
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["details"]["fields"]] == ["workflows.0.inputs"]
    llm = owner.request("PATCH", f"/agents/{agent['id']}", json={"llm": {"model": "gpt-4o-mini", "temprature": 0}})
    assert llm.status_code == 422 and "llm.temprature" in llm.json()["error"]["message"]
    assert owner.ok("GET", f"/agents/{agent['id']}")["config"] == agent["config"]

"""A value PostgreSQL cannot store is the client's to fix: the API answers 400 `invalid_value` (mapped from the
database driver's error in the unit of work, phi.db.connection.api_transaction), stores nothing, and the next
request on the pool works."""

from __future__ import annotations

import httpx

from tests.support.api import ApiSession


def test_a_nul_character_is_a_400_and_nothing_is_stored(new_user: ApiSession) -> None:
    org_path = f"/orgs/{new_user.org_id}"
    refused = new_user.request("PATCH", org_path, json={"name": "North\u0000wind"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == {
        "code": "invalid_value",
        "message": "The request holds a value that cannot be stored.",
        "details": {},
    }
    assert new_user.ok("GET", org_path)["name"] == "Test Org"
    assert new_user.ok("PATCH", org_path, json={"name": "Northwind"})["name"] == "Northwind"


def test_a_nul_character_in_a_new_agent_is_a_400(new_user: ApiSession) -> None:
    body = {"name": "Night\u0000shift", "industry_key": "logistics", "role_key": "warehouse_analyst"}
    refused = new_user.request("POST", f"/orgs/{new_user.org_id}/agents", json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "invalid_value"
    names = [agent["name"] for agent in new_user.ok("GET", f"/orgs/{new_user.org_id}/agents")]
    assert not any("shift" in name for name in names)


def _raw_json(session: ApiSession, method: str, path: str, body: bytes) -> httpx.Response:
    """A body sent as written: JSON's escape of a lone surrogate half ("\\ud800"), which no encoder writes."""
    return session.request(method, path, content=body, headers={"content-type": "application/json"})


def test_a_lone_surrogate_in_a_key_is_a_readable_4xx_not_a_500(new_user: ApiSession) -> None:
    # Fields typed as any JSON (a task's input, a tool's settings, the report's thresholds) keep the key: the answer
    # naming it as unknown could not be written as UTF-8, nor could the database driver send it (no DataError, a
    # UnicodeEncodeError), nor pydantic's error quote it: each was a 500.
    agent = new_user.create_agent()
    agent_path = f"/agents/{agent['id']}"
    input_key = b'{"type":"DAILY_WAREHOUSE_REPORT","input":{"\\ud800":1}}'
    cases = [
        (("POST", f"{agent_path}/run-task", input_key), 400, "invalid_definition"),
        (("PATCH", agent_path, b'{"thresholds":{"\\ud800":0.1}}'), 400, "invalid_value"),
        (("PATCH", agent_path, b'{"tools":{"\\ud800":{}}}'), 400, "invalid_value"),
    ]
    for (method, path, body), status, code in cases:
        answer = _raw_json(new_user, method, path, body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
        if code != "invalid_value":
            assert "\ufffd" in answer.json()["error"]["message"]  # the key named, as the character standing for it
    assert new_user.ok("GET", f"{agent_path}/tasks") == []
    assert new_user.ok("GET", agent_path)["tools"] == agent["tools"]

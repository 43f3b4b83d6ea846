"""A value PostgreSQL cannot store is the client's to fix: the API answers 400 `invalid_value` (mapped from the
database driver's error in the unit of work, phi.db.connection.api_transaction), stores nothing, and the next
request on the pool works."""

from __future__ import annotations

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

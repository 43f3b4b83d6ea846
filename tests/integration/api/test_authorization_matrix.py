"""The authorisation matrix, generated from the app's own OpenAPI paths: a route added later is covered
without touching this file. Another organisation's ids answer 404; a MEMBER is refused (403) on every
mutating route except those in MEMBER_MAY; without a token every non-public route answers 401."""

from __future__ import annotations

import re
import uuid

import pytest

from phi.api.app import create_app
from tests.integration.api.tenant_fixtures import Tenant, signed_up
from tests.support.api import ApiSession

PUBLIC_PREFIXES = ("/auth/", "/health")
AGENT_KEY_PREFIX = "/local-agents/"
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# Mutating routes a MEMBER may call: using agents is what members are for; changing them is not.
MEMBER_MAY = {
    ("POST", "/orgs"),
    ("PATCH", "/me"),
    ("POST", "/agents/{agent_id}/run-task"),
    ("POST", "/agents/{agent_id}/schedules/{workflow_type}/run"),
    ("POST", "/agents/{agent_id}/search-docs"),
    ("POST", "/agents/{agent_id}/requests"),  # a request changes nothing by itself: a proposal awaits an admin
    ("POST", "/tasks/{task_id}/cancel"),  # who may start a task may stop one
}
# Mutating routes only an OWNER may call: an admin is refused too.
OWNER_ONLY = {("PUT", "/orgs/{org_id}/llm-budget")}
_PARAM = re.compile(r"{([^}]+)}")


def _routes() -> list[tuple[str, str]]:
    paths = create_app().openapi()["paths"]
    return sorted((method.upper(), path) for path, item in paths.items() for method in item)


ROUTES = _routes()
PRIVATE = [r for r in ROUTES if not r[1].startswith(PUBLIC_PREFIXES)]
ID_ROUTES = [r for r in PRIVATE if _PARAM.search(r[1]) and not r[1].startswith(AGENT_KEY_PREFIX)]
MEMBER_REFUSED = [r for r in ID_ROUTES if r[0] in MUTATING and r not in MEMBER_MAY]


def fill(path: str, ids: dict[str, str]) -> str:
    """Path parameters → the victim's real ids; an unknown parameter gets a random id (still must be 404)."""
    return _PARAM.sub(lambda m: ids.get(m.group(1), str(uuid.uuid4())), path)


def _call(session: ApiSession, method: str, path: str) -> tuple[int, str]:
    response = session.request(method, path, json={} if method in MUTATING else None)
    code = response.json().get("error", {}).get("code", "") if response.content else ""
    return response.status_code, code


@pytest.fixture(scope="module")
def intruder(api_url: str) -> ApiSession:
    session = signed_up(api_url, "intruder")
    session.create_org("Intruder Inc")
    return session


def test_the_matrix_covers_the_routes_that_matter() -> None:
    assert ("DELETE", "/agents/{agent_id}") in MEMBER_REFUSED
    assert ("GET", "/tasks/{task_id}") in ID_ROUTES
    assert ("POST", "/orgs/{org_id}/invitations") in MEMBER_REFUSED
    assert len(ID_ROUTES) >= 20


@pytest.mark.parametrize(("method", "path"), PRIVATE, ids=[f"{m} {p}" for m, p in PRIVATE])
def test_without_a_token_every_private_route_answers_401(method: str, path: str, victim: Tenant, api_url: str) -> None:
    status, code = _call(ApiSession(api_url), method, fill(path, victim.ids))
    assert (status, code) == (401, "unauthorized")


@pytest.mark.parametrize(("method", "path"), ID_ROUTES, ids=[f"{m} {p}" for m, p in ID_ROUTES])
def test_another_organisations_ids_answer_404(method: str, path: str, victim: Tenant, intruder: ApiSession) -> None:
    status, code = _call(intruder, method, fill(path, victim.ids))
    assert (status, code) == (404, "not_found")


@pytest.mark.parametrize(("method", "path"), MEMBER_REFUSED, ids=[f"{m} {p}" for m, p in MEMBER_REFUSED])
def test_a_member_is_refused_on_admin_routes(method: str, path: str, victim: Tenant) -> None:
    status, code = _call(victim.member, method, fill(path, victim.ids))
    assert (status, code) == (403, "forbidden")


@pytest.mark.parametrize(("method", "path"), MEMBER_REFUSED, ids=[f"{m} {p}" for m, p in MEMBER_REFUSED])
def test_an_admin_passes_the_role_check(method: str, path: str, victim: Tenant) -> None:
    # Read-only probe: an empty body fails validation or the request is refused for a reason other than role.
    if (method, path) in {("DELETE", "/agents/{agent_id}"), ("DELETE", "/agents/{agent_id}/keys/{key_id}")}:
        path = path.replace("{agent_id}", str(uuid.uuid4()))
    status, code = _call(victim.admin, method, fill(path, victim.ids))
    if (method, path) == ("DELETE", "/orgs/{org_id}/members/{user_id}"):
        assert (status, code) == (403, "forbidden")  # the path names the owner: only an owner removes an owner
    elif (method, path) in OWNER_ONLY:
        assert (status, code) == (403, "forbidden")
    else:
        assert status != 403, code


def test_an_agent_key_reaches_only_its_own_agent(victim: Tenant, api_url: str) -> None:
    other = signed_up(api_url, "other")
    other.create_org("Other Org")
    other_agent = other.create_agent()
    key_client = ApiSession(api_url)
    key_client.token = victim.ids["agent_key"]

    beat = key_client.ok("POST", "/local-agents/heartbeat", json={"host": "victim-host"})
    as_user = [
        key_client.request("GET", p).status_code
        for p in (
            f"/agents/{other_agent['id']}",
            f"/orgs/{other.org_id}/agents",
            f"/agents/{victim.ids['agent_id']}",
            "/me",
        )
    ]
    user_as_agent = other.request("POST", "/local-agents/heartbeat", json={"host": "x"}).status_code

    assert beat["status"] == "ONLINE"
    assert other.ok("GET", f"/orgs/{other.org_id}/local-agents") == []
    assert [a["host"] for a in victim.owner.ok("GET", f"/agents/{victim.ids['agent_id']}/local-agents")] == [
        "victim-host"
    ]
    assert as_user == [401, 401, 401, 401]
    assert user_as_agent == 401

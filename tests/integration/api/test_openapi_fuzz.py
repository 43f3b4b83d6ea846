"""Schema fuzzing of the OpenAPI document (schemathesis, in-process against the ASGI app, on the embedded
stack's database): no generated request may produce a 5xx. Bounded: a few examples per operation."""

from __future__ import annotations

import uuid
import zlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from phi.api.app import create_app
from tests.integration.api.tenant_fixtures import Tenant, furnished_tenant, signed_up

EXAMPLES_PER_OPERATION = 5


@pytest.fixture(scope="module")
def fuzz_tenant(api_url: str) -> Tenant:
    return furnished_tenant(api_url)


# Loading the schema needs no database; the calls run once the stack is up (fuzz_tenant needs it).
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_the_api_fail(case: Any, fuzz_tenant: Tenant) -> None:
    # Real ids half of the time so that the fuzzer reaches past the tenancy checks into the handlers.
    real_ids = {k: v for k, v in fuzz_tenant.ids.items() if k != "agent_key"}
    if case.method == "DELETE" and case.path == "/agents/{agent_id}":
        real_ids["agent_id"] = str(uuid.uuid4())  # keep the agent for the other operations
    for name in list(case.path_parameters or {}):
        if name in real_ids and zlib.crc32(str(case.path_parameters[name]).encode()) % 2 == 0:
            case.path_parameters[name] = real_ids[name]
    token = fuzz_tenant.ids["agent_key"] if case.path.startswith("/local-agents/") else fuzz_tenant.owner.token
    if case.path == "/auth/logout":  # would end the owner's token for every later operation
        token = signed_up(fuzz_tenant.owner.base_url, "fuzz-logout").token
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}

    response = case.call()

    assert response.status_code < 500, f"{case.method} {case.formatted_path} → {response.status_code}: {response.text}"

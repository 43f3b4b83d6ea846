"""Fixtures for the API tests: one furnished victim organisation per module, shared read-mostly."""

from __future__ import annotations

import pytest

from tests.integration.api.tenant_fixtures import Tenant, furnished_tenant


@pytest.fixture(scope="module")
def victim(api_url: str) -> Tenant:
    return furnished_tenant(api_url)

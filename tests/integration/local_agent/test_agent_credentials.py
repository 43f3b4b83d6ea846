"""Vended credentials: fetched with the agent key, refreshed about five minutes before they expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from phi_agent.api import ApiClient, ApiError
from phi_agent.credentials import CredentialVendor

GOOD_KEY = "phi_ak_test_good_key"


def test_credentials_are_refreshed_before_expiry(phi_api: Any) -> None:
    phi_api.credentials["expiration"] = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    vendor = CredentialVendor(ApiClient(phi_api.url, GOOD_KEY, attempts=1))
    credentials = vendor.refreshable()
    assert credentials.get_frozen_credentials().access_key == "ASIAVENDED"
    assert phi_api.credential_calls == 1, "30 minutes left: no refresh yet"

    phi_api.credentials["expiration"] = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    short_lived = vendor.refreshable()
    phi_api.credentials["access_key_id"] = "ASIAREFRESHED"
    phi_api.credentials["expiration"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert short_lived.get_frozen_credentials().access_key == "ASIAREFRESHED"
    assert phi_api.credential_calls == 3


def test_bad_agent_key_is_an_auth_failure(phi_api: Any) -> None:
    with pytest.raises(ApiError) as caught:
        CredentialVendor(ApiClient(phi_api.url, "nope", attempts=1)).fetch()
    assert caught.value.is_auth_failure and caught.value.code == "unauthorized"


def test_unreachable_api_is_retried_then_reported() -> None:
    sleeps: list[float] = []
    client = ApiClient("http://127.0.0.1:9", GOOD_KEY, timeout_seconds=1, attempts=3, sleep=sleeps.append)
    with pytest.raises(ApiError) as caught:
        client.post("/local-agents/credentials", {})
    assert caught.value.status is None and caught.value.code == "network_error"
    assert sleeps == [1.0, 2.0], "exponential backoff between attempts"

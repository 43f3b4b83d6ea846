"""Vended credentials: fetched with the agent key, refreshed about five minutes before they expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from phi_agent.api import ApiClient, ApiError
from phi_agent.credentials import CredentialVendor
from tests.support.waiting import wait_until

GOOD_KEY = "phi_ak_test_good_key"


class _Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _vend_for(phi_api: Any, lifetime: timedelta, clock: Any) -> list[tuple[str, datetime]]:
    """Each credentials call answers a new key valid for `lifetime` from the clock's now; returns the log."""
    vended: list[tuple[str, datetime]] = []
    answer = phi_api.handle

    def handle(path: str, authorization: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path == "/local-agents/credentials":
            expiry = clock() + lifetime
            vended.append((f"ASIAVENDED{len(vended):06d}", expiry))
            phi_api.credentials = {
                **phi_api.credentials,
                "access_key_id": vended[-1][0],
                "expiration": expiry.isoformat(),
            }
        return answer(path, authorization, body)  # type: ignore[no-any-return]

    phi_api.handle = handle
    return vended


def test_fifteen_minute_credentials_are_renewed_five_minutes_before_they_expire(phi_api: Any) -> None:
    # Given credentials vended for 15 minutes (the API's session length), on a clock the test moves
    clock = _Clock()
    vended = _vend_for(phi_api, timedelta(minutes=15), clock)
    credentials = CredentialVendor(ApiClient(phi_api.url, GOOD_KEY, attempts=1), clock=clock).refreshable()
    first = credentials.get_frozen_credentials().access_key

    # When 9 minutes have passed they are still used; at 10 min 30 s (4 min 30 s left) they are renewed
    clock.now += timedelta(minutes=9)
    still = credentials.get_frozen_credentials().access_key
    clock.now += timedelta(minutes=1, seconds=30)
    renewed = credentials.get_frozen_credentials().access_key

    assert (first, still) == (vended[0][0], vended[0][0])
    assert renewed == vended[1][0] and len(vended) == 2
    assert vended[0][1] > clock.now, "renewed while the old credentials were still valid"


def test_short_lived_credentials_are_refreshed_before_expiry_on_real_signed_calls(
    phi_api: Any, cloud: Any, make_config: Any
) -> None:
    """With 12-second credentials (a stand-in for the 15-minute sessions) and real time, every AWS call the
    agent makes is signed with credentials that have not expired, across several refreshes."""
    from phi_agent.config import load_config
    from phi_agent.credentials import aws_clients, aws_session

    vended = _vend_for(phi_api, timedelta(seconds=12), lambda: datetime.now(UTC))
    config = load_config(make_config(cloud.new_queue()), {}).agent
    session = aws_session(config, CredentialVendor(ApiClient(phi_api.url, GOOD_KEY, attempts=1)))
    sqs = aws_clients(session, config).sqs
    signed: list[tuple[str, datetime]] = []

    def record(request: Any, **_: Any) -> None:
        authorization = request.headers["Authorization"].decode()
        signed.append((authorization.split("Credential=")[1].split("/")[0], datetime.now(UTC)))

    sqs.meta.events.register("before-send.sqs", record)
    wait_until(lambda: sqs.list_queues() and len(vended) >= 4, timeout=180, interval=0.25)

    expiry = dict(vended)
    assert {key for key, _ in signed} >= {key for key, _ in vended[:3]}, "each refresh was used"
    assert all(used_at < expiry[key] for key, used_at in signed), "a call was signed with expired credentials"


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


@pytest.mark.parametrize(("status", "final"), [(401, True), (403, False)])
def test_a_refused_refresh_is_a_botocore_credential_error_and_only_401_counts_as_a_refused_key(
    phi_api: Any, status: int, final: bool
) -> None:
    """Once the current credentials are about to expire, botocore re-raises a failed refresh from the AWS call
    itself; as CredentialRetrievalError the worker's AWS error handling logs it and backs off. Only 401 (revoked
    key, deleted agent) stops the agent: 403 (disabled) may be lifted by an admin."""
    from botocore.exceptions import CredentialRetrievalError

    from phi_agent.api import KeyRefusal

    clock = _Clock()
    _vend_for(phi_api, timedelta(minutes=15), clock)
    refusal = KeyRefusal()
    stopped: list[bool] = []
    refusal.subscribe(lambda: stopped.append(True))
    credentials = CredentialVendor(ApiClient(phi_api.url, GOOD_KEY, attempts=1), clock=clock, refusal=refusal)
    refreshable = credentials.refreshable()
    phi_api.refusing = (status, "unauthorized" if status == 401 else "forbidden")

    clock.now += timedelta(minutes=14)  # inside the mandatory window: the refresh must succeed or raise
    with pytest.raises(CredentialRetrievalError) as caught:
        refreshable.get_frozen_credentials()

    assert f"HTTP {status}" in str(caught.value)
    assert (refusal.reason is not None) is final and stopped == ([True] if final else [])

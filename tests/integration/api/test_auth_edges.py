"""Authentication edges: odd token subjects, disabled agents' keys, the login limiter's idea of the caller's
address (the peer on the embedded stack, API Gateway's sourceIp on AWS; never X-Forwarded-For)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from tests.integration.api.tenant_fixtures import unique_email
from tests.support.api import ApiSession


def _token(sub: Any) -> str:
    claims = {"sub": sub, "typ": "access", "exp": datetime.now(UTC) + timedelta(hours=1)}
    return jwt.encode(claims, os.environ["PHI_JWT_SECRET"], algorithm="HS256")


@pytest.mark.parametrize("sub", ["not-a-uuid", "admin", "../../etc/passwd", "1234", "0" * 40, " "])
def test_a_validly_signed_token_whose_subject_is_not_a_user_id_is_401(api_url: str, sub: str) -> None:
    response = ApiSession(api_url).request("GET", "/me", headers={"Authorization": f"Bearer {_token(sub)}"})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_disabled_agents_key_gets_no_credentials_and_no_heartbeat_until_it_is_enabled(
    new_user: ApiSession, api_url: str
) -> None:
    agent = new_user.create_agent()
    agent_client = ApiSession(api_url)
    agent_client.token = new_user.ok("POST", f"/agents/{agent['id']}/keys")["key"]

    new_user.ok("PATCH", f"/agents/{agent['id']}", json={"status": "DISABLED"})
    refused = agent_client.request("POST", "/local-agents/credentials")
    beat_refused = agent_client.request("POST", "/local-agents/heartbeat", json={"host": "disabled-host"})
    fleet_while_disabled = new_user.ok("GET", f"/agents/{agent['id']}/local-agents")
    new_user.ok("PATCH", f"/agents/{agent['id']}", json={"status": "ACTIVE"})
    granted = agent_client.request("POST", "/local-agents/credentials")
    beat = agent_client.request("POST", "/local-agents/heartbeat", json={"host": "enabled-host"})

    assert refused.status_code == 403, refused.text
    assert "disabled" in refused.json()["error"]["message"]
    assert "session_token" not in refused.text
    # nor is its host recorded as alive
    assert beat_refused.status_code == 403 and "disabled" in beat_refused.json()["error"]["message"]
    assert fleet_while_disabled == []
    assert granted.status_code == 200
    assert beat.status_code == 200
    assert [h["host"] for h in new_user.ok("GET", f"/agents/{agent['id']}/local-agents")] == ["enabled-host"]


def test_a_deleted_agents_local_agent_leaves_the_fleet_at_once(new_user: ApiSession, api_url: str) -> None:
    """Its process may still run on the customer's machine, refused at every call: it is not shown as online."""
    agent, other = new_user.create_agent(), new_user.create_agent(name="Stays")
    for each, host in ((agent, "deleted-host"), (other, "staying-host")):
        client = ApiSession(api_url)
        client.token = new_user.ok("POST", f"/agents/{each['id']}/keys")["key"]
        client.ok("POST", "/local-agents/heartbeat", json={"host": host})
    assert {h["host"] for h in new_user.ok("GET", f"/orgs/{new_user.org_id}/local-agents")} == {
        "deleted-host",
        "staying-host",
    }

    assert new_user.request("DELETE", f"/agents/{agent['id']}").status_code == 204
    assert [h["host"] for h in new_user.ok("GET", f"/orgs/{new_user.org_id}/local-agents")] == ["staying-host"]


def test_vended_credentials_last_the_shortest_session_sts_grants(new_user: ApiSession, api_url: str) -> None:
    agent = new_user.create_agent()
    agent_client = ApiSession(api_url)
    agent_client.token = new_user.ok("POST", f"/agents/{agent['id']}/keys")["key"]
    before = datetime.now(UTC)
    credentials = agent_client.ok("POST", "/local-agents/credentials")
    lifetime = datetime.fromisoformat(credentials["expiration"]) - before
    assert timedelta(minutes=14) < lifetime <= timedelta(minutes=15, seconds=5), lifetime


def _wrong_passwords(send: Any, email: str, count: int = 12) -> list[int]:
    return [send(email, f"wrong-{i}", f"203.0.113.{i}, 198.51.100.{i}") for i in range(count)]


def test_the_login_limiter_ignores_x_forwarded_for_on_the_embedded_stack(api_url: str) -> None:
    # Given an account, and a client that claims a new address in X-Forwarded-For with every attempt
    email = unique_email("xff")
    ApiSession(api_url).sign_up(email, "the-right-password")
    client = ApiSession(api_url)

    def send(email: str, password: str, forwarded: str) -> int:
        return client.request(
            "POST",
            "/auth/login",
            json={"email": email, "password": password},
            headers={"X-Forwarded-For": forwarded, "X-Real-IP": forwarded.split(",")[0]},
        ).status_code

    # When it tries 12 wrong passwords
    statuses = _wrong_passwords(send, email)

    # Then the limiter counted them against the one real peer address: locked out after 5
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, statuses
    assert send(email, "the-right-password", "192.0.2.77") == 429


def _api_gateway_event(body: dict[str, Any], source_ip: str, forwarded: str) -> dict[str, Any]:
    """A REST API (v1) proxy event as API Gateway sends it to the Lambda."""
    return {
        "resource": "/{proxy+}",
        "path": "/auth/login",
        "httpMethod": "POST",
        "headers": {"content-type": "application/json", "X-Forwarded-For": forwarded, "Host": "api.example.com"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": "auth/login"},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": "POST",
            "path": "/prod/auth/login",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "abc123",
            "identity": {"sourceIp": source_ip, "userAgent": "test"},
        },
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "isBase64Encoded": True,
    }


def test_the_login_limiter_counts_api_gateways_source_ip_on_aws(api_url: str) -> None:
    from phi.handlers.api import handler

    email = unique_email("apigw")
    ApiSession(api_url).sign_up(email, "the-right-password")

    def send_from(source_ip: str) -> Any:
        def send(email: str, password: str, forwarded: str) -> int:
            event = _api_gateway_event({"email": email, "password": password}, source_ip, forwarded)
            return int(handler(event, None)["statusCode"])  # type: ignore[arg-type]

        return send

    # 12 wrong passwords from one source address, each claiming another in X-Forwarded-For: locked out
    statuses = _wrong_passwords(send_from("198.18.0.10"), email)
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, statuses
    # The count is per source address: another address may still log in
    assert send_from("198.18.0.11")(email, "the-right-password", "198.18.0.10") == 200


def test_guessing_one_accounts_password_from_many_addresses_is_bounded_too(api_url: str) -> None:
    from phi.handlers.api import handler
    from phi.services.auth import MAX_ACCOUNT_FAILURES, MAX_FAILURES, WINDOW_SECONDS

    email = unique_email("spread")
    ApiSession(api_url).sign_up(email, "the-right-password")

    def send(password: str, source_ip: str) -> dict[str, Any]:
        event = _api_gateway_event({"email": email, "password": password}, source_ip, source_ip)
        return handler(event, None)  # type: ignore[arg-type]

    # When a campaign tries wrong passwords from many addresses, fewer than the per-address limit from each
    per_address = MAX_FAILURES - 1
    addresses = [f"198.19.{i // 250}.{i % 250}" for i in range(MAX_ACCOUNT_FAILURES // per_address + 2)]
    statuses = [int(send(f"wrong-{a}-{k}", a)["statusCode"]) for a in addresses for k in range(per_address)]

    # Then only the account-wide limit's worth had their password checked, and a new address is refused too
    assert statuses[:MAX_ACCOUNT_FAILURES] == [401] * MAX_ACCOUNT_FAILURES
    assert set(statuses[MAX_ACCOUNT_FAILURES:]) == {429}, statuses
    refused = send("the-right-password", "198.19.99.1")
    wait = json.loads(refused["body"])["error"]["details"]["retry_after_seconds"]
    assert refused["statusCode"] == 429 and 0 < wait <= WINDOW_SECONDS
    # ... while another account is not affected
    other = unique_email("bystander")
    ApiSession(api_url).sign_up(other, "the-right-password")
    event = _api_gateway_event({"email": other, "password": "the-right-password"}, addresses[0], addresses[0])
    assert handler(event, None)["statusCode"] == 200  # type: ignore[arg-type]


def test_spraying_one_password_over_many_accounts_from_one_network_is_bounded(api_url: str) -> None:
    from phi.handlers.api import handler
    from phi.services.auth import MAX_ADDRESS_FAILURES, WINDOW_SECONDS

    # An IPv6 /64 of this test's own (random): one client holds all of its addresses
    network = f"2001:db8:{uuid.uuid4().int % 0xFFFF:x}:{uuid.uuid4().int % 0xFFFF:x}"
    victim = unique_email("sprayed")
    ApiSession(api_url).sign_up(victim, "the-right-password")

    def send(email: str, password: str, source_ip: str) -> dict[str, Any]:
        return handler(_api_gateway_event({"email": email, "password": password}, source_ip, source_ip), None)  # type: ignore[arg-type]

    # When one password is tried once against each of many accounts, each time from another address of the /64
    statuses = [
        int(send(unique_email(f"spray{i}"), "Summer2026!", f"{network}::{i + 1:x}")["statusCode"])
        for i in range(MAX_ADDRESS_FAILURES + 3)
    ]

    # Then the network-wide limit's worth were checked, and the rest refused, whatever the account
    assert statuses[:MAX_ADDRESS_FAILURES] == [401] * MAX_ADDRESS_FAILURES
    assert set(statuses[MAX_ADDRESS_FAILURES:]) == {429}, statuses[MAX_ADDRESS_FAILURES:]
    refused = send(victim, "Summer2026!", f"{network}:ffff:ffff:ffff:fffe")
    error = json.loads(refused["body"])["error"]
    assert refused["statusCode"] == 429 and "from this address" in error["message"]
    assert 0 < error["details"]["retry_after_seconds"] <= WINDOW_SECONDS
    # ... while the account itself is not locked for everyone else
    assert send(victim, "the-right-password", "198.20.251.1")["statusCode"] == 200


def test_attempts_at_many_emails_sent_at_once_get_no_more_checks_than_the_networks_limit(api_url: str) -> None:
    from phi.db.connection import transaction
    from phi.handlers.api import handler
    from phi.services.auth import MAX_ADDRESS_FAILURES

    # Given an address with all but 5 of its network's failures used (recorded as the service records them)
    address = f"198.21.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    with transaction() as conn:
        for number in range(MAX_ADDRESS_FAILURES - 5):
            conn.execute(
                """INSERT INTO login_attempts (email, client_ip, client_network, succeeded)
                   VALUES (%s, %s, %s, false)""",
                (unique_email(f"earlier{number}"), address, address),
            )

    def attempt(number: int) -> int:
        loop = asyncio.new_event_loop()  # Mangum runs the app on the thread's event loop, as on Lambda
        asyncio.set_event_loop(loop)
        try:
            body = {"email": unique_email(f"burst{number}"), "password": "Summer2026!"}
            return int(handler(_api_gateway_event(body, address, address), None)["statusCode"])  # type: ignore[arg-type]
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    # When 16 attempts at 16 different emails arrive at the same time
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(attempt, range(16)))

    # Then only 5 had a password checked
    assert sorted(statuses) == [401] * 5 + [429] * 11, statuses


def test_failures_are_counted_per_address_for_ipv4_and_per_64_for_ipv6_and_not_for_loopback() -> None:
    from phi.services.auth import client_network

    assert client_network("198.20.1.1") == "198.20.1.1"
    assert client_network("2001:db8:1:2:3:4:5:6") == client_network("2001:db8:1:2::ffff") == "2001:db8:1:2::/64"
    assert client_network("2001:db8:1:3::1") != client_network("2001:db8:1:2::1")
    assert client_network("::ffff:198.20.1.1") == "198.20.1.1"  # an IPv4 client seen through IPv6
    # The embedded stack's clients all share the machine's loopback address; API Gateway never reports one.
    assert client_network("127.0.0.1") is None and client_network("::1") is None
    assert client_network("unknown") == "unknown"


def test_wrong_passwords_sent_at_once_get_no_more_checks_than_the_limit(api_url: str) -> None:
    # Given an account, and a client that sends 24 wrong passwords for it at the same time
    email = unique_email("burst")
    ApiSession(api_url).sign_up(email, "the-right-password")

    def attempt(number: int) -> int:
        body = {"email": email, "password": f"wrong-{number}"}
        return ApiSession(api_url).request("POST", "/auth/login", json=body).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(attempt, range(24)))

    # Then only the limit's 5 had their password checked; the rest were refused without a check
    assert sorted(statuses) == [401] * 5 + [429] * 19, statuses


def test_a_failed_log_in_removes_expired_failures_of_other_emails_and_addresses(api_url: str) -> None:
    from phi.db.connection import transaction

    # Given a failure from 16 minutes ago for an email and address that are never tried again
    abandoned = unique_email("abandoned")
    with transaction() as conn:
        conn.execute(
            """INSERT INTO login_attempts (email, client_ip, succeeded, attempted_at)
               VALUES (%s, '198.51.100.250', false, now() - interval '16 minutes')""",
            (abandoned,),
        )

    # When another email fails to log in
    failed = ApiSession(api_url).request("POST", "/auth/login", json={"email": unique_email("other"), "password": "x"})

    # Then the expired failure is gone: the table does not grow with every email ever tried
    assert failed.status_code == 401
    with transaction() as conn:
        left = conn.execute("SELECT count(*) AS n FROM login_attempts WHERE email = %s", (abandoned,)).fetchone()
    assert left is not None and left["n"] == 0

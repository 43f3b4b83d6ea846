"""Changing one's password: proved by the current one (wrong guesses count towards the log-in limit), every
earlier session ended, a new token in the answer; and the console's account page doing the same."""

from __future__ import annotations

from tests.integration.api.tenant_fixtures import unique_email
from tests.support.api import ApiSession
from tests.support.console import ConsoleSession


def _log_in(api_url: str, email: str, password: str) -> int:
    return ApiSession(api_url).request("POST", "/auth/login", json={"email": email, "password": password}).status_code


def test_a_password_change_ends_every_earlier_session_and_answers_with_a_working_token(api_url: str) -> None:
    # Given an account used from two devices
    email = unique_email("pw")
    laptop = ApiSession(api_url)
    laptop.sign_up(email, "the-first-password")
    phone = ApiSession(api_url)
    phone.token = laptop.ok("POST", "/auth/login", json={"email": email, "password": "the-first-password"})[
        "access_token"
    ]

    # When the laptop changes the password
    changed = laptop.ok(
        "POST", "/auth/password", json={"current_password": "the-first-password", "new_password": "the-second-password"}
    )

    # Then the new token works, both earlier ones do not, and only the new password logs in
    laptop_before = laptop.token
    laptop.token = changed["access_token"]
    assert laptop.ok("GET", "/me")["user"]["email"] == email
    assert changed["user"]["email"] == email and "password" not in str(changed["user"])
    assert phone.request("GET", "/me").status_code == 401
    laptop.token = laptop_before
    assert laptop.request("GET", "/me").status_code == 401
    assert _log_in(api_url, email, "the-first-password") == 401
    assert _log_in(api_url, email, "the-second-password") == 200


def test_a_wrong_current_password_changes_nothing_and_counts_towards_the_log_in_limit(api_url: str) -> None:
    email = unique_email("pw-wrong")
    session = ApiSession(api_url)
    session.sign_up(email, "the-right-password")

    statuses = []
    for attempt in range(7):
        response = session.request(
            "POST", "/auth/password", json={"current_password": f"guess-{attempt}", "new_password": "a-new-password-1"}
        )
        statuses.append((response.status_code, response.json()["error"]["code"]))

    assert statuses[:5] == [(403, "wrong_password")] * 5, statuses
    assert set(statuses[5:]) == {(429, "rate_limited")}, statuses
    # The session itself still works (a wrong guess is not a log-out), the password is unchanged, and the
    # guesses made through the session lock the log-in from this address too.
    assert session.request("GET", "/me").status_code == 200
    assert _log_in(api_url, email, "the-right-password") == 429
    assert _log_in(api_url, email, "a-new-password-1") == 429


def test_a_new_password_must_be_long_enough_and_differ_from_the_current_one(api_url: str) -> None:
    email = unique_email("pw-rules")
    session = ApiSession(api_url)
    session.sign_up(email, "the-right-password")

    same = session.request(
        "POST", "/auth/password", json={"current_password": "the-right-password", "new_password": "the-right-password"}
    )
    short = session.request(
        "POST", "/auth/password", json={"current_password": "the-right-password", "new_password": "short"}
    )
    anonymous = ApiSession(api_url).request(
        "POST", "/auth/password", json={"current_password": "the-right-password", "new_password": "a-new-password-1"}
    )

    assert same.status_code == 400 and same.json()["error"]["details"]["field"] == "new_password", same.text
    assert short.status_code == 422 and "new_password" in short.text, short.text
    assert anonymous.status_code == 401
    assert _log_in(api_url, email, "the-right-password") == 200


def test_the_console_account_page_changes_the_password_and_keeps_this_browser_signed_in(api_url: str) -> None:
    # Given a console user also signed in in a second browser
    console = ConsoleSession(api_url)
    email = console.sign_up(password="console-password-1")
    other_browser = ConsoleSession(api_url)
    assert other_browser.log_in(email, "console-password-1").status_code == 303
    page = console.client.get("/console/account")
    assert page.status_code == 200 and email in page.text and 'autocomplete="current-password"' in page.text

    # Errors are shown at their field
    mismatch = console.post(
        "/console/account/password",
        {"current_password": "console-password-1", "new_password": "console-password-2", "confirm_password": "other"},
    )
    wrong = console.post(
        "/console/account/password",
        {"current_password": "nope", "new_password": "console-password-2", "confirm_password": "console-password-2"},
    )
    assert mismatch.status_code == 400 and 'id="confirm_password-error"' in mismatch.text
    assert wrong.status_code == 403 and 'id="current_password-error"' in wrong.text

    # When the password is changed
    done = console.post(
        "/console/account/password",
        {
            "current_password": "console-password-1",
            "new_password": "console-password-2",
            "confirm_password": "console-password-2",
        },
    )

    # Then this browser stays in with a new session, the other one is logged out, and the new password works
    assert done.status_code == 303, done.text
    assert console.client.get(done.headers["location"]).text.count("Password changed") == 1
    assert console.client.get("/console/orgs").status_code == 200
    logged_out = other_browser.client.get("/console/orgs")
    assert logged_out.status_code == 303
    assert logged_out.headers["location"].endswith("/console/login?next=%2Forgs")
    assert _log_in(api_url, email, "console-password-2") == 200

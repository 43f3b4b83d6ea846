"""The console's routes over HTTP against the embedded stack: session cookies, CSRF, roles and tenancy.
(The journeys in a real browser are in tests/e2e/test_console.py.)"""

from __future__ import annotations

import uuid

import httpx

from tests.support.api import ApiSession
from tests.support.console import ConsoleSession
from tests.support.invitations import invite_and_accept_in_console


def _api_owner_with_agent(api_url: str) -> tuple[ApiSession, dict[str, object]]:
    owner = ApiSession(api_url)
    owner.sign_up(f"owner-{uuid.uuid4().hex[:12]}@example.com")
    owner.create_org(f"Org {uuid.uuid4().hex[:6]}")
    return owner, owner.create_agent()


def test_pages_without_a_session_lead_to_the_login_page(api_url: str) -> None:
    client = httpx.Client(base_url=api_url)
    response = client.get("/console/orgs")
    assert response.status_code == 303
    assert response.headers["location"].endswith("/console/login?next=%2Forgs")
    htmx = client.get("/console/orgs", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].endswith("/console/login")


def test_a_page_opened_without_a_session_is_where_log_in_leads_back(api_url: str) -> None:
    # Given a task's page, a link someone was sent, and its polled fragment left open past the session's end
    owner = ApiSession(api_url)
    email = f"back-{uuid.uuid4().hex[:10]}@example.com"
    owner.sign_up(email, "console-password-1")
    owner.create_org("Links Ltd")
    agent = owner.create_agent()
    task = owner.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT"})
    task_path = f"/tasks/{task['task_id']}"
    console = ConsoleSession(api_url)

    # When the browser opens them without a session
    opened = console.client.get(f"/console{task_path}", params={"tab": "timeline"})
    polled = console.client.get(
        f"/console{task_path}/live",
        headers={"HX-Request": "true", "HX-Current-URL": f"{api_url}/console{task_path}"},
    )

    # Then the log-in page carries the page as `next`, and logging in leads back to it
    assert opened.status_code == 303
    login_page = console.client.get(opened.headers["location"])
    assert f'name="next" value="{task_path}?tab=timeline"' in login_page.text
    assert polled.headers["HX-Redirect"].endswith(f"/console/login?next=%2Ftasks%2F{task['task_id']}")
    logged_in = console.post("/console/login", {"email": email, "password": "console-password-1", "next": task_path})
    assert logged_in.headers["location"] == f"/console{task_path}"
    assert console.client.get(logged_in.headers["location"]).status_code == 200
    # A form posted without a session is not replayed after log-in
    posted = ConsoleSession(api_url).post(f"/console/agents/{agent['id']}/run", {"task_type": "x"})
    assert posted.headers["location"].endswith("/console/login")


def test_signup_sets_an_httponly_samesite_session_and_a_post_without_csrf_is_refused(api_url: str) -> None:
    console = ConsoleSession(api_url)
    email = f"c-{uuid.uuid4().hex[:12]}@example.com"

    refused = console.post("/console/signup", {"email": email, "password": "console-password-1"}, with_csrf=False)
    assert refused.status_code == 403
    assert "did not come from the console" in refused.text

    forged = console.post(
        "/console/signup", {"email": email, "password": "console-password-1", "csrf_token": "x" * 43}, with_csrf=False
    )
    assert forged.status_code == 403

    accepted = console.post("/console/signup", {"email": email, "password": "console-password-1"})
    assert accepted.status_code == 303
    session_cookie = next(h for h in accepted.headers.get_list("set-cookie") if h.startswith("phi_console_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie and "Path=/console" in session_cookie
    assert console.client.get("/console/orgs").status_code == 200


def test_every_state_changing_route_refuses_a_request_without_the_csrf_token(api_url: str) -> None:
    console = ConsoleSession(api_url)
    console.sign_up()
    created = console.post("/console/orgs", {"name": "Northwind"})
    org_path = created.headers["location"].split("/console", 1)[1]

    # Logged in, but neither the form field nor the header carries the token
    for path in ("/console/orgs", f"/console{org_path}/agents", f"/console{org_path}/invitations", "/console/logout"):
        response = console.post(path, {"name": "Other"}, with_csrf=False)
        assert response.status_code == 403, path
    # The htmx header is accepted in place of the form field
    token = console.csrf()
    by_header = console.client.post("/console/orgs", data={"name": "Via htmx"}, headers={"X-CSRF-Token": token})
    assert by_header.status_code == 303


def test_short_password_is_shown_at_its_field(api_url: str) -> None:
    console = ConsoleSession(api_url)
    response = console.post("/console/signup", {"email": f"s-{uuid.uuid4().hex[:8]}@example.com", "password": "short"})
    assert response.status_code == 400
    assert 'id="password-error"' in response.text and "At least 10 characters." in response.text
    assert "String should" not in response.text  # said as a form says it, not as the validator does
    assert 'aria-invalid="true" aria-describedby="password-error"' in response.text


def test_wrong_password_is_a_clear_error_and_the_right_one_logs_in(api_url: str) -> None:
    console = ConsoleSession(api_url)
    email = console.sign_up()
    fresh = ConsoleSession(api_url)
    wrong = fresh.log_in(email, "not-the-password")
    assert wrong.status_code == 401 and "Wrong email or password." in wrong.text
    right = fresh.log_in(email, "console-password-1")
    assert right.status_code == 303


def test_another_organisations_agent_and_task_urls_show_not_found(api_url: str) -> None:
    owner, agent = _api_owner_with_agent(api_url)
    outsider = ConsoleSession(api_url)
    outsider.sign_up()

    for path in (
        f"/console/agents/{agent['id']}",
        f"/console/agents/{agent['id']}/documents",
        f"/console/agents/{agent['id']}/config",
        f"/console/agents/{agent['id']}/workflows",
        f"/console/orgs/{owner.org_id}",
        f"/console/orgs/{owner.org_id}/fleet",
        f"/console/orgs/{owner.org_id}/members",
        f"/console/tasks/{uuid.uuid4()}",
        "/console/agents/not-a-uuid",
    ):
        response = outsider.client.get(path)
        assert response.status_code == 404, path
        assert "<h1>Not found</h1>" in response.text, path
        assert agent["name"] not in response.text  # nothing of the other organisation leaks

    # Changes are refused the same way
    run = outsider.post(f"/console/agents/{agent['id']}/run", {"task_type": "DAILY_WAREHOUSE_REPORT"})
    assert run.status_code == 404


def test_a_query_or_form_field_out_of_bounds_is_a_bad_request_naming_it_not_a_missing_page(api_url: str) -> None:
    owner, agent = _api_owner_with_agent(api_url)
    console = ConsoleSession(api_url)
    email = console.sign_up()
    invite_and_accept_in_console(owner, str(owner.org_id), console, email, "ADMIN")

    too_long = console.client.get(f"/console/orgs/{owner.org_id}/agents", params={"q": "x" * 201})
    assert too_long.status_code == 400
    assert (
        "<h1>That did not work</h1>" in too_long.text
        and "q: String should have at most 200 characters" in too_long.text
    )
    not_a_number = console.post(f"/console/agents/{agent['id']}/workflows/DAILY_WAREHOUSE_REPORT/rollback", {})
    assert not_a_number.status_code == 400 and "to_version: Field required" in not_a_number.text
    # A malformed id in the path is still a page that does not exist
    assert console.client.get(f"/console/orgs/{owner.org_id[:-1]}/agents").status_code == 404


def test_a_member_sees_no_admin_actions_and_cannot_use_them(api_url: str) -> None:
    owner, agent = _api_owner_with_agent(api_url)
    member = ConsoleSession(api_url)
    invite_and_accept_in_console(owner, str(owner.org_id), member, member.sign_up(), "MEMBER")

    page = member.client.get(f"/console/agents/{agent['id']}")
    assert page.status_code == 200 and agent["name"] in page.text
    for admin_action in ("Generate profile", "Issue an agent key", 'id="upload-form"'):
        assert admin_action not in page.text
    assert "Download config" in page.text and "Run test task" in page.text
    assert "New agent" not in member.client.get(f"/console/orgs/{owner.org_id}/agents").text
    assert "/console/admin/tasks" not in page.text

    assert member.post(f"/console/agents/{agent['id']}/profile").status_code == 403
    assert member.post(f"/console/agents/{agent['id']}/keys").status_code == 403
    assert member.client.get(f"/console/orgs/{owner.org_id}/agents/new").status_code == 403
    assert member.client.get("/console/admin/tasks").status_code == 403
    assert owner.ok("GET", f"/agents/{agent['id']}/keys") == []


def test_the_config_download_is_the_apis(api_url: str) -> None:
    owner, agent = _api_owner_with_agent(api_url)
    member = ConsoleSession(api_url)
    invite_and_accept_in_console(owner, str(owner.org_id), member, member.sign_up(), "MEMBER")

    download = member.client.get(f"/console/agents/{agent['id']}/config")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="phi-agent-config.yaml"'
    assert download.text == owner.ok("GET", f"/agents/{agent['id']}/config")


def test_console_routes_are_not_in_the_openapi_document(api_url: str) -> None:
    paths = httpx.get(f"{api_url}/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/console")]


def test_a_member_cancels_a_running_task_from_its_page(api_url: str) -> None:
    # Given a task waiting on its local agent, which is not running, and a member of the organisation
    owner, agent = _api_owner_with_agent(api_url)
    run = owner.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT"})
    member = ConsoleSession(api_url)
    invite_and_accept_in_console(owner, str(owner.org_id), member, member.sign_up(), "MEMBER")
    page_path = f"/console/tasks/{run['task_id']}"

    # The running task's page offers the cancel, behind a confirmation, to the member
    page = member.client.get(page_path).text
    assert "Cancel this task…" in page and "Yes, cancel the task" in page and "every 2s" in page
    assert f'action="/console/tasks/{run["task_id"]}/cancel"' in page

    # Without the CSRF token the cancel is refused and the task runs on; another organisation's user gets not found
    assert member.post(f"{page_path}/cancel", {"reason": "forged"}, with_csrf=False).status_code == 403
    outsider = ConsoleSession(api_url)
    outsider.sign_up()
    assert outsider.post(f"{page_path}/cancel", {"reason": "not mine"}).status_code == 404
    assert owner.ok("GET", f"/tasks/{run['task_id']}")["status"] in {"PENDING", "RUNNING"}

    # Confirmed, the task is cancelled with the reason, and its page shows CANCELLED with no cancel left
    confirmed = member.post(f"{page_path}/cancel", {"reason": "Started by mistake"})
    assert confirmed.status_code == 303 and confirmed.headers["location"].endswith(page_path)
    task = owner.ok("GET", f"/tasks/{run['task_id']}")
    assert task["status"] == "CANCELLED" and "Started by mistake" in task["error"]["cause"]
    after = member.client.get(page_path).text
    assert 'class="badge status-cancelled">CANCELLED<' in after
    assert "Cancel this task…" not in after and "every 2s" not in after  # ended: no more refreshing
    assert "TASK_CANCELLED" in after and "Started by mistake" in after
    # a decision someone took, said in words rather than as a failure's error name
    assert '<p class="alert" role="status">Cancelled by ' in after and "<strong>Task.Cancelled</strong>" not in after
    assert "Cancelled: Cancelled" not in after  # said once


def test_an_issued_key_is_counted_in_the_agent_pages_list_at_once(api_url: str) -> None:
    owner, agent = _api_owner_with_agent(api_url)
    console = ConsoleSession(api_url)
    email = console.sign_up()
    invite_and_accept_in_console(owner, str(owner.org_id), console, email, "ADMIN")
    token = console.csrf(f"/console/agents/{agent['id']}")
    htmx = {"HX-Request": "true", "X-CSRF-Token": token}

    first = console.client.post(f"/console/agents/{agent['id']}/keys", headers=htmx)
    second = console.client.post(f"/console/agents/{agent['id']}/keys", headers=htmx)

    # The answer carries the new key and, out of band, the list of keys that now counts it
    assert first.status_code == 200 and 'id="agent-key"' in first.text
    assert '<div id="agent-keys" hx-swap-oob="true">' in second.text
    assert "<summary>2 agent keys, 2 in use</summary>" in second.text


def test_every_page_names_the_console_icon_which_is_served_under_the_content_security_policy(api_url: str) -> None:
    client = httpx.Client(base_url=api_url)
    login = client.get("/console/login")
    icon = client.get("/console/static/favicon.svg")

    assert '<link rel="icon" href="/console/static/favicon.svg"' in login.text  # browsers ask /favicon.ico otherwise
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert "img-src 'self'" in login.headers["content-security-policy"]

"""Console pages over HTTP against the embedded stack: forms that change things, with their errors shown where
they belong (agent creation, members and roles, workflow edits, diffs and roll-back), and the admin page."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from tests.support.api import ApiSession
from tests.support.console import ConsoleSession
from tests.support.invitations import invite_and_accept, invite_and_accept_in_console
from tests.support.waiting import wait_until


def _org_with_a_console_user(
    api_url: str, role: str, prefix: str, org_name: str
) -> tuple[ApiSession, dict[str, Any], ConsoleSession]:
    """An owner (API session) of a new organisation with one agent, and a console user who joined it with `role`."""
    owner = ApiSession(api_url)
    owner.sign_up(f"{prefix}-{uuid.uuid4().hex[:10]}@example.com")
    owner.create_org(org_name)
    agent = owner.create_agent()
    console = ConsoleSession(api_url)
    email = console.sign_up()
    invite_and_accept_in_console(owner, str(owner.org_id), console, email, role)
    return owner, agent, console


def _console_owner(api_url: str) -> tuple[ConsoleSession, str]:
    console = ConsoleSession(api_url)
    console.sign_up()
    created = console.post("/console/orgs", {"name": f"Org {uuid.uuid4().hex[:6]}"})
    assert created.status_code == 303
    return console, created.headers["location"].rsplit("/", 1)[1]


def test_an_organisation_name_too_long_is_shown_at_its_field_and_kept(api_url: str) -> None:
    console = ConsoleSession(api_url)
    console.sign_up()
    name = "Northwind " + "W" * 191
    refused = console.post("/console/orgs", {"name": name})
    assert refused.status_code == 400
    assert "At most 200 characters." in refused.text
    assert f'value="{name}"' in refused.text  # what was typed is kept, to shorten it


def test_the_create_form_makes_an_agent_from_a_role_and_shows_errors_at_their_field(api_url: str) -> None:
    console, org_id = _console_owner(api_url)
    form = console.client.get(f"/console/orgs/{org_id}/agents/new")
    assert form.status_code == 200 and 'name="role_key"' in form.text
    choices = console.client.get(
        f"/console/orgs/{org_id}/agents/new/choices",
        params={"industry_key": "logistics"},
        headers={"HX-Request": "true"},
    )
    assert 'value="warehouse_analyst"' in choices.text and 'value="db" checked' in choices.text
    # the form starts on a role that needs no settings of the user's own (not one whose e-mail needs recipients)
    assert '<option value="warehouse_analyst" selected>' in choices.text and 'value="email" checked' not in choices.text

    bad = console.post(
        f"/console/orgs/{org_id}/agents",
        {"industry_key": "logistics", "role_key": "warehouse_analyst", "warehouse_timezone": "Mars/Olympus"},
    )
    assert bad.status_code == 400
    assert 'id="warehouse_timezone-error"' in bad.text

    good = console.post(
        f"/console/orgs/{org_id}/agents",
        {"name": "Leeds analyst", "industry_key": "logistics", "role_key": "warehouse_analyst", "tool_keys": ["db"]},
    )
    assert good.status_code == 303
    page = console.client.get(good.headers["location"])
    assert "<h1>Leeds analyst</h1>" in page.text and "<code>db</code>" in page.text
    assert "/ Warehouse analyst</dd>" in page.text and "warehouse_analyst</dd>" not in page.text  # the role's name
    # no local agent has reported in: running a workflow that needs the database is shown to wait, then fail
    words = " ".join(page.text.split())
    assert "No local agent is online for this agent: a workflow that needs db waits for one" in words
    assert "<code>file</code>" not in page.text  # only the tools ticked
    # the lists name the role and the tools in words, not by their keys
    listed = " ".join(console.client.get(f"/console/orgs/{org_id}/agents").text.split())
    assert "<td>Logistics &amp; Warehousing / Warehouse analyst</td>" in listed and "warehouse_analyst" not in listed
    assert "<td>Warehouse database</td>" in listed and "1 agent<" in listed
    overview = " ".join(console.client.get(f"/console/orgs/{org_id}").text.split())
    assert '<span class="muted">Warehouse analyst</span>' in overview


def test_a_role_with_email_asks_for_its_recipients_at_their_field_and_keeps_them(api_url: str) -> None:
    console = ConsoleSession(api_url)
    email = console.sign_up()
    org_id = console.post("/console/orgs", {"name": f"Org {uuid.uuid4().hex[:6]}"}).headers["location"].rsplit("/")[-1]
    choices = console.client.get(
        f"/console/orgs/{org_id}/agents/new/choices",
        params={"industry_key": "logistics", "role_key": "ops_manager"},
        headers={"HX-Request": "true"},
    )
    assert 'value="email" checked' in choices.text and 'id="email_recipients"' in choices.text
    form = {"industry_key": "logistics", "role_key": "ops_manager", "tool_keys": ["db", "email"]}

    missing = console.post(f"/console/orgs/{org_id}/agents", form)
    assert missing.status_code == 400
    assert 'id="email_recipients-error"' in missing.text and "at least one recipient" in missing.text
    invalid = console.post(f"/console/orgs/{org_id}/agents", {**form, "email_recipients": "ops@, leads"})
    assert invalid.status_code == 400 and 'id="email_recipients-error"' in invalid.text
    assert 'value="ops@, leads"' in invalid.text  # what was typed is kept

    created = console.post(
        f"/console/orgs/{org_id}/agents", {**form, "email_recipients": "ops@example.com, leads@example.com"}
    )
    assert created.status_code == 303
    agent_id = created.headers["location"].rsplit("/", 1)[1]
    api = ApiSession(api_url)
    api.token = api.ok("POST", "/auth/login", json={"email": email, "password": "console-password-1"})["access_token"]
    agent = api.ok("GET", f"/agents/{agent_id}")
    tools = {tool["key"]: tool["config"] for tool in agent["tools"]}
    assert tools["email"]["recipients"] == ["ops@example.com", "leads@example.com"]
    # "Run a test task" offers the agent's own workflow first (the built-in report after it).
    page = console.client.get(f"/console/agents/{agent_id}").text
    run_form = page[page.index('id="task_type"') :]
    options = re.findall(r"<option value=\"([A-Z_]+)\">", run_form[: run_form.index("</select>")])
    assert options[:2] == ["SHIFT_HANDOVER", "DAILY_WAREHOUSE_REPORT"]


def test_members_roles_are_changed_with_errors_next_to_the_form(api_url: str) -> None:
    owner = ApiSession(api_url)
    owner_email = f"own-{uuid.uuid4().hex[:10]}@example.com"
    owner.sign_up(owner_email, "console-password-1")
    org_id = owner.create_org("Roles Ltd")
    console = ConsoleSession(api_url)
    assert console.log_in(owner_email, "console-password-1").status_code == 303
    colleague = ApiSession(api_url)
    colleague.sign_up(f"bo-{uuid.uuid4().hex[:10]}@example.com")
    invite_and_accept(owner, org_id, colleague, "MEMBER")

    user_id = colleague.ok("GET", "/me")["user"]["id"]
    promoted = console.post(f"/console/orgs/{org_id}/members/{user_id}/role", {"role": "ADMIN"})
    assert promoted.status_code == 303
    assert colleague.ok("GET", f"/orgs/{org_id}")["role"] == "ADMIN"

    me = next(m for m in colleague.ok("GET", f"/orgs/{org_id}/members") if m["role"] == "OWNER")
    last_owner = console.post(f"/console/orgs/{org_id}/members/{me['user_id']}/remove")
    assert last_owner.status_code == 409 and "owner" in last_owner.text.lower()


def test_a_refused_role_change_answers_with_the_api_s_status(api_url: str) -> None:
    # Given an organisation with its one owner and an admin, the admin signed in to the console too
    owner = ApiSession(api_url)
    owner.sign_up(f"own-{uuid.uuid4().hex[:10]}@example.com", "console-password-1")
    org_id = owner.create_org("Refusals Ltd")
    admin_email = f"adm-{uuid.uuid4().hex[:10]}@example.com"
    admin = ApiSession(api_url)
    admin.sign_up(admin_email, "console-password-1")
    invite_and_accept(owner, org_id, admin, "ADMIN")
    console = ConsoleSession(api_url)
    assert console.log_in(admin_email, "console-password-1").status_code == 303
    admin_id, owner_id = (s.ok("GET", "/me")["user"]["id"] for s in (admin, owner))
    stranger = ApiSession(api_url)
    stranger.sign_up(f"str-{uuid.uuid4().hex[:10]}@example.com")
    stranger_id = stranger.ok("GET", "/me")["user"]["id"]

    # When the admin tries what only an owner may, or names someone who is not a member, in both
    cases = [(admin_id, "OWNER"), (owner_id, "MEMBER"), (stranger_id, "ADMIN"), (str(uuid.uuid4()), "ADMIN")]
    answers = [
        (
            console.post(f"/console/orgs/{org_id}/members/{member}/role", {"role": role}).status_code,
            admin.request("PATCH", f"/orgs/{org_id}/members/{member}", json={"role": role}).status_code,
        )
        for member, role in cases
    ]

    # Then the console answers as the API does, and nothing changed
    assert answers == [(403, 403), (403, 403), (404, 404), (404, 404)]
    assert {m["user_id"]: m["role"] for m in owner.ok("GET", f"/orgs/{org_id}/members")} == {
        owner_id: "OWNER",
        admin_id: "ADMIN",
    }
    assert console.post(f"/console/orgs/{org_id}/members/{admin_id}/role", {"role": "KING"}).status_code == 400


def test_a_workflow_is_edited_with_errors_at_the_field_compared_and_rolled_back(api_url: str) -> None:
    owner, agent, console = _org_with_a_console_user(api_url, "ADMIN", "wf", "Workflows Ltd")
    key = owner.ok("GET", f"/agents/{agent['id']}/workflows")[0]["key"]
    base = f"/console/agents/{agent['id']}/workflows/{key}"
    definition = owner.ok("GET", f"/agents/{agent['id']}/workflows/{key}")["definition"]

    listed = console.client.get(f"/console/agents/{agent['id']}/workflows")
    assert listed.status_code == 200 and key in listed.text
    editor = console.client.get(f"{base}/edit")
    assert editor.status_code == 200 and 'name="definition"' in editor.text

    broken = json.loads(json.dumps(definition))
    broken["edges"] = [*broken.get("edges", []), [broken["nodes"][0]["id"], "nowhere"]]
    refused = console.post(f"{base}/edit", {"definition": json.dumps(broken), "reason": "try", "based_on": "1"})
    assert refused.status_code == 400
    assert 'aria-invalid="true" aria-describedby="definition-error"' in refused.text
    assert "nowhere" in refused.text
    not_json = console.post(f"{base}/edit", {"definition": "{not json", "based_on": "1"})
    assert not_json.status_code == 400 and "Not valid JSON" in not_json.text
    too_deep = console.post(f"{base}/edit", {"definition": "[" * 5_000 + "]" * 5_000, "based_on": "1"})
    assert too_deep.status_code == 400 and "Not valid JSON: nested too deeply" in too_deep.text

    renamed = {**definition, "name": "Daily report (renamed)"}
    saved = console.post(f"{base}/edit", {"definition": json.dumps(renamed), "reason": "new name", "based_on": "1"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("?saved=2")
    assert "Saved: version 2 is current." in console.client.get(saved.headers["location"]).text
    # The notice shows a version number, never words a link carries
    spoofed = console.client.get(base, params={"saved": "2. Your account is locked: call +1 555 0100 and"})
    assert spoofed.status_code == 400 and "Your account is locked" not in spoofed.text

    diff = console.client.get(f"{base}/diff", params={"from": 1, "to": 2})
    assert diff.status_code == 200 and "<code>/name</code>" in diff.text and "Daily report (renamed)" in diff.text

    rolled = console.post(f"{base}/rollback", {"to_version": "1"})
    assert rolled.status_code == 303
    page = console.client.get(base)
    assert re.search(r"rollback\s*\(from v1\)", page.text)
    assert owner.ok("GET", f"/agents/{agent['id']}/workflows/{key}")["definition"]["name"] == definition["name"]


def test_platform_admins_see_every_organisations_tasks_with_their_events(api_url: str) -> None:
    from phi.db.connection import transaction

    owner = ApiSession(api_url)
    owner.sign_up(f"t-{uuid.uuid4().hex[:10]}@example.com")
    owner.create_org("Tasks Inc")
    agent = owner.create_agent()
    task = owner.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT"})
    admin = ConsoleSession(api_url)
    admin_email = admin.sign_up()
    assert admin.client.get("/console/admin/tasks").status_code == 403
    with transaction() as conn:
        conn.execute("UPDATE users SET is_platform_admin = true WHERE email = %s", (admin_email,))

    page = admin.client.get("/console/admin/tasks", params={"org_id": owner.org_id})
    assert page.status_code == 200
    assert f'id="org_id" name="org_id" value="{owner.org_id}"' in page.text  # the filter stays filled in
    later = admin.client.get("/console/admin/tasks", params={"org_id": owner.org_id, "offset": 50}).text
    newer = re.search(r'<a href="\?([^"]+)">Newer</a>', later)
    assert newer and f"org_id={owner.org_id}" in newer.group(1)  # and paging keeps it
    assert f'id="task-{task["task_id"]}"' in page.text
    assert "Tasks Inc" in page.text and "TASK_CREATED" in page.text
    assert 'href="/console/admin/tasks"' in page.text  # the nav shows admins their page
    assert admin.client.get("/console/admin/tasks", params={"org_id": "nope"}).status_code == 400


def test_a_running_task_is_polled_on_its_page_the_agent_page_and_the_overview(api_url: str) -> None:
    console, org_id = _console_owner(api_url)
    created = console.post(
        f"/console/orgs/{org_id}/agents", {"industry_key": "logistics", "role_key": "warehouse_analyst"}
    )
    agent_path = created.headers["location"]
    agent_id = agent_path.rsplit("/", 1)[1]

    # No local agent runs: the task waits for its first tool call
    started = console.post(
        f"/console/agents/{agent_id}/run", {"task_type": "DAILY_WAREHOUSE_REPORT", "day": "2026-11-20"}
    )
    assert started.status_code == 303
    task_path = started.headers["location"]
    task_id = task_path.rsplit("/", 1)[1]

    task_page = console.client.get(task_path).text
    assert f'hx-get="/console/tasks/{task_id}/live"' in task_page and "TASK_CREATED" in task_page
    live = console.client.get(f"{task_path}/live", headers={"HX-Request": "true"})
    assert live.status_code == 200 and live.text.lstrip().startswith('<div id="task-live"')
    assert f'hx-get="/console/agents/{agent_id}/tasks"' in console.client.get(agent_path).text
    assert f'hx-get="/console/orgs/{org_id}/tasks/rows"' in console.client.get(f"/console/orgs/{org_id}").text
    rows = console.client.get(f"/console/orgs/{org_id}/tasks/rows", headers={"HX-Request": "true"})
    assert f'href="/console/tasks/{task_id}"' in rows.text
    # each run named in words, with the day it reports on, so that runs of one workflow can be told apart
    assert (
        f'href="/console/tasks/{task_id}">Daily warehouse report</a> <span class="muted">· 2026-11-20</span>'
        in rows.text
    )

    bad_day = console.post(f"/console/agents/{agent_id}/run", {"task_type": "DAILY_WAREHOUSE_REPORT", "day": "20/11"})
    assert bad_day.status_code == 400 and "is not a date" in bad_day.text

    # Once the workflow asks for its first tool, the task's page says what it waits for and what happens next
    def waiting() -> str | None:
        text = " ".join(console.client.get(f"{task_path}/live", headers={"HX-Request": "true"}).text.split())
        return text if 'id="awaiting-tool"' in text else None

    said = wait_until(waiting, timeout=120, interval=0.3)
    assert "Waiting for a local agent to run <code>db.query</code>" in said
    assert "none of this agent's is online" in said and "within 5 minutes of the request, this step fails" in said


def test_the_test_task_day_goes_to_the_workflows_own_date_input(api_url: str) -> None:
    owner = ApiSession(api_url)
    owner.sign_up(f"asof-{uuid.uuid4().hex[:10]}@example.com")
    owner.create_org("As Of Ltd")
    agent = owner.create_agent()
    definition = {
        "key": "LATE_AS_OF",
        "name": "Late shipments as of a day",
        "inputs": {"as_of": {"type": "date", "default": "yesterday"}},
        "nodes": [
            {
                "id": "shipments",
                "kind": "local_tool",
                "settings": {
                    "tool": "db.query",
                    "sql": "SELECT carrier FROM shipments WHERE promised_at < :end",
                    "params": {"end": "{{ day_end(inputs.as_of) }}"},
                },
            },
            {"id": "report", "kind": "render", "settings": {"template": "sections", "title": "As of"}},
        ],
        "edges": [["shipments", "report"]],
    }
    owner.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": definition})
    console = ConsoleSession(api_url)
    email = console.sign_up()
    invite_and_accept_in_console(owner, str(owner.org_id), console, email, "MEMBER")

    # the workflow is offered by its name, and a built-in type by its key in words
    page = console.client.get(f"/console/agents/{agent['id']}").text
    assert '<option value="LATE_AS_OF">Late shipments as of a day</option>' in page
    assert '<option value="DAILY_WAREHOUSE_REPORT">Daily warehouse report</option>' in page
    started = console.post(f"/console/agents/{agent['id']}/run", {"task_type": "LATE_AS_OF", "day": "2026-11-20"})
    assert started.status_code == 303, started.text
    task_id = started.headers["location"].rsplit("/", 1)[1]
    assert owner.ok("GET", f"/tasks/{task_id}")["input"] == {"as_of": "2026-11-20"}
    # and its task's page is headed with the name of the version it ran, which links to that version
    task_page = console.client.get(f"/console/tasks/{task_id}").text
    assert "<h1>Late shipments as of a day</h1>" in task_page
    assert '/workflows/LATE_AS_OF?version=1">Late shipments as of a day, version 1</a>' in task_page
    assert "<title>Late shipments as of a day · task · Phi Agents</title>" in task_page


def test_a_workflow_that_needs_more_than_a_day_runs_with_its_inputs_given_in_the_form(api_url: str) -> None:
    owner = ApiSession(api_url)
    owner.sign_up(f"inputs-{uuid.uuid4().hex[:10]}@example.com")
    owner.create_org("Payables Ltd")
    agent = owner.create_agent()
    definition = {
        "key": "pay_supplier",
        "name": "Pay a supplier",
        "inputs": {"amount": {"type": "integer", "required": True}, "due": {"type": "date", "required": True}},
        "nodes": [{"id": "report", "kind": "render", "settings": {"template": "sections", "title": "Pay"}}],
        "edges": [],
    }
    owner.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": definition})
    console = ConsoleSession(api_url)
    email = console.sign_up()
    invite_and_accept_in_console(owner, str(owner.org_id), console, email, "MEMBER")
    run = f"/console/agents/{agent['id']}/run"

    # Without its amount the workflow cannot run; the form gives it, the day fills its date
    missing = console.post(run, {"task_type": "pay_supplier", "day": "2026-11-20"})
    assert missing.status_code == 400 and "amount" in missing.text
    started = console.post(run, {"task_type": "pay_supplier", "day": "2026-11-20", "input_json": '{"amount": 250}'})
    assert started.status_code == 303, started.text
    task_id = started.headers["location"].rsplit("/", 1)[1]
    assert owner.ok("GET", f"/tasks/{task_id}")["input"] == {"amount": 250, "due": "2026-11-20"}

    not_json = console.post(run, {"task_type": "pay_supplier", "input_json": "{amount: 250}"})
    assert not_json.status_code == 400 and "Input: not valid JSON" in not_json.text
    not_an_object = console.post(run, {"task_type": "pay_supplier", "input_json": "[250]"})
    assert not_an_object.status_code == 400 and "Input: give a JSON object" in not_an_object.text
    too_deep = console.post(run, {"task_type": "pay_supplier", "input_json": "[" * 9_000 + "]" * 9_000})
    assert too_deep.status_code == 400 and "Input: not valid JSON (nested too deeply)" in too_deep.text


def test_a_task_whose_result_is_a_table_shows_it_as_a_table_not_as_json(api_url: str) -> None:
    from phi.db import tasks as tasks_repo
    from phi.db.connection import transaction
    from phi.domain.models import TaskStatus

    # Given a finished one-off task whose output is a table of 12,345 rows, 2 of them kept inline
    console = ConsoleSession(api_url)
    email = console.sign_up()
    owner = ApiSession(api_url)
    owner.token = owner.ok("POST", "/auth/login", json={"email": email, "password": "console-password-1"})[
        "access_token"
    ]
    owner.create_org("Tables Ltd")
    agent = owner.create_agent()
    output = {"columns": ["carrier", "late"], "rows": [["<b>DHL</b>", 3], ["UPS", None]], "row_count": 12_345}
    with transaction() as conn:
        task = tasks_repo.create_task(
            conn,
            org_id=uuid.UUID(str(owner.org_id)),
            agent_id=uuid.UUID(agent["id"]),
            task_type="AD_HOC",
            task_input={},
            trigger="request",
            created_by=None,
        )
        tasks_repo.finish(conn, task.id, task.org_id, TaskStatus.SUCCEEDED, output=output)

    # When its page is opened
    page = console.client.get(f"/console/tasks/{task.id}").text

    # Then the rows are a table with its columns, the count says how many there are in all
    assert '<th scope="col">carrier</th><th scope="col">late</th>' in page
    assert "<tr><td>&lt;b&gt;DHL&lt;/b&gt;</td><td>3</td></tr><tr><td>UPS</td><td></td></tr>" in page
    assert "12,345 rows; the first 2 shown." in page
    assert "&#34;rows&#34;" not in page  # not the output's JSON


def test_a_tasks_input_reads_as_it_was_written(api_url: str) -> None:
    console = ConsoleSession(api_url)
    email = console.sign_up()
    owner = ApiSession(api_url)
    owner.token = owner.ok("POST", "/auth/login", json={"email": email, "password": "console-password-1"})[
        "access_token"
    ]
    owner.create_org("Inputs AG")
    agent = owner.create_agent()
    task = owner.ok(
        "POST",
        f"/agents/{agent['id']}/run-task",
        json={"type": "DAILY_WAREHOUSE_REPORT", "input": {"warehouse": "Zürich <Nord>"}},
    )

    page = console.client.get(f"/console/tasks/{task['task_id']}").text

    # Each value as written under its name in words (not Jinja's tojson "Z\u00fcrich \u003cNord\u003e"); escaped as
    # the page's text, never as markup; how it started and which workflow version, in words
    assert '<dl class="inputs"><dt>Warehouse</dt><dd>Zürich &lt;Nord&gt;</dd></dl>' in page
    assert f"<dt>Started by</dt><dd>{email}, in the console or through the API</dd>" in page
    assert re.search(r'<dt>Workflow</dt><dd><a href="[^"]+/workflows/DAILY_WAREHOUSE_REPORT\?version=1">', page)
    # and the timeline says what was requested in words, and how many rows a query returned with separators
    events = owner.ok("GET", f"/tasks/{task['task_id']}")["events"]
    assert events[0]["message"] == "Daily warehouse report requested"
    listed = console.client.get(f"/console/agents/{agent['id']}").text
    assert '<th scope="col">Started by</th>' in listed and "<td>The console or the API</td>" in listed


def test_document_search_lists_close_matches_apart_from_weaker_ones(api_url: str) -> None:
    # Given an agent with one SOP of two sections, and its owner in the console
    owner = ApiSession(api_url)
    email = f"search-{uuid.uuid4().hex[:10]}@example.com"
    owner.sign_up(email, "console-password-1")
    owner.create_org("Search Ltd")
    agent = owner.create_agent()
    sop = (
        "# SOP-OUT-04 Outbound\n\n## 2. Service level\n\nLate shipments must stay at or below 5% of the orders due "
        "on any day. When a carrier misses its pick-up the shift lead re-books the orders on the next collection.\n\n"
        "## 3. Charging\n\nForklift batteries are charged in the charging bay at the end of every shift.\n"
    )
    upload = owner.request(
        "POST",
        f"/agents/{agent['id']}/documents",
        files={"file": ("sop.md", sop.encode())},
        data={"source_type": "SOP"},
    )
    assert upload.status_code == 201, upload.text
    document_id = upload.json()["id"]

    def ready() -> bool:
        status = owner.ok("GET", f"/agents/{agent['id']}/documents/{document_id}")["status"]
        assert status != "FAILED"
        return status == "READY"

    wait_until(ready, timeout=300, interval=0.3)  # the first ingest loads the model on a busy machine
    console = ConsoleSession(api_url)
    assert console.log_in(email, "console-password-1").status_code == 303
    search = f"/console/agents/{agent['id']}/search"

    # When a question about the SOP is asked, its passage is a close match, listed without a "no match" line
    about = " ".join(
        console.client.get(search, params={"q": "what happens when a carrier misses a pickup"}).text.split()
    )
    assert "re-books the orders" in about.split('<details class="weaker">')[0]
    assert "No passage matches" not in about

    # And a question nothing is about says so, its nearest passages listed apart as weaker matches
    nonsense = " ".join(console.client.get(search, params={"q": "xyzzy quux plugh"}).text.split())
    assert "No passage matches “xyzzy quux plugh” closely." in nonsense
    assert '<details class="weaker"> <summary>' in nonsense and "weaker match" in nonsense


def _agent_from_form(console: ConsoleSession, org_id: str, name: str) -> str:
    created = console.post(
        f"/console/orgs/{org_id}/agents",
        {"name": name, "industry_key": "logistics", "role_key": "warehouse_analyst", "tool_keys": ["db"]},
    )
    assert created.status_code == 303
    return str(created.headers["location"].rsplit("/", 1)[1])


def _settings(console: ConsoleSession, agent_id: str, **fields: str) -> dict[str, str]:
    page = console.client.get(f"/console/agents/{agent_id}").text
    form = page[page.index('id="settings-form"') : page.index("Save settings")]
    values = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', form))
    status = re.search(r'<option value="([A-Z]+)" selected>', form)
    values["status"] = status.group(1) if status else ""
    values.pop("csrf_token", None)
    return {**values, **fields}


def test_an_agents_settings_are_changed_in_the_console_and_bad_values_shown_at_their_field(api_url: str) -> None:
    console, org_id = _console_owner(api_url)
    agent_id = _agent_from_form(console, org_id, "York analyst")
    before = _settings(console, agent_id)
    assert before["name"] == "York analyst" and before["warehouse_timezone"] == "UTC" and before["status"] == "ACTIVE"
    assert before["threshold_max_late_rate"] == ""  # the default applies; the field says which

    refused = [
        console.post(f"/console/agents/{agent_id}/settings", _settings(console, agent_id, **change))
        for change in (
            {"warehouse_timezone": "Mars/Olympus"},
            {"threshold_max_late_rate": "5"},
            {"threshold_max_backlog_orders": "lots"},
            {"name": "  "},
        )
    ]
    assert [r.status_code for r in refused] == [400, 400, 400, 400]
    assert 'id="warehouse_timezone-error"' in refused[0].text and 'value="Mars/Olympus"' in refused[0].text
    assert 'id="threshold_max_late_rate-error">Max late rate: at most 1, a fraction: 0.05 for 5%.<' in refused[1].text
    assert 'value="5"' in refused[1].text  # kept, to correct it
    assert 'id="threshold_max_backlog_orders-error"' in refused[2].text and "enter a number" in refused[2].text
    assert 'id="name-error"' in refused[3].text
    assert _settings(console, agent_id) == before  # nothing of a refused form was saved

    saved = console.post(
        f"/console/agents/{agent_id}/settings",
        _settings(
            console,
            agent_id,
            name="York night analyst",
            warehouse_timezone="Europe/London",
            status="DISABLED",
            threshold_max_late_rate="0.04",
            threshold_max_backlog_orders="150",
        ),
    )
    assert saved.status_code == 303 and "saved=true" in saved.headers["location"]
    page = console.client.get(saved.headers["location"]).text
    assert "Settings saved." in page and "<h1>York night analyst</h1>" in page
    after = _settings(console, agent_id)
    assert (after["warehouse_timezone"], after["status"]) == ("Europe/London", "DISABLED")
    assert (after["threshold_max_late_rate"], after["threshold_max_backlog_orders"]) == ("0.04", "150")
    # emptied, a limit goes back to its default
    console.post(f"/console/agents/{agent_id}/settings", _settings(console, agent_id, threshold_max_late_rate=""))
    assert _settings(console, agent_id)["threshold_max_late_rate"] == ""
    assert _settings(console, agent_id)["threshold_max_backlog_orders"] == "150"


def test_an_agent_is_deleted_from_the_console_by_a_manager_only(api_url: str) -> None:
    console, org_id = _console_owner(api_url)
    agent_id = _agent_from_form(console, org_id, "Temporary analyst")
    stranger, _ = _console_owner(api_url)

    assert stranger.post(f"/console/agents/{agent_id}/delete", {}).status_code == 404  # another organisation's
    assert stranger.post(f"/console/agents/{agent_id}/settings", {"name": "Mine"}).status_code == 404
    deleted = console.post(f"/console/agents/{agent_id}/delete", {})
    assert deleted.status_code == 303 and deleted.headers["location"].endswith(f"/orgs/{org_id}/agents?deleted=true")
    listed = console.client.get(deleted.headers["location"]).text
    assert "The agent was deleted." in listed and "Temporary analyst" not in listed
    assert console.client.get(f"/console/agents/{agent_id}").status_code == 404


def test_a_member_sees_no_settings_form_and_cannot_change_or_delete_the_agent(api_url: str) -> None:
    owner, agent, console = _org_with_a_console_user(api_url, "MEMBER", "settings", "Members Ltd")

    page = console.client.get(f"/console/agents/{agent['id']}").text
    assert 'id="settings-form"' not in page and "Delete agent" not in page
    changed = console.post(f"/console/agents/{agent['id']}/settings", {"name": "Taken over", "status": "ACTIVE"})
    deleted = console.post(f"/console/agents/{agent['id']}/delete", {})
    assert (changed.status_code, deleted.status_code) == (403, 403)
    assert owner.ok("GET", f"/agents/{agent['id']}")["name"] == agent["name"]


def test_one_settings_submission_shows_every_error_and_values_come_back_exactly(api_url: str) -> None:
    console, org_id = _console_owner(api_url)
    agent_id = _agent_from_form(console, org_id, "Exact analyst")
    refused = console.post(
        f"/console/agents/{agent_id}/settings",
        _settings(
            console,
            agent_id,
            name="",
            warehouse_timezone="Mars/Base",
            threshold_max_late_rate="5",
            threshold_max_backlog_age_hours="inf",
            threshold_min_picker_active_hours="nan",
        ),
    )
    assert refused.status_code == 400
    for field in (
        "name",
        "warehouse_timezone",
        "threshold_max_late_rate",
        "threshold_max_backlog_age_hours",
        "threshold_min_picker_active_hours",
    ):
        assert f'id="{field}-error"' in refused.text, field
    assert "5 settings could not be saved" in refused.text
    assert "Max backlog age hours: enter a number" in refused.text

    # the time zone as typed in any case is the IANA name; a limit keeps every digit across later saves
    saved = console.post(
        f"/console/agents/{agent_id}/settings",
        _settings(
            console,
            agent_id,
            warehouse_timezone="america/chicago",
            threshold_max_backlog_orders="1234567",
            threshold_max_unreadable_share="0.0123456789",
        ),
    )
    assert saved.status_code == 303
    console.post(f"/console/agents/{agent_id}/settings", _settings(console, agent_id, name="Renamed"))
    after = _settings(console, agent_id)
    assert after["warehouse_timezone"] == "America/Chicago"
    assert (after["threshold_max_backlog_orders"], after["threshold_max_unreadable_share"]) == (
        "1234567",
        "0.0123456789",
    )

    # a hand-made request without a status leaves the status as it is (a disabled agent is not re-enabled)
    console.post(f"/console/agents/{agent_id}/settings", _settings(console, agent_id, status="DISABLED"))
    without_status = {k: v for k, v in _settings(console, agent_id).items() if k != "status"}
    assert console.post(f"/console/agents/{agent_id}/settings", without_status).status_code == 303
    assert _settings(console, agent_id)["status"] == "DISABLED"


def test_a_manager_revokes_an_agent_key_in_the_console_and_the_key_stops_working(api_url: str) -> None:
    owner, agent, member = _org_with_a_console_user(api_url, "MEMBER", "keys", "Keys Ltd")
    admin_console = ConsoleSession(api_url)
    admin_email = admin_console.sign_up()
    invite_and_accept_in_console(owner, str(owner.org_id), admin_console, admin_email, "ADMIN")
    kept, revoked = (owner.ok("POST", f"/agents/{agent['id']}/keys") for _ in range(2))
    stranger, _ = _console_owner(api_url)
    revoke = f"/console/agents/{agent['id']}/keys/{revoked['id']}/revoke"

    # A member sees the keys but no Revoke button and is refused; another organisation gets "not found"
    assert "Revoke key" not in member.client.get(f"/console/agents/{agent['id']}").text
    assert member.post(revoke, {}).status_code == 403
    assert stranger.post(revoke, {}).status_code == 404
    assert admin_console.post(revoke, {}, with_csrf=False).status_code == 403  # no token: not from the console

    page = admin_console.client.get(f"/console/agents/{agent['id']}").text
    assert f'aria-label="Revoke key {revoked["prefix"]}"' in page and "2 agent keys, 2 in use" in page
    beat = {"status": "ONLINE", "host": "dock-pc", "pid": 42, "version": "0.1.0", "tools": ["db.query"]}
    ApiSession(api_url).request(
        "POST", "/local-agents/heartbeat", headers={"Authorization": f"Bearer {revoked['key']}"}, json=beat
    ).raise_for_status()
    assert [la["status"] for la in owner.ok("GET", f"/agents/{agent['id']}/local-agents")] == ["ONLINE"]
    answer = admin_console.post(revoke, {})
    assert answer.status_code == 200, answer.text
    text = " ".join(answer.text.split())
    assert f"Key <code>{revoked['prefix']}…</code> revoked." in text and "2 agent keys, 1 in use" in text
    assert f'aria-label="Revoke key {revoked["prefix"]}"' not in text  # a revoked key has nothing to revoke
    assert f'aria-label="Revoke key {kept["prefix"]}"' in text

    # The revoked key gets no credentials; the other still does; the change is what the API lists
    def credentials_status(key: str) -> int:
        return (
            ApiSession(api_url)
            .request("POST", "/local-agents/credentials", headers={"Authorization": f"Bearer {key}"}, json={})
            .status_code
        )

    assert credentials_status(revoked["key"]) == 401
    assert credentials_status(kept["key"]) == 200
    # its local agent is shown offline at once, saying why (it stops by itself at its next heartbeat)
    [fleet] = owner.ok("GET", f"/agents/{agent['id']}/local-agents")
    assert (fleet["host"], fleet["status"], fleet["last_error"]) == ("dock-pc", "OFFLINE", "its agent key was revoked")
    listed = {key["id"]: key["revoked_at"] for key in owner.ok("GET", f"/agents/{agent['id']}/keys")}
    assert listed[revoked["id"]] is not None and listed[kept["id"]] is None
    assert stranger.post(f"/console/agents/{agent['id']}/keys/{uuid.uuid4()}/revoke", {}).status_code == 404


def test_a_manager_deletes_a_document_in_the_console_and_its_passages_leave_search(api_url: str) -> None:
    owner, agent, member = _org_with_a_console_user(api_url, "MEMBER", "docs", "Documents Ltd")
    upload = owner.request(
        "POST",
        f"/agents/{agent['id']}/documents",
        files={"file": ("yard.md", b"# Yard\n\nTrailers are parked nose-in at bays 30 to 42 after the count.\n")},
        data={"source_type": "SOP"},
    )
    assert upload.status_code == 201, upload.text
    document = upload.json()
    wait_until(
        lambda: owner.ok("GET", f"/agents/{agent['id']}/documents/{document['id']}")["status"] in {"READY", "FAILED"},
        timeout=300,
        interval=0.3,
    )
    assert owner.ok("GET", f"/agents/{agent['id']}/documents/{document['id']}")["status"] == "READY"

    def found() -> bool:
        question = {"query": "where are trailers parked"}
        hits = owner.ok("POST", f"/agents/{agent['id']}/search-docs", json=question)
        return any(hit["document_id"] == document["id"] for hit in hits)

    assert found()
    stranger, _ = _console_owner(api_url)
    delete = f"/console/agents/{agent['id']}/documents/{document['id']}/delete"

    assert 'aria-label="Delete yard.md"' not in member.client.get(f"/console/agents/{agent['id']}").text
    assert member.post(delete, {}).status_code == 403
    assert stranger.post(delete, {}).status_code == 404

    owner_console = ConsoleSession(api_url)
    email = owner_console.sign_up()
    invite_and_accept_in_console(owner, str(owner.org_id), owner_console, email, "ADMIN")
    assert 'aria-label="Delete yard.md"' in owner_console.client.get(f"/console/agents/{agent['id']}").text
    answer = owner_console.post(delete, {})
    assert answer.status_code == 200, answer.text
    assert "“yard.md” deleted" in answer.text and 'aria-label="Delete yard.md"' not in answer.text

    assert owner.request("GET", f"/agents/{agent['id']}/documents/{document['id']}").status_code == 404
    assert not found()
    assert owner_console.post(delete, {}).status_code == 404  # already gone


def test_the_upload_form_names_each_refusal_and_stores_nothing(api_url: str) -> None:
    owner, org_id = _console_owner(api_url)
    created = owner.post(
        f"/console/orgs/{org_id}/agents",
        {"name": "Uploads", "industry_key": "logistics", "role_key": "warehouse_analyst", "tool_keys": ["db"]},
    )
    assert created.status_code == 303, created.text
    documents = created.headers["location"].split("#")[0].split("?")[0] + "/documents"

    def upload(files: list[tuple[str, tuple[str, bytes, str]]]) -> str:
        answer = owner.client.post(documents, data={"csrf_token": owner.csrf(), "source_type": "SOP"}, files=files)
        assert answer.status_code == 400, answer.text  # the list, with the reason above it
        return " ".join(answer.text.split())

    two = upload([("file", ("a.md", b"# A\nOne.", "text/markdown")), ("file", ("b.md", b"# B\nTwo.", "text/markdown"))])
    assert "The form carries 2 files; upload one file at a time." in two
    nothing_chosen = upload([("file", ("", b"", "application/octet-stream"))])  # what a browser sends
    assert "Choose a file to upload." in nothing_chosen
    long_name = upload([("file", ("n" * 300 + ".md", b"# N\nThree.", "text/markdown"))])
    assert "The file name is 303 characters long; the limit is 255." in long_name
    assert "a.md" not in long_name and "b.md" not in long_name  # nothing was stored


def _agent_tools(owner: ApiSession, agent: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tool["key"]: tool["config"] for tool in owner.ok("GET", f"/agents/{agent['id']}")["tools"]}


def test_an_admin_chooses_tools_and_their_settings_in_fields_made_from_each_tools_schema(api_url: str) -> None:
    owner, agent, admin = _org_with_a_console_user(api_url, "ADMIN", "tools", "Tools Ltd")
    page = admin.client.get(f"/console/agents/{agent['id']}")
    assert 'id="tools-form"' in page.text
    assert 'name="tool_keys" value="db" checked' in " ".join(page.text.split())
    for field in ("cfg-db-url_env", "cfg-db-max_rows", "cfg-db-statement_timeout_seconds", "cfg-email-recipients"):
        assert f'name="{field}"' in page.text, field
    tools_url = f"/console/agents/{agent['id']}/tools"

    saved = admin.post(
        tools_url,
        {
            "tool_keys": ["db", "email"],
            "cfg-db-url_env": "PHI_YORK_DB",
            "cfg-db-max_rows": "5,000",
            "cfg-email-recipients": "ops@example.com, night.shift@example.com",
        },
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].endswith("?tools_saved=true#tools-h")
    tools = _agent_tools(owner, agent)
    assert tools["db"] == {"url_env": "PHI_YORK_DB", "max_rows": 5000, "statement_timeout_seconds": 30}
    assert tools["email"] == {"recipients": ["ops@example.com", "night.shift@example.com"]}
    shown = admin.client.get(f"/console/agents/{agent['id']}?tools_saved=true").text
    assert "Tools saved." in shown and 'value="ops@example.com, night.shift@example.com"' in shown
    assert 'value="5000"' in shown  # the stored value is typed back into its field

    refused = admin.post(
        tools_url,
        {
            "tool_keys": ["db", "email", "cctv"],
            "cfg-db-url_env": "lower-case",
            "cfg-db-max_rows": "lots",
            "cfg-db-statement_timeout_seconds": "99999",
            "cfg-email-recipients": "",
        },
    )
    assert refused.status_code == 400
    words = " ".join(refused.text.split())
    assert "5 tool settings could not be saved; see below. Nothing was changed." in words
    for field, message in (
        ("cfg-db-url_env", "Url env: &#39;lower-case&#39; is not a valid value here."),
        ("cfg-db-max_rows", "Max rows: enter a whole number, e.g. 100000."),
        ("cfg-db-statement_timeout_seconds", "Statement timeout seconds: at most 3,600."),
        ("cfg-email-recipients", "Recipients: needed with Email."),
        ("tool-cctv", "CCTV is not available yet."),
    ):
        assert f'<p class="field-error" id="{field}-error">{message}</p>' in words, field
    assert 'value="lots"' in refused.text  # what was typed is kept, to correct it
    assert _agent_tools(owner, agent) == tools

    not_an_address = admin.post(tools_url, {"tool_keys": ["email"], "cfg-email-recipients": "ops@example.com, nobody"})
    assert not_an_address.status_code == 400
    assert 'id="cfg-email-recipients-error"' in not_an_address.text and "nobody" in not_an_address.text
    assert _agent_tools(owner, agent) == tools

    assert admin.post(tools_url, {"tool_keys": ["db"], "cfg-db-max_rows": "250"}).status_code == 303
    assert _agent_tools(owner, agent) == {
        "db": {"url_env": "PHI_WAREHOUSE_DB_URL", "max_rows": 250, "statement_timeout_seconds": 30}
    }
    assert admin.post(tools_url, {}).status_code == 303  # nothing ticked: no tools
    assert _agent_tools(owner, agent) == {}

    member = ConsoleSession(api_url)
    invite_and_accept_in_console(owner, str(owner.org_id), member, member.sign_up(), "MEMBER")
    assert 'id="tools-form"' not in member.client.get(f"/console/agents/{agent['id']}").text
    assert member.post(tools_url, {"tool_keys": ["db"]}).status_code == 403
    stranger, _ = _console_owner(api_url)
    assert stranger.post(tools_url, {"tool_keys": ["db"]}).status_code == 404
    assert _agent_tools(owner, agent) == {}


def test_the_settings_form_names_the_sops_that_state_limits(api_url: str) -> None:
    owner, agent, admin = _org_with_a_console_user(api_url, "ADMIN", "sources", "Sources Ltd")
    settings_url = f"/console/agents/{agent['id']}/settings"
    form = {"name": agent["name"], "status": "ACTIVE", "warehouse_timezone": "Europe/London"}

    saved = admin.post(settings_url, {**form, "source_max_late_rate": " SOP-OUT-04.docx "})
    assert saved.status_code == 303, saved.text
    config = owner.ok("GET", f"/agents/{agent['id']}")["config"]
    assert config["threshold_sources"] == {"max_late_rate": "SOP-OUT-04.docx"}
    page = " ".join(admin.client.get(f"/console/agents/{agent['id']}").text.split())
    assert 'name="source_max_late_rate" list="document-names"' in page and 'value="SOP-OUT-04.docx"' in page
    assert "No document of this agent is named “SOP-OUT-04.docx” yet" in page

    too_long = admin.post(settings_url, {**form, "source_max_backlog_orders": "s" * 300 + ".docx"})
    assert too_long.status_code == 400
    assert 'id="source_max_backlog_orders-error"' in too_long.text and "at most 255 characters" in too_long.text
    unchanged = owner.ok("GET", f"/agents/{agent['id']}")["config"]["threshold_sources"]
    assert unchanged == {"max_late_rate": "SOP-OUT-04.docx"}

    assert admin.post(settings_url, form).status_code == 303  # emptied: the configured limits apply again
    assert owner.ok("GET", f"/agents/{agent['id']}")["config"]["threshold_sources"] == {}

"""Console flows a reviewer found broken end to end, over HTTP against the embedded stack: the test task's day at
the warehouse, documents under the name they were uploaded with, a stale workflow edit that can be saved after the
newer version was shown, request-box errors at their field, schedules' next runs, and every error of the new-agent
form at once."""

from __future__ import annotations

import html
import json
import re
import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import escape

from phi.services.schedules import next_run
from phi.workflows.timeframes import yesterday
from tests.support.api import ApiSession
from tests.support.console import ConsoleSession
from tests.support.invitations import invite_and_accept_in_console
from tests.support.waiting import wait_until


def _owner_with_agent(api_url: str, prefix: str, **agent: Any) -> tuple[ApiSession, dict[str, Any], ConsoleSession]:
    """An owner (API session) of a new organisation with one agent, and an admin of it in the console."""
    owner = ApiSession(api_url)
    owner.sign_up(f"{prefix}-{uuid.uuid4().hex[:10]}@example.com")
    owner.create_org(f"{prefix.title()} Ltd")
    created = owner.create_agent(**agent)
    console = ConsoleSession(api_url)
    invite_and_accept_in_console(owner, str(owner.org_id), console, console.sign_up(), "ADMIN")
    return owner, created, console


def _words(text: str) -> str:
    return " ".join(text.split())


def _zone_where_utc_yesterday_is_wrong(now: datetime) -> str:
    """A zone whose yesterday differs from yesterday in UTC right now: UTC+14 from 10:00 UTC, UTC-11 before 11:00."""
    return "Pacific/Kiritimati" if now.hour >= 10 else "Pacific/Pago_Pago"


def test_the_test_task_day_is_yesterday_at_the_warehouse(api_url: str) -> None:
    now = datetime.now(UTC)
    zone = _zone_where_utc_yesterday_is_wrong(now)
    assert yesterday(zone, now) != yesterday("UTC", now)  # so that the test tells the two apart
    _, agent, console = _owner_with_agent(api_url, "day", warehouse_timezone=zone)

    before = yesterday(zone)
    page = console.client.get(f"/console/agents/{agent['id']}").text
    shown = re.search(r'<input id="day" name="day" type="date" value="([\d-]+)">', page)

    assert shown is not None
    assert shown.group(1) in {before.isoformat(), yesterday(zone).isoformat()}, (zone, shown.group(1))


def test_a_document_keeps_the_name_it_was_uploaded_with(api_url: str) -> None:
    owner, agent, console = _owner_with_agent(api_url, "names")
    name = "Outbound SOP (v2) \N{EN DASH} Zoë & Co.md"
    sop = b"# Outbound\n\n## 3. Late shipments\n\nLate shipments must not exceed 4% of the day's orders.\n"
    # sent as macOS sends it (ë decomposed), in the console's upload form
    answer = console.client.post(
        f"/console/agents/{agent['id']}/documents",
        data={"csrf_token": console.csrf(), "source_type": "SOP"},
        files={"file": (unicodedata.normalize("NFD", name), sop, "text/markdown")},
    )
    assert answer.status_code == 200, answer.text
    assert html.escape(name, quote=False) in answer.text and "Zo_" not in answer.text

    [document] = owner.ok("GET", f"/agents/{agent['id']}/documents")
    assert document["filename"] == name  # the API's name, NFC

    def ready() -> bool:
        status = owner.ok("GET", f"/agents/{agent['id']}/documents/{document['id']}")["status"]
        assert status != "FAILED"
        return status == "READY"

    wait_until(ready, timeout=300, interval=0.3)  # the first ingest loads the model on a busy machine
    hits = owner.ok("POST", f"/agents/{agent['id']}/search-docs", json={"query": "late shipments limit"})
    assert hits[0]["filename"] == name
    search = console.client.get(f"/console/agents/{agent['id']}/search", params={"q": "late shipments limit"})
    assert f"<cite>{html.escape(name, quote=False)}</cite>" in search.text
    # the settings name the SOP as uploaded, and find it
    form = {"name": agent["name"], "status": "ACTIVE", "warehouse_timezone": "UTC", "source_max_late_rate": name}
    assert console.post(f"/console/agents/{agent['id']}/settings", form).status_code == 303
    page = _words(console.client.get(f"/console/agents/{agent['id']}").text)
    assert "No document of this agent is named" not in page
    # a path in the name is no part of it
    climbing = owner.request(
        "POST",
        f"/agents/{agent['id']}/documents",
        files={"file": ("../../Zoë's SOP.md", b"# Other\n\nAnother text.\n")},
        data={"source_type": "SOP"},
    )
    assert climbing.status_code == 201 and climbing.json()["filename"] == "Zoë's SOP.md"


def test_a_stale_workflow_edit_shows_what_changed_and_the_second_save_succeeds(api_url: str) -> None:
    owner, agent, console = _owner_with_agent(api_url, "stale")
    key = owner.ok("GET", f"/agents/{agent['id']}/workflows")[0]["key"]
    edit = f"/console/agents/{agent['id']}/workflows/{key}/edit"
    definition = owner.ok("GET", f"/agents/{agent['id']}/workflows/{key}")["definition"]
    # two tabs open the editor on version 1
    assert 'name="based_on" value="1"' in console.client.get(edit).text
    first = {**definition, "name": "Renamed in tab 1"}
    saved = console.post(edit, {"definition": json.dumps(first), "reason": "tab 1", "based_on": "1"})
    assert saved.status_code == 303

    second = {**definition, "description": "Typed in tab 2"}
    stale = console.post(edit, {"definition": json.dumps(second), "reason": "tab 2", "based_on": "1"})

    assert stale.status_code == 409
    said = _words(stale.text)
    assert "Not saved: version 2 was added since you opened this page (on version 1)" in said
    assert "“tab 1”" in said and "replace <code>/name</code>" in said  # who saved what, and what changed
    assert f'/workflows/{key}/diff?from=1&amp;to=2"' in stale.text
    assert "Typed in tab 2" in stale.text  # the text is kept
    assert 'name="based_on" value="2"' in stale.text  # and the form now knows of version 2
    again = console.post(edit, {"definition": json.dumps(second), "reason": "tab 2", "based_on": "2"})
    assert again.status_code == 303 and again.headers["location"].endswith("?saved=3")
    assert owner.ok("GET", f"/agents/{agent['id']}/workflows/{key}")["definition"]["description"] == "Typed in tab 2"


def _second_workflow(owner: ApiSession, agent: dict[str, Any]) -> dict[str, Any]:
    key = owner.ok("GET", f"/agents/{agent['id']}/workflows")[0]["key"]
    definition = owner.ok("GET", f"/agents/{agent['id']}/workflows/{key}")["definition"]
    copy = {**definition, "key": "SECOND_REPORT", "name": "Second report"}
    copy.pop("schedule", None)
    owner.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": copy})
    return copy


def test_request_box_errors_the_user_can_fix_are_shown_at_their_field_with_the_form_kept(api_url: str) -> None:
    owner, agent, console = _owner_with_agent(api_url, "box")
    _second_workflow(owner, agent)
    box = f"/console/agents/{agent['id']}/requests"
    patch = json.dumps([{"op": "replace", "path": "/name", "value": "Renamed"}])

    unchosen = console.post(box, {"prompt": "rename it", "patch": patch})

    assert unchosen.status_code == 400
    assert '<p class="field-error" id="workflow-error">Choose the workflow to change.</p>' in unchosen.text
    assert 'aria-invalid="true" aria-describedby="workflow-error"' in unchosen.text
    assert "rename it</textarea>" in unchosen.text and str(escape(patch)) in unchosen.text
    assert "name one with `workflow`" not in unchosen.text
    assert owner.ok("GET", f"/agents/{agent['id']}/requests") == []  # nothing was sent

    both = console.post(box, {"prompt": "x", "patch": patch, "pipeline": '{"nodes": []}', "workflow": "SECOND_REPORT"})
    assert both.status_code == 400 and 'id="patch-error"' in both.text
    wrong_lane = console.post(box, {"prompt": "x", "lane": "execute", "patch": patch, "workflow": "SECOND_REPORT"})
    assert wrong_lane.status_code == 400 and 'id="lane-error"' in wrong_lane.text

    # a patch the service refuses as invalid is said at the patch field, the form kept
    bad = json.dumps([{"op": "remove", "path": "/nodes"}])
    invalid = console.post(box, {"prompt": "drop the nodes", "patch": bad, "workflow": "SECOND_REPORT"})
    assert invalid.status_code == 400, invalid.text
    assert 'id="patch-error"' in invalid.text and str(escape(bad)) in invalid.text

    chosen = console.post(box, {"prompt": "rename it", "patch": patch, "workflow": "SECOND_REPORT"})
    assert chosen.status_code == 303


def test_schedules_show_their_next_run_in_their_zone_and_utc_and_when_they_are_paused(api_url: str) -> None:
    owner, agent, console = _owner_with_agent(api_url, "sched", warehouse_timezone="Asia/Tokyo")
    [schedule] = owner.ok("GET", f"/agents/{agent['id']}/schedules")
    assert schedule["timezone"] == "Asia/Tokyo"
    due = next_run(schedule["cron"], "Asia/Tokyo")
    local = due.astimezone(ZoneInfo("Asia/Tokyo"))

    listed = _words(console.client.get(f"/console/agents/{agent['id']}/workflows").text)

    assert f"Next run {local:%a %Y-%m-%d %H:%M} Asia/Tokyo" in listed
    utc = due.astimezone(UTC)
    assert (f"({utc:%H:%M} UTC)" if utc.date() == local.date() else f"({utc:%a %Y-%m-%d %H:%M} UTC)") in listed
    one = _words(console.client.get(f"/console/agents/{agent['id']}/workflows/{schedule['workflow_type']}").text)
    assert f"Next run {local:%a %Y-%m-%d %H:%M} Asia/Tokyo" in one

    owner.ok("PATCH", f"/agents/{agent['id']}", json={"status": "DISABLED"})
    paused = _words(console.client.get(f"/console/agents/{agent['id']}/workflows").text)
    assert 'Paused</span> <span class="muted">while the agent is disabled' in paused and "Next run" not in paused


def test_the_new_agent_form_reports_every_field_error_at_once(api_url: str) -> None:
    console = ConsoleSession(api_url)
    console.sign_up()
    org_id = console.post("/console/orgs", {"name": f"Org {uuid.uuid4().hex[:6]}"}).headers["location"].rsplit("/")[-1]
    form = {
        "industry_key": "logistics",
        "role_key": "ops_manager",
        "tool_keys": ["db", "email"],
        "warehouse_timezone": "Mars/Olympus",
    }

    missing = console.post(f"/console/orgs/{org_id}/agents", form)
    assert missing.status_code == 400
    assert 'id="email_recipients-error"' in missing.text and 'id="warehouse_timezone-error"' in missing.text
    invalid = console.post(f"/console/orgs/{org_id}/agents", {**form, "email_recipients": "ops@"})
    assert 'id="email_recipients-error"' in invalid.text and 'id="warehouse_timezone-error"' in invalid.text
    assert 'value="Mars/Olympus"' in invalid.text  # what was typed is kept

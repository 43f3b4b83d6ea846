"""Console flows a reviewer found broken end to end, over HTTP against the embedded stack: the test task's day at
the warehouse, documents under the name they were uploaded with, a stale workflow edit that can be saved after the
newer version was shown, request-box errors at their field, schedules' next runs, and every error of the new-agent
form at once."""

from __future__ import annotations

import html
import unicodedata
import uuid
from typing import Any

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


def _second_workflow(owner: ApiSession, agent: dict[str, Any]) -> dict[str, Any]:
    key = owner.ok("GET", f"/agents/{agent['id']}/workflows")[0]["key"]
    definition = owner.ok("GET", f"/agents/{agent['id']}/workflows/{key}")["definition"]
    copy = {**definition, "key": "SECOND_REPORT", "name": "Second report"}
    copy.pop("schedule", None)
    owner.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": copy})
    return copy

"""The request box of the two lanes in the console, over HTTP against the embedded stack: the lane shown, a
refusal in words, a one-off pipeline's result, a patch proposal approved by an admin (a member sees no
decision buttons and is refused), and tenancy."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support.api import ApiSession
from tests.support.console import ConsoleSession
from tests.support.invitations import invite_and_accept_in_console
from tests.support.waiting import wait_until

SEARCH_PIPELINE = {
    "nodes": [{"id": "sops", "kind": "search_docs", "settings": {"query": "late shipments", "top_k": 2}}],
    "edges": [],
    "output": "sops",
}


def _org_with_member(api_url: str, role: str) -> tuple[ApiSession, dict[str, Any], ConsoleSession]:
    owner = ApiSession(api_url)
    owner.sign_up(f"req-owner-{uuid.uuid4().hex[:10]}@example.com")
    owner.create_org("Requests Ltd")
    agent = owner.create_agent()
    console = ConsoleSession(api_url)
    invite_and_accept_in_console(owner, str(owner.org_id), console, console.sign_up(), role)
    return owner, agent, console


def test_a_request_without_an_llm_is_refused_in_words_with_its_lane(api_url: str) -> None:
    _, agent, member = _org_with_member(api_url, "MEMBER")
    box = member.client.get(f"/console/agents/{agent['id']}/requests")
    assert box.status_code == 200 and "No requests yet." in box.text
    # before anything is sent, the page says that words alone will be refused here, and what to do instead
    said = " ".join(box.text.split())
    assert 'id="no-llm"' in said and "No AI model is configured here" in said
    assert "(needed here: no AI model is configured)" in said

    sent = member.post(f"/console/agents/{agent['id']}/requests", {"prompt": "show me the top 10 orders"})
    assert sent.status_code == 303
    page = member.client.get(sent.headers["location"]).text
    # said in the user's words first, the API's own message under Details
    assert "This question needs an AI model" in page and "needs an LLM" in page
    assert "<title>show me the top 10 orders · request · Phi Agents</title>" in page
    assert 'class="badge lane-execute">execute</span>' in page and "Rule-based" in page
    # a lasting change is refused as a change, with the way to give it without a model
    change = member.post(
        f"/console/agents/{agent['id']}/requests", {"prompt": "change the workflow to also email me", "lane": "patch"}
    )
    assert change.status_code == 303
    changed = " ".join(member.client.get(change.headers["location"]).text.split())
    assert "This change needs an AI model" in changed and "as a JSON Patch" in changed
    assert "This question needs an AI model" not in changed

    empty = member.post(f"/console/agents/{agent['id']}/requests", {"prompt": "  "})
    assert empty.status_code == 400 and 'id="prompt-error"' in empty.text
    bad_json = member.post(f"/console/agents/{agent['id']}/requests", {"prompt": "x", "pipeline": "{nope"})
    assert bad_json.status_code == 400 and 'id="pipeline-error"' in bad_json.text
    # brackets nested past what the parser can follow are a field error too, not a server error
    too_deep = member.post(f"/console/agents/{agent['id']}/requests", {"prompt": "x", "pipeline": "[" * 5_000})
    assert too_deep.status_code == 400 and "Not valid JSON: nested too deeply" in too_deep.text
    assert member.client.get(f"/console/agents/{agent['id']}/requests").status_code == 200  # and it still serves


def test_a_one_off_pipeline_runs_and_its_page_follows_it_to_the_end(api_url: str) -> None:
    _, agent, member = _org_with_member(api_url, "MEMBER")
    sent = member.post(
        f"/console/agents/{agent['id']}/requests",
        {"prompt": "what do our SOPs say about late shipments?", "pipeline": json.dumps(SEARCH_PIPELINE)},
    )
    assert sent.status_code == 303
    live = f"{sent.headers['location']}/live"

    def finished() -> str | None:
        html: str = member.client.get(live, headers={"HX-Request": "true"}).text
        return html if "status-succeeded" in html or "status-failed" in html else None

    html = wait_until(finished, timeout=120, interval=0.5)
    assert "status-succeeded" in html, html
    assert 'id="result-h"' in html and "&#34;hits&#34;" in html  # the search result, as JSON
    assert "hx-get" not in html  # finished: no more polling


def test_a_patch_proposal_is_approved_by_an_admin_and_not_by_a_member(api_url: str) -> None:
    owner, agent, admin = _org_with_member(api_url, "ADMIN")
    member = ConsoleSession(api_url)
    invite_and_accept_in_console(owner, str(owner.org_id), member, member.sign_up(), "MEMBER")
    key = owner.ok("GET", f"/agents/{agent['id']}/workflows")[0]["key"]
    patch = [{"op": "replace", "path": "/name", "value": "Daily report, renamed by request"}]

    sent = member.post(
        f"/console/agents/{agent['id']}/requests",
        {"prompt": "call it differently", "lane": "patch", "workflow": key, "patch": json.dumps(patch)},
    )
    assert sent.status_code == 303
    request_path = sent.headers["location"]
    as_member = member.client.get(request_path).text
    assert 'class="badge lane-patch">patch</span>' in as_member and "<code>/name</code>" in as_member
    assert ">Approve<" not in as_member and "An owner or admin" in as_member
    request_id = request_path.rsplit("/", 1)[1]
    proposal_id = owner.ok("GET", f"/agents/{agent['id']}/requests/{request_id}")["proposal_id"]
    refused = member.post(f"/console/agents/{agent['id']}/proposals/{proposal_id}/approve")
    assert refused.status_code == 403

    as_admin = admin.client.get(request_path).text
    assert ">Approve<" in as_admin and ">Reject<" in as_admin
    assert '<input type="hidden" name="base_version" value="1">' in as_admin  # approves what the page shows
    not_what_was_shown = admin.post(
        f"/console/agents/{agent['id']}/proposals/{proposal_id}/approve",
        {"reason": "fine by me", "request_id": request_id, "base_version": "7"},
    )
    assert not_what_was_shown.status_code == 409
    assert "rebased since you reviewed it" in not_what_was_shown.text
    approved = admin.post(
        f"/console/agents/{agent['id']}/proposals/{proposal_id}/approve",
        {"reason": "fine by me", "request_id": request_id, "base_version": "1"},
    )
    assert approved.status_code == 303 and approved.headers["location"] == request_path
    workflow = owner.ok("GET", f"/agents/{agent['id']}/workflows/{key}")
    assert workflow["definition"]["name"] == "Daily report, renamed by request"
    assert workflow["version"]["source"] == "patch"
    assert "became version 2" in admin.client.get(request_path).text


def test_another_organisations_requests_are_not_found(api_url: str) -> None:
    owner, agent, _ = _org_with_member(api_url, "MEMBER")
    made = owner.request("POST", f"/agents/{agent['id']}/requests", json={"prompt": "top orders"})
    request_id = made.json()["error"]["details"]["request_id"]
    outsider = ConsoleSession(api_url)
    outsider.sign_up()
    for path in (f"/console/agents/{agent['id']}/requests", f"/console/agents/{agent['id']}/requests/{request_id}"):
        assert outsider.client.get(path).status_code == 404, path
    assert outsider.post(f"/console/agents/{agent['id']}/requests", {"prompt": "x"}).status_code == 404

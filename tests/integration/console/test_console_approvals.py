"""The console's approvals page against the embedded stack: a running workflow waits on its approval node; an
approver approves it in the console and the task completes; a member who is not an approver sees no buttons and
is refused; another organisation's approvals page is not found."""

from __future__ import annotations

import re
import uuid

from tests.support.api import ApiSession
from tests.support.console import ConsoleSession
from tests.support.invitations import invite_and_accept_in_console
from tests.support.task_loop import PAY_SUPPLIER
from tests.support.waiting import wait_until


def _join(api_url: str, owner: ApiSession, role: str) -> ConsoleSession:
    console = ConsoleSession(api_url)
    invite_and_accept_in_console(owner, str(owner.org_id), console, console.sign_up(), role)
    return console


def test_an_approver_approves_in_the_console_and_the_task_completes(api_url: str) -> None:
    owner = ApiSession(api_url)
    owner.sign_up(f"pay-{uuid.uuid4().hex[:10]}@example.com")
    owner.create_org("Payables Ltd")
    agent = owner.create_agent()
    owner.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": PAY_SUPPLIER})
    admin = _join(api_url, owner, "ADMIN")
    member = _join(api_url, owner, "MEMBER")
    page_path = f"/console/orgs/{owner.org_id}/approvals"
    assert "Nothing waits for a decision." in admin.client.get(page_path).text

    run = owner.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "pay_supplier", "input": {"amount": 250}})

    def pending() -> str | None:
        html: str = admin.client.get(f"{page_path}/rows", headers={"HX-Request": "true"}).text
        return html if "Pay 250 EUR?" in html else None

    rows = wait_until(pending, timeout=120, interval=0.3)
    approval_id = re.search(r'id="approval-([0-9a-f-]{36})"', rows)
    assert approval_id, rows
    # the menu counts what waits (this organisation's one approval), for every member
    count_path = f"{page_path}/pending-count"
    for who in (admin, member):
        assert '>1<span class="sr-only"> waiting</span>' in who.client.get(count_path).text
    assert f'hx-get="{count_path}"' in admin.client.get(f"/console/orgs/{owner.org_id}/agents").text
    # the task's own page says what it waits for and where to decide
    task_page = " ".join(admin.client.get(f"/console/tasks/{run['task_id']}").text.split())
    assert "This task is waiting for approval" in task_page and "Pay 250 EUR?" in task_page
    assert f'href="/console/orgs/{owner.org_id}/approvals">decide on the approvals page' in task_page
    assert ">Approve<" in rows and "every 5s" in rows  # the list keeps refreshing
    as_member = member.client.get(page_path).text
    assert "Pay 250 EUR?" in as_member and "You are not one of its approvers." in as_member
    assert ">Approve<" not in as_member
    refused = member.post(f"{page_path}/{approval_id.group(1)}/approve")
    assert refused.status_code == 403

    approved = admin.post(f"{page_path}/{approval_id.group(1)}/approve", {"comment": "invoice checked"})
    assert approved.status_code == 303
    # the page it leads to confirms the decision and links to the task
    assert approved.headers["location"].endswith(f"{page_path}?decided={approval_id.group(1)}")
    confirmed = " ".join(admin.client.get(approved.headers["location"]).text.split())
    assert "Approved: “Pay 250 EUR?”. Its task goes on" in confirmed
    assert f'href="/console/tasks/{run["task_id"]}">see the task' in confirmed
    assert admin.client.get(count_path).text.strip() == '<span data-waiting="0"></span>'  # nothing waits any more
    task = owner.wait_for_task(run["task_id"], timeout=120)
    assert task["status"] == "SUCCEEDED", task
    assert "This task is waiting for approval" not in admin.client.get(f"/console/tasks/{run['task_id']}").text
    decided = admin.client.get(page_path, params={"show": "all"}).text
    assert "invoice checked" in decided and "APPROVED" in decided
    assert "Nothing waits for a decision." in admin.client.get(page_path).text

    outsider = ConsoleSession(api_url)
    outsider.sign_up()
    assert outsider.client.get(page_path).status_code == 404
    assert outsider.client.get(count_path).status_code == 404
    # another organisation's approval named as just decided is not shown on one's own page
    outsider_org = outsider.post("/console/orgs", {"name": "Elsewhere Ltd"})
    assert outsider_org.status_code == 303
    elsewhere = outsider.client.get(
        f"{outsider_org.headers['location']}/approvals", params={"decided": approval_id.group(1)}
    )
    assert (
        elsewhere.status_code == 200 and "Pay 250 EUR?" not in elsewhere.text and 'id="decided"' not in elsewhere.text
    )
    assert outsider.post(f"{page_path}/{approval_id.group(1)}/reject").status_code == 404

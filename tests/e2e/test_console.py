"""The console in a real browser: Playwright driving Debian's Chromium against the embedded stack.

The main journey — sign up → organisation → agent → upload an SOP → generate the profile → download the config →
start a real `phi-agent run` process → run the daily report → watch it complete with its timeline — and the
limits: a member sees no admin actions, another organisation's agent URL shows not found, and the pages fit a
phone's width. Every wait is on a page condition (Playwright's expect), never a sleep.

Screenshots go to the test's temporary folder; with PHI_UPDATE_SCREENSHOTS=1 they replace the README's ones in
tests/e2e/console_screenshots/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.api import ApiSession
from tests.support.e2e import REPORT_DAY, LocalAgentProcess, stop_after_test
from tests.support.invitations import invite_and_accept
from tests.support.task_loop import PAY_SUPPLIER

pytestmark = pytest.mark.e2e
playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect
expect.set_options(timeout=30_000)  # a bound for a shared, slow machine; each wait ends as soon as its condition holds

CHROMIUM = os.environ.get("PHI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "console_screenshots"
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
PASSWORD = "console-password-1"
SOP_TEXT = """# SOP: late shipments

## Escalation
When a carrier misses its pick-up window, the shift lead calls the carrier within 30 minutes and re-books the
orders on the next collection. More than 5% of the day's orders shipped late is an incident: the warehouse
manager reviews the carrier's performance the next morning.

## Picking
Pickers are expected to reach 90 picks an hour; an hour below half of the median hour is reviewed.
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make setup` installs Debian's chromium"
    with playwright_sync.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    return SCREENSHOTS if os.environ.get("PHI_UPDATE_SCREENSHOTS") == "1" else tmp_path / "screenshots"


@pytest.fixture
def local_agents() -> Iterator[list[LocalAgentProcess]]:
    started: list[LocalAgentProcess] = []
    yield started
    stop_after_test(started)


def _shot(page: Any, folder: Path, name: str, full_page: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def _sign_up(page: Any, api_url: str, email: str) -> None:
    page.goto(f"{api_url}/console/signup")
    page.get_by_label("Your name").fill("Ana Console")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Your organisations")).to_be_visible()


def _log_in(page: Any, api_url: str, email: str) -> None:
    page.goto(f"{api_url}/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your organisations")).to_be_visible()


def _logged_in_page(browser: Any, api_url: str, email: str) -> tuple[Any, Any, list[str]]:
    """A laptop-sized browser context logged in as `email`, its page, and what the page's policy refuses."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(30_000)
    refused = _refused_by_the_policy(page)
    _log_in(page, api_url, email)
    return context, page, refused


def _refused_by_the_policy(page: Any) -> list[str]:
    """What the console's Content-Security-Policy refuses on this page, collected as the page runs: Chromium
    reports each refusal (an inline script or style, an eval, a file from elsewhere) on the console."""
    refused: list[str] = []

    def note(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", note)
    return refused


def _fits_the_width(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_sign_up_to_a_completed_report_in_the_browser(
    api_url: str,
    browser: Any,
    warehouse_db: Path,
    tmp_path: Path,
    screenshots: Path,
    local_agents: list[LocalAgentProcess],
) -> None:
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    refused = _refused_by_the_policy(page)
    email = f"ana-{uuid.uuid4().hex[:10]}@example.com"
    org_name = f"Northwind {uuid.uuid4().hex[:4]}"

    # Sign up, then create an organisation
    page.goto(f"{api_url}/console/login")
    _shot(page, screenshots, "01-login")
    _sign_up(page, api_url, email)
    expect(page.get_by_text("You are not in any organisation yet")).to_be_visible()
    page.get_by_label("Name").fill(org_name)
    page.get_by_role("button", name="Create organisation").click()
    expect(page.get_by_role("heading", name=org_name)).to_be_visible()

    # Create an agent: industry → role template → tools
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Agents", exact=True).click()
    expect(page.get_by_text("No agents yet.")).to_be_visible()
    page.get_by_role("link", name="New agent").click()
    expect(page.get_by_label("Industry")).to_have_value("logistics")
    page.get_by_label("Role template").select_option("warehouse_analyst")  # htmx reloads the role's tools
    expect(page.get_by_label(re.compile("^Warehouse database"))).to_be_checked()
    _shot(page, screenshots, "02-new-agent")
    page.get_by_label(re.compile("^Name")).fill("York DC analyst")
    page.get_by_role("button", name="Create agent").click()
    expect(page.get_by_role("heading", name="York DC analyst")).to_be_visible()
    agent_url = page.url
    agent_id = agent_url.rstrip("/").rsplit("/", 1)[1]

    # Upload an SOP and watch it become searchable
    sop = tmp_path / "SOP-late-shipments.md"
    sop.write_text(SOP_TEXT)
    page.get_by_label(re.compile("^Document \\(")).set_input_files(str(sop))
    page.get_by_role("button", name="Upload", exact=True).click()
    document_row = page.locator("#documents tr", has_text="SOP-late-shipments.md")
    expect(document_row).to_be_visible()
    expect(document_row.get_by_text("READY")).to_be_visible(timeout=240_000)

    # Generate the profile: the system prompt appears
    page.get_by_role("button", name="Generate profile").click()
    expect(page.get_by_text("Profile generated")).to_be_visible(timeout=120_000)
    expect(page.locator("#system-prompt")).to_contain_text("York DC analyst")

    # Download the local agent's configuration and issue a key
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download config").click()
    config_file = tmp_path / "phi-agent-config.yaml"
    download_info.value.save_as(config_file)
    config = yaml.safe_load(config_file.read_text())
    assert config["agent_id"] == agent_id
    _shot(page, screenshots, "03-agent")
    page.get_by_role("button", name="Issue an agent key").click()
    key = page.locator("#agent-key").inner_text().strip()
    expect(page.locator("#agent-keys summary")).to_have_text("1 agent key, 1 in use")  # the list counts it at once
    assert key.startswith("phi_ak_")

    # Start a real local agent next to the warehouse database; the fleet page shows it online
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHI_", "AWS_"))}
    env.update({"PHI_AGENT_KEY": key, "PHI_WAREHOUSE_DB_URL": f"sqlite:///{warehouse_db}"})
    agent_process = LocalAgentProcess(subprocess.Popen(["true"]), config_file, tmp_path / "agent.log", env)
    agent_process.restart()
    local_agents.append(agent_process)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Local agents").click()
    fleet_row = page.locator("#fleet tr", has_text="York DC analyst")
    expect(fleet_row.get_by_text("ONLINE")).to_be_visible(timeout=120_000)  # arrives by htmx polling
    expect(fleet_row).to_contain_text(str(agent_process.process.pid))
    _shot(page, screenshots, "04-fleet")

    # Run the daily report and watch it complete, with its timeline, without reloading
    page.goto(agent_url)
    page.get_by_label("Workflow").select_option("DAILY_WAREHOUSE_REPORT")
    page.get_by_label("Day").fill(REPORT_DAY.isoformat())
    page.get_by_role("button", name="Run test task").click()
    expect(page.get_by_role("heading", name="Daily warehouse report", exact=True)).to_be_visible()
    # the version it ran, a link to that version's page (where its key is, for the API); the input by name
    expect(page.locator("dl.facts a", has_text="Daily warehouse report, version 1")).to_be_visible()
    expect(page.locator("dl.inputs")).to_contain_text(REPORT_DAY.isoformat())
    expect(page.locator("#task-status")).to_contain_text("SUCCEEDED", timeout=300_000)
    timeline = page.locator("#timeline")
    for event in ("TASK_CREATED", "TASK_STARTED", "TOOL_REQUESTED", "TOOL_COMPLETED", "TASK_COMPLETED"):
        expect(timeline).to_contain_text(event)
    expect(page.locator("#execution-history")).to_contain_text("RunLocalTool")
    expect(page.locator("article.markdown table").first).to_be_visible()
    # The report's figures line up on the right; its ids and dates stay on one line, sentences wrap
    carriers = page.locator("article.markdown table", has=page.locator("th", has_text="Carrier"))
    late_rate = carriers.locator("td").nth(3)
    expect(late_rate).to_have_css("text-align", "right")
    expect(late_rate).to_have_css("white-space", "nowrap")
    expect(carriers.locator("td").first).to_have_css("text-align", "left")
    expect(page.locator("svg.chart title", has_text="Lines picked per hour")).to_have_count(1)
    expect(page.locator("svg.chart title", has_text="Late rate by report day")).to_have_count(1)
    _shot(page, screenshots, "05-task-report", full_page=False)

    # The agent's history shows the task; the pages fit a phone's width
    page.goto(agent_url)
    expect(page.locator("#agent-tasks")).to_contain_text("SUCCEEDED")
    task_url = page.locator("#agent-tasks a", has_text="Daily warehouse report").first.get_attribute("href")
    phone = browser.new_context(viewport=PHONE, storage_state=context.storage_state())
    phone_page = phone.new_page()
    for url in (agent_url, f"{api_url}{task_url}"):
        phone_page.goto(url)
        expect(phone_page.locator("h1").first).to_be_visible()
        assert _fits_the_width(phone_page), url
    _shot(phone_page, screenshots, "06-task-phone", full_page=False)

    # Document search answers with the SOP's passage and its citation
    page.goto(f"{agent_url}/search")
    page.get_by_label("Question").fill("What happens when a carrier misses its pick-up?")
    page.get_by_role("button", name="Search", exact=True).click()
    hit = page.locator(".hit", has_text="re-books the orders").first
    expect(hit.locator("cite")).to_have_text("SOP-late-shipments.md")
    # the passage's heading on its own line, not run into its first sentence
    assert re.search(r"Escalation\s*\n\s*When a carrier", hit.locator(".snippet").inner_text()), hit.inner_text()
    _shot(page, screenshots, "07-search")
    assert refused == [], "the console's pages need what their Content-Security-Policy refuses"
    phone.close()
    context.close()


def test_a_member_sees_no_admin_actions_and_another_organisations_agent_is_not_found(
    api_url: str, browser: Any, screenshots: Path
) -> None:
    # Given an organisation with an agent, a member of it, and another organisation's agent
    owner = ApiSession(api_url)
    owner.sign_up(f"owner-{uuid.uuid4().hex[:10]}@example.com")
    owner.create_org(f"Acme {uuid.uuid4().hex[:4]}")
    agent = owner.create_agent(name="Acme analyst")
    other = ApiSession(api_url)
    other.sign_up(f"other-{uuid.uuid4().hex[:10]}@example.com")
    other.create_org("Other Co")
    foreign_agent = other.create_agent(name="Secret analyst")
    member_email = f"member-{uuid.uuid4().hex[:10]}@example.com"
    member = ApiSession(api_url)
    member.sign_up(member_email, PASSWORD)
    invite_and_accept(owner, str(owner.org_id), member, "MEMBER")

    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(30_000)
    _log_in(page, api_url, member_email)

    # The member sees the agent but none of the owner/admin actions
    page.goto(f"{api_url}/console/agents/{agent['id']}")
    expect(page.get_by_role("heading", name="Acme analyst")).to_be_visible()
    expect(page.get_by_role("link", name="Download config")).to_be_visible()
    expect(page.get_by_role("button", name="Run test task")).to_be_visible()
    for admin_action in ("Generate profile", "Issue an agent key", "Upload"):
        expect(page.get_by_role("button", name=admin_action)).to_have_count(0)
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    page.goto(f"{api_url}/console/orgs/{owner.org_id}/agents")
    expect(page.get_by_role("link", name="New agent")).to_have_count(0)
    page.goto(f"{api_url}/console/orgs/{owner.org_id}/members")
    expect(page.get_by_role("button", name="Invite")).to_have_count(0)
    _shot(page, screenshots, "08-members-as-member")

    # Another organisation's agent URL is "not found", exactly like a missing one
    response = page.goto(f"{api_url}/console/agents/{foreign_agent['id']}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("Secret analyst")).to_have_count(0)
    context.close()


def test_screenshots_in_the_readme_exist() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    shown = re.findall(r"tests/e2e/console_screenshots/([\w-]+\.png)", readme)
    assert shown, "the README shows the console's screenshots"
    for name in shown:
        assert (SCREENSHOTS / name).is_file(), name


def test_a_patch_request_and_an_approval_decided_in_the_browser(api_url: str, browser: Any, screenshots: Path) -> None:
    # Given an organisation whose agent has a workflow that waits for an approval
    owner_email = f"lanes-{uuid.uuid4().hex[:10]}@example.com"
    owner = ApiSession(api_url)
    owner.sign_up(owner_email, PASSWORD)
    owner.create_org(f"Lanes {uuid.uuid4().hex[:4]}")
    agent = owner.create_agent(name="Payables analyst")
    owner.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": PAY_SUPPLIER})
    context, page, refused = _logged_in_page(browser, api_url, owner_email)

    # A lasting change goes to the patch lane and is approved on its request's page
    page.goto(f"{api_url}/console/agents/{agent['id']}/requests")
    expect(page.get_by_text("No requests yet.")).to_be_visible()
    page.get_by_label("Your request").fill("call the payment workflow 'Supplier payments'")
    page.get_by_label("Lane").select_option("patch")
    page.get_by_text("Give the pipeline or the patch yourself").click()
    page.get_by_label("Workflow to change").select_option("pay_supplier")
    page.get_by_label("Patch (JSON Patch operations)").fill(
        json.dumps([{"op": "replace", "path": "/name", "value": "Supplier payments"}])
    )
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#request-lane")).to_contain_text("patch")
    expect(page.get_by_role("heading", name="Proposed change to pay_supplier")).to_be_visible()
    _shot(page, screenshots, "09-request-proposal")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("became version 2")).to_be_visible()
    assert owner.ok("GET", f"/agents/{agent['id']}/workflows/pay_supplier")["definition"]["name"] == "Supplier payments"

    # A running workflow's approval appears without a reload, and approving it lets the task finish
    page.goto(f"{api_url}/console/orgs/{owner.org_id}/approvals")
    expect(page.get_by_text("Nothing waits for a decision.")).to_be_visible()
    run = owner.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "pay_supplier", "input": {"amount": 250}})
    pending = page.locator("#approvals li", has_text="Pay 250 EUR?")
    expect(pending).to_be_visible(timeout=120_000)  # arrives by htmx polling
    page.reload()  # the menu counts what waits when a page loads (and every 30 s)
    expect(page.locator("#pending-approvals")).to_have_text("1 waiting")
    _shot(page, screenshots, "10-approvals")
    pending.get_by_label("Comment").fill("invoice checked")
    pending.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status").filter(has_text="Approved: “Pay 250 EUR?”. Its task goes on")).to_be_visible()
    expect(page.get_by_text("Nothing waits for a decision.")).to_be_visible()
    # the menu's count, loaded again by the page the decision leads to (the span is empty until it arrives)
    expect(page.locator("#pending-approvals [data-waiting]")).to_have_attribute("data-waiting", "0")
    page.goto(f"{api_url}/console/tasks/{run['task_id']}")
    expect(page.locator("#task-status")).to_contain_text("SUCCEEDED", timeout=120_000)
    expect(page.locator("#timeline")).to_contain_text("invoice checked")
    assert refused == [], "the console's pages need what their Content-Security-Policy refuses"
    context.close()


def test_long_names_without_spaces_wrap_within_a_phone_and_a_laptop(api_url: str, browser: Any) -> None:
    # Given an organisation, an agent, a document, a workflow and a waiting approval whose names are users' data:
    # each one long word, as a pasted id or a file name without spaces is
    email = f"long-{uuid.uuid4().hex[:10]}@example.com"
    owner = ApiSession(api_url)
    owner.sign_up(email, PASSWORD)
    owner.create_org("Org" + "W" * 197)
    agent = owner.create_agent(name="Agent" + "Z" * 115)
    owner.ok(
        "POST",
        f"/agents/{agent['id']}/documents",
        files={"file": ("SOP" + "F" * 150 + ".md", b"# Picking\n\nPick the oldest stock first.\n")},
        data={"source_type": "SOP"},
    )
    flow = {
        **json.loads(json.dumps(PAY_SUPPLIER)),
        "key": "pay_long",
        "name": "Pay" + "Q" * 60,
        "inputs": {"note": {"type": "string", "required": True}},
    }
    flow["nodes"][0]["settings"] = {"title": "Pay {{ inputs.note }}?", "summary": "S" * 300, "timeout_seconds": 600}
    owner.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": flow})
    run = owner.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "pay_long", "input": {"note": "N" * 300}})
    pages = [
        "/console/orgs",
        f"/console/orgs/{owner.org_id}",
        f"/console/orgs/{owner.org_id}/agents",
        f"/console/orgs/{owner.org_id}/members",
        f"/console/orgs/{owner.org_id}/approvals",
        f"/console/agents/{agent['id']}",
        f"/console/agents/{agent['id']}/workflows/pay_long",
        f"/console/agents/{agent['id']}/requests",
        f"/console/tasks/{run['task_id']}",
    ]

    for viewport in (PHONE, LAPTOP):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(30_000)
        _log_in(page, api_url, email)
        page.goto(f"{api_url}/console/orgs/{owner.org_id}/approvals")
        expect(page.locator("#approvals li", has_text="N" * 50)).to_be_visible(timeout=120_000)
        # Then every page fits the screen's width: the long words wrap (tables scroll inside their own frame)
        for path in pages:
            page.goto(f"{api_url}{path}")
            expect(page.locator("h1").first).to_be_visible()
            assert _fits_the_width(page), (viewport, path)
        context.close()


def test_removing_a_member_asks_first_and_a_dismissed_question_changes_nothing(api_url: str, browser: Any) -> None:
    # Given an organisation with a member, its owner on the members page
    owner_email = f"confirm-{uuid.uuid4().hex[:10]}@example.com"
    owner = ApiSession(api_url)
    owner.sign_up(owner_email, PASSWORD)
    owner.create_org(f"Confirm {uuid.uuid4().hex[:4]}")
    member_email = f"member-{uuid.uuid4().hex[:10]}@example.com"
    member = ApiSession(api_url)
    member.sign_up(member_email, PASSWORD)
    invite_and_accept(owner, str(owner.org_id), member)
    context, page, refused = _logged_in_page(browser, api_url, owner_email)
    page.goto(f"{api_url}/console/orgs/{owner.org_id}/members")
    remove = page.get_by_role("button", name=f"Remove {member_email}")
    questions: list[str] = []

    # When the owner clicks Remove and answers no
    def answer_no(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", answer_no)
    remove.click()
    # Then the question named the member, and nothing was sent
    expect(remove).to_be_visible()
    assert questions and member_email in questions[0]
    assert member_email in {m["email"] for m in owner.ok("GET", f"/orgs/{owner.org_id}/members")}

    # And answering yes removes them
    page.once("dialog", lambda dialog: dialog.accept())
    remove.click()
    expect(page.get_by_text(member_email)).to_have_count(0)
    assert member_email not in {m["email"] for m in owner.ok("GET", f"/orgs/{owner.org_id}/members")}
    assert refused == [], "the console's pages need what their Content-Security-Policy refuses"
    context.close()


def test_the_api_docs_page_renders_with_no_request_leaving_the_machine(api_url: str, browser: Any) -> None:
    """/docs is Swagger UI built from the API's own files: with every other host refused, it still lists the
    API's operations (FastAPI's page loaded its script from a CDN and stayed blank offline)."""
    own_host = re.match(r"https?://[^/]+", api_url)
    assert own_host is not None
    elsewhere: list[str] = []
    context = browser.new_context(viewport=LAPTOP)
    try:
        page = context.new_page()

        def only_the_api(route: Any) -> None:
            if route.request.url.startswith(own_host.group(0)):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_api)
        page.goto(f"{api_url}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Phi Agents API")
        expect(page.locator(".opblock-summary-path", has_text="/agents/{agent_id}/run-task").first).to_be_visible()
        assert elsewhere == []
    finally:
        context.close()


def test_an_agents_settings_are_changed_and_the_agent_deleted_in_the_browser(api_url: str, browser: Any) -> None:
    # Given an owner on their agent's page
    email = f"settings-{uuid.uuid4().hex[:10]}@example.com"
    owner = ApiSession(api_url)
    owner.sign_up(email, PASSWORD)
    owner.create_org(f"Settings {uuid.uuid4().hex[:4]}")
    agent = owner.create_agent()
    context, page, refused = _logged_in_page(browser, api_url, email)
    page.goto(f"{api_url}/console/agents/{agent['id']}")
    settings = page.locator("#settings-form")

    # When they give a rate as a percentage, the form says how to write it and keeps what was typed
    settings.get_by_label("Max late rate", exact=True).fill("4")
    settings.get_by_role("button", name="Save settings").click()
    expect(page.locator("#threshold_max_late_rate-error")).to_have_text(
        "Max late rate: at most 1, a fraction: 0.05 for 5%."
    )
    expect(page.locator("#settings-form").get_by_label("Max late rate", exact=True)).to_have_value("4")

    # And with the rate corrected, a new time zone and name, the settings are saved
    settings = page.locator("#settings-form")
    settings.get_by_label("Max late rate", exact=True).fill("0.04")
    settings.get_by_label("Warehouse time zone").fill("America/New_York")
    settings.get_by_label("Name").fill("Night analyst")
    settings.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Night analyst", level=1)).to_be_visible()
    stored = owner.ok("GET", f"/agents/{agent['id']}")
    assert stored["config"]["thresholds"] == {"max_late_rate": 0.04}
    assert stored["config"]["warehouse_timezone"] == "America/New_York"

    # And an SOP named for the late rate, and e-mail added as a tool with its recipients, are saved
    page.locator("#settings-form").get_by_label("Max late rate: read from the SOP").fill("SOP-OUT-04.docx")
    page.locator("#settings-form").get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()
    tools = page.locator("#tools-form")
    tools.get_by_label("Email (email, runs in the cloud)").check()
    tools.get_by_role("button", name="Save tools").click()
    expect(page.locator("#cfg-email-recipients-error")).to_have_text("Recipients: needed with Email.")
    page.locator("#tools-form").get_by_label("Email: recipients").fill("ops@example.com, dock@example.com")
    page.locator("#tools-form").get_by_role("button", name="Save tools").click()
    expect(page.get_by_role("status").filter(has_text="Tools saved.")).to_be_visible()
    stored = owner.ok("GET", f"/agents/{agent['id']}")
    assert stored["config"]["threshold_sources"] == {"max_late_rate": "SOP-OUT-04.docx"}
    assert {t["key"]: t["config"] for t in stored["tools"]}["email"] == {
        "recipients": ["ops@example.com", "dock@example.com"]
    }

    # Then deleting asks first, and answered yes, the agent is gone from the list
    questions: list[str] = []

    def answer_yes(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer_yes)
    page.get_by_role("button", name="Delete agent").click()
    expect(page.get_by_role("status").filter(has_text="The agent was deleted.")).to_be_visible()
    assert questions and "Night analyst" in questions[0]
    assert owner.request("GET", f"/agents/{agent['id']}").status_code == 404
    assert refused == [], "the console's pages need what their Content-Security-Policy refuses"
    context.close()


def test_a_workflow_edited_in_two_tabs_is_saved_from_the_second_after_it_shows_what_changed(
    api_url: str, browser: Any
) -> None:
    # Given an owner with the editor of their agent's weekly workflow open in two tabs
    email = f"tabs-{uuid.uuid4().hex[:10]}@example.com"
    owner = ApiSession(api_url)
    owner.sign_up(email, PASSWORD)
    owner.create_org(f"Tabs {uuid.uuid4().hex[:4]}")
    agent = owner.create_agent()
    key = owner.ok("GET", f"/agents/{agent['id']}/workflows")[0]["key"]
    context, first, refused = _logged_in_page(browser, api_url, email)
    second = context.new_page()
    refused_in_second = _refused_by_the_policy(second)
    edit = f"{api_url}/console/agents/{agent['id']}/workflows/{key}/edit"
    first.goto(edit)
    second.goto(edit)

    # When the first tab saves a new name, and the second then saves a description typed before that
    definition = json.loads(first.get_by_label("Definition (JSON)").input_value())
    first.get_by_label("Definition (JSON)").fill(json.dumps({**definition, "name": "Renamed in tab 1"}, indent=2))
    first.get_by_role("button", name="Save new version").click()
    expect(first.get_by_role("status").filter(has_text="Saved: version 2 is current.")).to_be_visible()
    typed = json.dumps({**definition, "description": "Typed in tab 2"}, indent=2)
    second.get_by_label("Definition (JSON)").fill(typed)
    second.get_by_role("button", name="Save new version").click()

    # Then the second tab says what version 2 changed, keeps the typed text, and saving again adds version 3
    notice = second.locator("#newer-version")
    expect(notice).to_contain_text("Not saved: version 2 was added since you opened this page (on version 1)")
    expect(notice.locator("li")).to_contain_text("/name")
    expect(notice.get_by_role("link", name="Show the changes from v1 to v2")).to_be_visible()
    assert json.loads(second.get_by_label("Definition (JSON)").input_value())["description"] == "Typed in tab 2"
    second.get_by_role("button", name="Save new version").click()
    expect(second.get_by_role("status").filter(has_text="Saved: version 3 is current.")).to_be_visible()
    assert owner.ok("GET", f"/agents/{agent['id']}/workflows/{key}")["definition"]["description"] == "Typed in tab 2"
    assert refused == refused_in_second == [], "the console's pages need what their Content-Security-Policy refuses"
    context.close()


def test_a_key_is_revoked_and_a_document_deleted_in_the_browser_each_after_a_question(
    api_url: str, browser: Any
) -> None:
    # Given an owner on the page of an agent with a key and a document
    email = f"revoke-{uuid.uuid4().hex[:10]}@example.com"
    owner = ApiSession(api_url)
    owner.sign_up(email, PASSWORD)
    owner.create_org(f"Revoke {uuid.uuid4().hex[:4]}")
    agent = owner.create_agent()
    key = owner.ok("POST", f"/agents/{agent['id']}/keys")
    upload = owner.request(
        "POST",
        f"/agents/{agent['id']}/documents",
        files={"file": ("dock-doors.txt", b"Dock doors close at 22:00.")},
        data={"source_type": "SOP"},
    )
    assert upload.status_code == 201, upload.text
    context, page, refused = _logged_in_page(browser, api_url, email)
    page.goto(f"{api_url}/console/agents/{agent['id']}")
    questions: list[str] = []

    def answer_yes(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    # When they revoke the key, answering yes to the question
    page.get_by_text("1 agent key, 1 in use").click()
    page.once("dialog", answer_yes)
    page.get_by_role("button", name=f"Revoke key {key['prefix']}").click()

    # Then the page says so and the API lists the key revoked
    expect(page.get_by_role("status").filter(has_text=f"Key {key['prefix']}… revoked.")).to_be_visible()
    expect(page.get_by_text("1 agent key, 0 in use")).to_be_visible()
    assert key["prefix"] in questions[0] and "within about a minute" in questions[0]
    assert owner.ok("GET", f"/agents/{agent['id']}/keys")[0]["revoked_at"] is not None

    # And deleting the document asks first too, then it leaves the list
    page.once("dialog", answer_yes)
    page.get_by_role("button", name="Delete dock-doors.txt").click()
    expect(page.get_by_role("status").filter(has_text="“dock-doors.txt” deleted")).to_be_visible()
    expect(page.get_by_role("button", name="Delete dock-doors.txt")).to_have_count(0)
    assert "dock-doors.txt" in questions[1]
    assert owner.ok("GET", f"/agents/{agent['id']}/documents") == []
    assert refused == [], "the console's pages need what their Content-Security-Policy refuses"
    context.close()

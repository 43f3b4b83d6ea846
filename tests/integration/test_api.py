"""The REST API against the embedded stack: real PostgreSQL, moto SQS/STS, the app under uvicorn."""

from __future__ import annotations

import uuid

import boto3
import jwt
import pytest
import yaml

from tests.support.api import ApiSession
from tests.support.waiting import wait_until


def test_signup_login_and_me(api_url: str) -> None:
    session = ApiSession(api_url)
    email = f"ana-{uuid.uuid4().hex[:8]}@example.com"
    session.sign_up(email, "a-long-password")

    credentials = {"email": email.upper(), "password": "a-long-password"}
    login = ApiSession(api_url).request("POST", "/auth/login", json=credentials)
    assert login.status_code == 200
    me = session.ok("GET", "/me")
    assert me["user"]["email"] == email
    assert me["organizations"] == []


def test_wrong_password_and_duplicate_signup_are_clear_errors(api_url: str) -> None:
    session = ApiSession(api_url)
    email = f"bo-{uuid.uuid4().hex[:8]}@example.com"
    session.sign_up(email, "a-long-password")

    wrong = ApiSession(api_url).request("POST", "/auth/login", json={"email": email, "password": "nope-nope-nope"})
    again = ApiSession(api_url).request("POST", "/auth/signup", json={"email": email, "password": "another-password"})

    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_tampered_and_missing_tokens_are_rejected(new_user: ApiSession) -> None:
    header, payload, signature = new_user.token.split(".")  # type: ignore[union-attr]
    forged = jwt.encode({"sub": str(uuid.uuid4()), "typ": "access", "exp": 9999999999}, "guess", algorithm="HS256")

    for token in (f"{header}.{payload}.{signature[:-2]}xx", forged):
        response = new_user.request("GET", "/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
    assert ApiSession(new_user.base_url).request("GET", "/me").status_code == 401


def test_logging_out_ends_every_token_issued_before_and_a_new_log_in_works(api_url: str) -> None:
    from tests.support.console import ConsoleSession

    email = f"out-{uuid.uuid4().hex[:8]}@example.com"
    api = ApiSession(api_url)
    api.sign_up(email, "a-long-password")
    console = ConsoleSession(api_url)
    assert console.log_in(email, "a-long-password").status_code == 303
    copied_cookie = dict(console.client.cookies)
    assert console.client.get("/console/orgs").status_code == 200

    assert api.request("POST", "/auth/logout").status_code == 204
    assert api.request("GET", "/me").status_code == 401  # the bearer token that logged out
    stolen = ConsoleSession(api_url)
    stolen.client.cookies.update(copied_cookie)
    assert stolen.client.get("/console/orgs").status_code in (303, 401)  # the console's copy, too

    fresh = ApiSession(api_url)
    fresh.token = fresh.ok("POST", "/auth/login", json={"email": email, "password": "a-long-password"})["access_token"]
    assert fresh.ok("GET", "/me")["user"]["email"] == email
    again = ConsoleSession(api_url)
    assert again.log_in(email, "a-long-password").status_code == 303
    kept = dict(again.client.cookies)
    assert again.post("/console/logout").status_code == 303  # the console's log-out ends them all as well
    replayed = ConsoleSession(api_url)
    replayed.client.cookies.update(kept)
    assert replayed.client.get("/console/orgs").status_code in (303, 401)
    assert fresh.request("GET", "/me").status_code == 401


def test_validation_errors_name_the_field(new_user: ApiSession) -> None:
    response = new_user.request("POST", f"/orgs/{new_user.org_id}/agents", json={"name": ""})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert "name" in response.json()["error"]["message"]


def test_creating_an_agent_creates_its_own_queue(new_user: ApiSession, stack: object) -> None:
    agent = new_user.create_agent()

    sqs = boto3.client("sqs", endpoint_url=stack.info.aws_endpoint_url, region_name="us-east-1")  # type: ignore[attr-defined]
    attributes = sqs.get_queue_attributes(QueueUrl=agent["queue_url"], AttributeNames=["All"])["Attributes"]
    assert agent["queue_url"].endswith(f"phi-dev-agent-{agent['id']}")
    assert "RedrivePolicy" in attributes
    assert new_user.ok("GET", f"/orgs/{new_user.org_id}/agents")[0]["id"] == agent["id"]


def test_agent_config_is_yaml_with_the_cloud_connection_and_no_secrets(new_user: ApiSession) -> None:
    agent = new_user.create_agent()

    response = new_user.request("GET", f"/agents/{agent['id']}/config")
    config = yaml.safe_load(response.text)

    assert response.headers["content-type"].startswith("application/yaml")
    assert "phi-agent-config.yaml" in response.headers["content-disposition"]
    assert config["agent_id"] == agent["id"] and config["org_id"] == new_user.org_id
    assert config["cloud"]["queue_url"] == agent["queue_url"]
    assert [t["key"] for t in config["tools"]] == ["db.query"]
    assert config["workflows"][0]["type"] == "DAILY_WAREHOUSE_REPORT"
    assert "key" not in response.text.lower().replace("key: db.query", "")


@pytest.mark.parametrize(
    "body, message",
    [
        ({"type": "NOPE", "input": {}}, "Unknown task type"),
        ({"type": "DAILY_WAREHOUSE_REPORT", "input": {"date": "yesterday-ish"}}, "date"),
    ],
)
def test_run_task_rejects_bad_input_before_starting_anything(
    new_user: ApiSession, body: dict[str, object], message: str
) -> None:
    agent = new_user.create_agent()
    response = new_user.request("POST", f"/agents/{agent['id']}/run-task", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_another_organisations_ids_answer_404(new_user: ApiSession, api_url: str) -> None:
    # Given a second tenant with an agent and a task
    agent = new_user.create_agent()
    task = new_user.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT"})
    intruder = ApiSession(api_url)
    intruder.sign_up(f"eve-{uuid.uuid4().hex[:8]}@example.com")
    intruder.create_org("Eve Corp")

    # When the intruder uses those ids, then every route answers 404 with the same body as a missing id
    paths = [
        ("GET", f"/orgs/{new_user.org_id}"),
        ("GET", f"/orgs/{new_user.org_id}/agents"),
        ("POST", f"/orgs/{new_user.org_id}/agents"),
        ("GET", f"/agents/{agent['id']}"),
        ("GET", f"/agents/{agent['id']}/config"),
        ("POST", f"/agents/{agent['id']}/run-task"),
        ("POST", f"/agents/{agent['id']}/keys"),
        ("GET", f"/tasks/{task['task_id']}"),
        ("GET", f"/tasks/{uuid.uuid4()}"),
    ]
    for method, path in paths:
        body = {"type": "DAILY_WAREHOUSE_REPORT"} if "run-task" in path else {"name": "x"}
        response = intruder.request(method, path, json=body if method == "POST" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"


def test_agent_key_vends_scoped_credentials_until_revoked(new_user: ApiSession, api_url: str) -> None:
    agent = new_user.create_agent()
    created = new_user.ok("POST", f"/agents/{agent['id']}/keys")
    agent_client = ApiSession(api_url)
    agent_client.token = created["key"]

    credentials = agent_client.ok("POST", "/local-agents/credentials")
    listed = new_user.ok("GET", f"/agents/{agent['id']}/keys")
    revoked = new_user.request("DELETE", f"/agents/{agent['id']}/keys/{created['id']}")
    after_revoke = agent_client.request("POST", "/local-agents/credentials")

    assert credentials["queue_url"] == agent["queue_url"]
    assert credentials["session_token"] and credentials["access_key_id"]
    assert [k["prefix"] for k in listed] == [created["prefix"]] and "key" not in listed[0]
    assert revoked.status_code == 204
    assert after_revoke.status_code == 401


def test_heartbeat_makes_the_local_agent_online_and_a_stop_offline(new_user: ApiSession, api_url: str) -> None:
    agent = new_user.create_agent()
    agent_client = ApiSession(api_url)
    agent_client.token = new_user.ok("POST", f"/agents/{agent['id']}/keys")["key"]
    beat = {"host": "wh-server-1", "pid": 42, "version": "0.1.0", "tools": ["db.query"], "os": "Linux"}

    agent_client.ok("POST", "/local-agents/heartbeat", json={**beat, "status": "ONLINE"})
    online = new_user.ok("GET", f"/agents/{agent['id']}/local-agents")
    agent_client.ok("POST", "/local-agents/heartbeat", json={**beat, "status": "OFFLINE"})
    offline = new_user.ok("GET", f"/orgs/{new_user.org_id}/local-agents")

    assert [(a["host"], a["status"]) for a in online] == [("wh-server-1", "ONLINE")]
    assert [(a["host"], a["status"]) for a in offline] == [("wh-server-1", "OFFLINE")]


def test_platform_admins_see_every_organisations_tasks_and_others_are_refused(
    new_user: ApiSession, api_url: str
) -> None:
    from phi.db.connection import transaction

    agent = new_user.create_agent()
    task = new_user.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT"})
    admin = ApiSession(api_url)
    admin_email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    admin.sign_up(admin_email)
    refused = admin.request("GET", "/admin/tasks")
    with transaction() as conn:
        conn.execute("UPDATE users SET is_platform_admin = true WHERE email = %s", (admin_email,))

    listed = admin.request("GET", "/admin/tasks", params={"org_id": new_user.org_id})

    assert refused.status_code == 403
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [task["task_id"]]
    assert listed.headers["x-total-count"] == "1"


def test_a_task_shows_its_step_functions_history_next_to_its_events(new_user: ApiSession) -> None:
    agent = new_user.create_agent()
    run = new_user.ok("POST", f"/agents/{agent['id']}/run-task", json={"type": "DAILY_WAREHOUSE_REPORT"})

    # The engine records its history as the execution runs: wait until StartTask appears in it
    def history_with_start_task() -> list[dict] | None:
        history = new_user.ok("GET", f"/tasks/{run['task_id']}")["execution_history"]
        return history if history and any(event["state"] == "StartTask" for event in history) else None

    history = wait_until(history_with_start_task, 300, interval=0.5)
    without = new_user.ok("GET", f"/tasks/{run['task_id']}", params={"history": "false"})
    assert history[0]["type"] == "ExecutionStarted"
    assert any(event["state"] == "StartTask" for event in history)
    # A client waiting for the task leaves the history out (each read is a call to the workflow engine)
    assert without["id"] == run["task_id"] and without["events"]
    assert without["execution_history"] is None and without["execution_history_complete"] is None

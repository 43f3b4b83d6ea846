"""GET /metrics: platform administrators only; Prometheus text that a Prometheus parser reads, holding this test's
own tasks, documents, LLM tokens, tool round trips and queue depth (asserted by its own labels only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from prometheus_client.parser import text_string_to_metric_families

from phi.domain.models import LlmCall
from phi.llm.accounting import DbLlmAccounting
from tests.integration.api.tenant_fixtures import insert_document, insert_task, signed_up, sql
from tests.support.api import ApiSession


def platform_admin(api_url: str) -> ApiSession:
    admin = signed_up(api_url, "ops")
    email = admin.ok("GET", "/me")["user"]["email"]
    sql("UPDATE users SET is_platform_admin = true WHERE email = %s", (email,))
    return admin


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> Any:
    return scraped.get((name, frozenset(labels.items())))


def insert_tool_call(task_id: str, org_id: str, tool: str, seconds: float) -> None:
    requested = datetime.now(UTC) - timedelta(minutes=5)
    sql(
        """INSERT INTO tool_calls (task_id, org_id, step, tool, status, requested_at, completed_at)
           VALUES (%s, %s, 1, %s, 'COMPLETED', %s, %s)""",
        (UUID(task_id), UUID(org_id), tool, requested, requested + timedelta(seconds=seconds)),
    )


def test_metrics_are_for_platform_administrators_only(new_user: ApiSession, api_url: str) -> None:
    anonymous = ApiSession(api_url)

    assert anonymous.request("GET", "/metrics").status_code == 401
    assert new_user.request("GET", "/metrics").status_code == 403


def test_metrics_hold_this_organisations_work_in_prometheus_text(new_user: ApiSession, api_url: str) -> None:
    from phi.aws import client
    from phi.services.metrics import queue_depth_cache

    agent = new_user.create_agent()
    org = new_user.org_id
    assert org is not None
    task_type = f"METRICS_{uuid.uuid4().hex[:8].upper()}"
    for status in ("SUCCEEDED", "SUCCEEDED", "FAILED"):
        task_id = insert_task(org, agent["id"], task_type=task_type, status=status)
    sql("UPDATE documents SET status = 'FAILED' WHERE id = %s", (UUID(insert_document(org, None, ["x"])),))
    insert_document(org, agent["id"], ["y"])
    model = f"test-model-{uuid.uuid4().hex[:6]}"
    ledger = DbLlmAccounting(UUID(org), task_id=UUID(task_id))
    for prompt, ok in ((100, True), (0, False), (40, True)):
        ledger.record(
            LlmCall(
                purpose="planning",
                route=f"openai/{model}",
                model=model,
                attempt=1,
                ok=ok,
                prompt_tokens=prompt,
                completion_tokens=10 if ok else 0,
            )
        )
    tool = f"test.tool_{uuid.uuid4().hex[:6]}"
    for seconds in (0.2, 0.7, 3.0, 45.0):
        insert_tool_call(task_id, org, tool, seconds)
    queue_url = sql("SELECT queue_url FROM agents WHERE id = %s", (UUID(agent["id"]),))[0]["queue_url"]
    for n in range(2):
        client("sqs").send_message(QueueUrl=queue_url, MessageBody=f'{{"test": {n}}}')
    queue_depth_cache.clear()
    admin = platform_admin(api_url)

    response = admin.request("GET", "/metrics")
    scraped = samples(response.text)

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert value(scraped, "phi_tasks", org_id=org, status="SUCCEEDED", type=task_type) == 2
    assert value(scraped, "phi_tasks", org_id=org, status="FAILED", type=task_type) == 1
    assert value(scraped, "phi_documents", org_id=org, status="FAILED") == 1
    assert value(scraped, "phi_documents", org_id=org, status="READY") == 1
    llm = {"org_id": org, "model": model, "purpose": "planning"}
    assert value(scraped, "phi_llm_tokens_total", **llm, kind="prompt") == 140
    assert value(scraped, "phi_llm_tokens_total", **llm, kind="completion") == 20
    assert value(scraped, "phi_llm_calls_total", **llm, outcome="ok") == 2
    assert value(scraped, "phi_llm_calls_total", **llm, outcome="failed") == 1
    buckets = {
        le: value(scraped, "phi_tool_round_trip_seconds_bucket", tool=tool, le=le)
        for le in ("0.1", "0.25", "1.0", "5.0", "30.0", "60.0", "+Inf")
    }
    assert buckets == {"0.1": 0, "0.25": 1, "1.0": 2, "5.0": 3, "30.0": 3, "60.0": 4, "+Inf": 4}
    assert value(scraped, "phi_tool_round_trip_seconds_count", tool=tool) == 4
    assert abs(value(scraped, "phi_tool_round_trip_seconds_sum", tool=tool) - 48.9) < 0.01
    assert value(scraped, "phi_agent_queue_messages", org_id=org, agent_id=agent["id"]) == 2

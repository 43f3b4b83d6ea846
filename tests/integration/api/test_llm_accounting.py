"""LLM accounting on the embedded stack: calls kept on their organisation and task (shown by the task API), the
month's usage by model and purpose, and a monthly token budget that only an owner sets and that, once spent,
refuses new LLM work with a clear error."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import pytest

from phi.domain.models import LlmCall
from phi.errors import LlmBudgetExhausted
from phi.llm.accounting import DbLlmAccounting
from tests.conftest import apply_settings
from tests.integration.api.tenant_fixtures import Tenant, insert_task, signed_up
from tests.support.api import ApiSession


def call(model: str, prompt: int, completion: int, *, purpose: str = "analysis", ok: bool = True) -> LlmCall:
    return LlmCall(
        purpose=purpose,
        route=f"openai/{model}",
        model=model,
        attempt=1 if ok else 2,
        ok=ok,
        error=None if ok else "APIConnectionError",
        prompt_tokens=prompt,
        completion_tokens=completion,
        latency_ms=1200,
    )


def test_a_task_shows_the_llm_calls_it_made_with_their_route_tokens_and_latency(new_user: ApiSession) -> None:
    agent = new_user.create_agent()
    assert new_user.org_id is not None
    task_id = insert_task(new_user.org_id, agent["id"], status="RUNNING")
    ledger = DbLlmAccounting(UUID(new_user.org_id), task_id=UUID(task_id), agent_id=UUID(agent["id"]))

    ledger.record(call("primary-model", 0, 0, ok=False))
    ledger.record(call("backup-model", 120, 30))
    task = new_user.ok("GET", f"/tasks/{task_id}")

    assert [(c["model"], c["ok"], c["prompt_tokens"], c["completion_tokens"]) for c in task["llm_calls"]] == [
        ("primary-model", False, 0, 0),
        ("backup-model", True, 120, 30),
    ]
    assert task["llm_calls"][0]["error"] == "APIConnectionError" and task["llm_calls"][1]["latency_ms"] == 1200
    messages = [e["message"] for e in task["events"] if e["type"] == "LLM_CALLED"]
    assert messages == [
        "LLM analysis: openai/primary-model failed (APIConnectionError) after 1.2 s",
        "LLM analysis: openai/backup-model, 150 tokens, 1.2 s",
    ]


def test_another_organisations_task_shows_none_of_these_calls(new_user: ApiSession, api_url: str) -> None:
    agent = new_user.create_agent()
    assert new_user.org_id is not None
    task_id = insert_task(new_user.org_id, agent["id"])
    DbLlmAccounting(UUID(new_user.org_id), task_id=UUID(task_id)).record(call("m", 1, 1))
    stranger = signed_up(api_url, "stranger")
    stranger.create_org("Stranger Ltd")

    assert stranger.request("GET", f"/tasks/{task_id}").status_code == 404
    assert stranger.request("GET", f"/orgs/{new_user.org_id}/llm-usage").status_code == 404


def test_once_the_monthly_budget_is_spent_new_llm_work_is_refused(new_user: ApiSession) -> None:
    assert new_user.org_id is not None
    org = UUID(new_user.org_id)
    ledger = DbLlmAccounting(org)
    new_user.ok("PUT", f"/orgs/{org}/llm-budget", json={"monthly_token_budget": 1000})
    ledger.record(call("gpt-4o-mini", 600, 100))
    ledger.before_call("analysis")  # 700 of 1000: still allowed

    ledger.record(call("gpt-4o-mini", 250, 50, purpose="planning"))
    with pytest.raises(LlmBudgetExhausted) as refused:
        ledger.before_call("classification")
    usage = new_user.ok("GET", f"/orgs/{org}/llm-usage")

    assert "monthly LLM token budget is spent (1,000 of 1,000 tokens used)" in refused.value.message
    assert refused.value.details["retry_after_seconds"] > 0
    assert (usage["used_tokens"], usage["remaining_tokens"], usage["exhausted"]) == (1000, 0, True)
    assert [(r["purpose"], r["prompt_tokens"], r["completion_tokens"]) for r in usage["by_model_and_purpose"]] == [
        ("analysis", 600, 100),
        ("planning", 250, 50),
    ]

    # An owner raises the budget (or removes it) and LLM work goes on
    new_user.ok("PUT", f"/orgs/{org}/llm-budget", json={"monthly_token_budget": 5000})
    ledger.before_call("classification")
    removed = new_user.ok("PUT", f"/orgs/{org}/llm-budget", json={"monthly_token_budget": None})
    assert removed["monthly_token_budget"] is None and removed["exhausted"] is False


def test_only_an_owner_sets_the_budget(victim: Tenant) -> None:
    path = f"/orgs/{victim.org_id}/llm-budget"

    by_admin = victim.admin.request("PUT", path, json={"monthly_token_budget": 1})
    by_member = victim.member.request("PUT", path, json={"monthly_token_budget": 1})
    negative = victim.owner.request("PUT", path, json={"monthly_token_budget": -1})

    assert (by_admin.status_code, by_member.status_code, negative.status_code) == (403, 403, 422)
    assert victim.member.ok("GET", f"/orgs/{victim.org_id}/llm-usage")["monthly_token_budget"] is None


def test_a_spent_budget_leaves_the_profile_to_the_template_and_says_so(
    new_user: ApiSession, tmp_path: Path, settings_override: dict[str, str]
) -> None:
    agent = new_user.create_agent()
    script = tmp_path / "llm.json"
    script.write_text(json.dumps({"profile": ['{"never": "used"}']}))
    settings_override.update({"PHI_LLM_PROVIDER": "scripted", "PHI_SCRIPTED_LLM_FILE": str(script)})
    apply_settings(settings_override)
    new_user.ok("PUT", f"/orgs/{new_user.org_id}/llm-budget", json={"monthly_token_budget": 0})

    generated = new_user.ok("POST", f"/agents/{agent['id']}/generate-profile")

    assert generated["generated_by"] == "template"
    assert generated["notice"].startswith("The organisation's monthly LLM token budget is spent (0 of 0 tokens used)")
    assert generated["notice"].endswith("The profile was built from the role template.")
    assert "seen" not in json.loads(script.read_text())  # the model was never asked

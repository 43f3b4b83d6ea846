"""POST /agents/{id}/generate-profile: from the role template without an LLM; through the (scripted) profile
LLM with the organisation's own document chunks, never another organisation's."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import apply_settings
from tests.integration.api.tenant_fixtures import insert_document, signed_up
from tests.support.api import ApiSession
from tests.support.fake_openai import wrong_key_server

LLM_PROFILE = {
    "system_prompt": "You are the Leeds DC warehouse analyst. Report daily KPIs and cite the SOPs precisely.",
    "capabilities": ["Compute daily KPIs", "Cite SOPs"],
    "example_workflows": [{"name": "Daily report", "trigger": "07:00 UTC", "steps": ["Fetch", "Compute", "Write"]}],
    "tool_usage_rules": ["db.query is read-only"],
    "safety_constraints": ["Never invent numbers"],
}


def test_without_an_llm_the_profile_comes_from_the_role_template(new_user: ApiSession) -> None:
    agent = new_user.create_agent(name="Leeds analyst")

    generated = new_user.ok("POST", f"/agents/{agent['id']}/generate-profile")
    saved = new_user.ok("GET", f"/agents/{agent['id']}")

    assert generated["generated_by"] == "template" and "No LLM" in generated["notice"]
    assert generated["profile"]["capabilities"][0] == "Compute daily warehouse KPIs"
    assert generated["profile"]["example_workflows"][0]["trigger"] == "Schedule 0 7 * * * (UTC)"
    assert "Leeds analyst" in generated["profile"]["system_prompt"]
    assert saved["system_prompt"] == generated["profile"]["system_prompt"]
    assert saved["config"]["profile"]["generated_by"] == "template"
    assert saved["config"]["workflows"] == agent["config"]["workflows"]


def test_the_profile_llm_sees_this_organisations_documents_only(
    new_user: ApiSession, api_url: str, tmp_path: Path, settings_override: dict[str, str]
) -> None:
    agent = new_user.create_agent()
    assert new_user.org_id is not None
    insert_document(new_user.org_id, agent["id"], ["Late orders above 5% must be escalated to the shift lead."])
    insert_document(new_user.org_id, None, ["Forklifts are inspected every morning."], source_type="POLICY")
    stranger = signed_up(api_url, "stranger")
    stranger_org = stranger.create_org("Stranger Ltd")
    insert_document(stranger_org, None, ["SECRET-OF-ANOTHER-TENANT"])
    script = tmp_path / "llm.json"
    script.write_text(json.dumps({"profile": [f"```json\n{json.dumps(LLM_PROFILE)}\n```"]}))
    settings_override.update({"PHI_LLM_PROVIDER": "scripted", "PHI_SCRIPTED_LLM_FILE": str(script)})
    apply_settings(settings_override)

    generated = new_user.ok(
        "POST", f"/agents/{agent['id']}/generate-profile", json={"instructions": "Two shifts; focus on late orders."}
    )

    prompt = json.loads(script.read_text())["seen"][0]["messages"][1]["content"]
    assert generated["generated_by"] == "llm" and generated["model"] == "scripted"
    assert generated["profile"] == LLM_PROFILE
    assert generated["document_chunks_used"] == 2
    assert "escalated to the shift lead" in prompt and "inspected every morning" in prompt
    assert "Two shifts" in prompt and "warehouse_analyst" in prompt
    assert "SECRET-OF-ANOTHER-TENANT" not in prompt
    assert new_user.ok("GET", f"/agents/{agent['id']}")["system_prompt"] == LLM_PROFILE["system_prompt"]


def test_an_unusable_llm_answer_falls_back_to_the_template_and_says_why(
    new_user: ApiSession, tmp_path: Path, settings_override: dict[str, str]
) -> None:
    agent = new_user.create_agent()
    script = tmp_path / "llm.json"
    script.write_text(json.dumps({"profile": ['{"system_prompt": "too short"}']}))
    settings_override.update({"PHI_LLM_PROVIDER": "scripted", "PHI_SCRIPTED_LLM_FILE": str(script)})
    apply_settings(settings_override)

    generated = new_user.ok("POST", f"/agents/{agent['id']}/generate-profile")

    assert generated["generated_by"] == "template"
    assert "profile schema" in generated["notice"] and "system_prompt" in generated["notice"]


KEY = "sk-abcd1234EFGH5678ijkl9012MNOP3456qrst7890UVWXyz"


def test_a_provider_error_is_named_by_kind_and_status_in_the_notice(
    new_user: ApiSession, settings_override: dict[str, str]
) -> None:
    with wrong_key_server() as base_url:
        settings_override.update(
            {"PHI_LLM_PROVIDER": "openai", "PHI_OPENAI_API_KEY": KEY, "PHI_OPENAI_BASE_URL": base_url}
        )
        apply_settings(settings_override)
        agent = new_user.create_agent()
        generated = new_user.ok("POST", f"/agents/{agent['id']}/generate-profile")

    assert generated["generated_by"] == "template"
    assert "(AuthenticationError (HTTP 401))" in generated["notice"]
    assert KEY[:8] not in json.dumps(generated) and "Incorrect API key" not in generated["notice"]

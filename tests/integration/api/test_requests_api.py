"""Requests to an agent through the API (DESIGN §9): lanes (caller, rules, scripted LLM), refusals kept and
explained, the patch lane's proposals (approve → new version with source 'patch', reject, stale base refused
until rebased, concurrent approvals on the same base: exactly one wins), tenancy."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from tests.conftest import apply_settings
from tests.integration.api.tenant_fixtures import signed_up, sql
from tests.integration.api.test_workflows_api import DEFINITION
from tests.support.api import ApiSession
from tests.support.invitations import invite_and_accept
from tests.support.waiting import wait_until

RENAME = [{"op": "replace", "path": "/name", "value": "Late shipments per carrier"}]
NEW_SQL = [{"op": "replace", "path": "/nodes/0/settings/sql",
            "value": "SELECT carrier, promised_at, shipped_at FROM shp WHERE promised_at >= :start"}]  # fmt: skip


def _agent_with_workflow(session: ApiSession) -> dict[str, Any]:
    agent = session.create_agent()
    session.ok("POST", f"/agents/{agent['id']}/workflows", json={"definition": DEFINITION})
    return agent


def _propose(session: ApiSession, agent: dict[str, Any], patch: list[dict[str, Any]], prompt: str = "x") -> Any:
    body = {"prompt": prompt, "patch": patch, "workflow": "late_by_carrier"}
    return session.ok("POST", f"/agents/{agent['id']}/requests", json=body)


def test_without_an_llm_or_a_pipeline_the_request_is_refused_in_words_and_kept(new_user: ApiSession) -> None:
    agent = new_user.create_agent()

    refused = new_user.request("POST", f"/agents/{agent['id']}/requests", json={"prompt": "show me top 10 orders"})
    listed = new_user.ok("GET", f"/agents/{agent['id']}/requests")

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "llm_required"
    assert "needs an LLM" in error["message"] and "pipeline" in error["message"]
    kept = new_user.ok("GET", f"/agents/{agent['id']}/requests/{error['details']['request_id']}")
    assert kept["status"] == "REFUSED" and kept["outcome"] == "refused"
    assert kept["decision"]["source"] == "rules" and kept["decision"]["lane"] == "execute"
    assert kept["decision"]["reason"].startswith("Rule-based")
    assert kept["refusal"]["code"] == "llm_required"
    assert [r["id"] for r in listed] == [kept["id"]]


def test_a_standing_instruction_goes_to_the_patch_lane_and_needs_a_patch_without_an_llm(
    new_user: ApiSession,
) -> None:
    agent = _agent_with_workflow(new_user)

    refused = new_user.request(
        "POST", f"/agents/{agent['id']}/requests", json={"prompt": "whenever a carrier is late, notify ops"}
    )

    assert refused.status_code == 400 and refused.json()["error"]["code"] == "llm_required"
    assert "patch lane" in refused.json()["error"]["message"]
    kept = new_user.ok("GET", f"/agents/{agent['id']}/requests/{refused.json()['error']['details']['request_id']}")
    assert kept["lane"] == "patch" and "'whenever'" in kept["decision"]["reason"]


def test_a_patch_becomes_a_proposal_then_a_new_version_with_source_patch(new_user: ApiSession) -> None:
    agent = _agent_with_workflow(new_user)
    base = f"/agents/{agent['id']}"

    request = _propose(new_user, agent, NEW_SQL, "our shipments table is called shp")
    proposal = new_user.ok("GET", f"{base}/proposals/{request['proposal_id']}")

    assert request["lane"] == "patch" and request["lane_source"] == "caller" and request["status"] == "PENDING"
    assert proposal["base_version"] == 1 and proposal["stale"] is False and proposal["workflow"] == "late_by_carrier"
    assert proposal["summary"] == "Changes settings.sql of node shipments."
    assert proposal["changes"][0]["path"] == "/nodes/shipments/settings/sql"
    assert new_user.ok("GET", f"{base}/workflows/late_by_carrier")["current_version"] == 1, "nothing applied yet"

    approved = new_user.ok("POST", f"{base}/proposals/{proposal['id']}/approve", json={"reason": "renamed table"})
    workflow = new_user.ok("GET", f"{base}/workflows/late_by_carrier")

    assert approved["status"] == "APPROVED" and approved["applied_version"] == 2
    assert workflow["current_version"] == 2 and workflow["version"]["source"] == "patch"
    assert workflow["version"]["based_on"] == 1 and workflow["version"]["reason"] == "renamed table"
    assert workflow["definition"]["nodes"][0]["settings"]["sql"].endswith("FROM shp WHERE promised_at >= :start")
    assert new_user.ok("GET", f"{base}/requests/{request['id']}")["status"] == "APPROVED"
    again = new_user.request("POST", f"{base}/proposals/{proposal['id']}/approve")
    assert again.status_code == 409 and "already approved" in again.json()["error"]["message"]


def test_invalid_patches_are_refused_with_the_problem_and_kept(new_user: ApiSession) -> None:
    agent = _agent_with_workflow(new_user)
    base = f"/agents/{agent['id']}/requests"

    key = "late_by_carrier"
    bad_path = new_user.request(
        "POST", base, json={"prompt": "x", "workflow": key, "patch": [{"op": "remove", "path": "/nodes/9"}]}
    )
    bad_result = new_user.request(
        "POST", base, json={"prompt": "x", "workflow": key, "patch": [{"op": "remove", "path": "/nodes/0"}]}
    )
    no_tool = new_user.request(
        "POST",
        base,
        json={"prompt": "x", "workflow": key,
              "patch": [{"op": "replace", "path": "/nodes/0/settings/tool", "value": "file.read"}]},
    )  # fmt: skip

    assert bad_path.status_code == 400 and bad_path.json()["error"]["code"] == "invalid_patch"
    assert "Operation 1 (remove /nodes/9) does not apply" in bad_path.json()["error"]["message"]
    assert bad_result.status_code == 400
    assert "would not be valid" in bad_result.json()["error"]["message"]
    assert {"node": None, "field": "edges[0].from", "message": "no node has the id 'shipments'"} in bad_result.json()[
        "error"
    ]["details"]["errors"]
    assert no_tool.status_code == 400
    statuses = [r["status"] for r in new_user.ok("GET", base)]
    assert statuses == ["REFUSED", "REFUSED", "REFUSED"]
    assert new_user.ok("GET", f"/agents/{agent['id']}/proposals") == []


def test_a_proposal_on_an_older_version_is_refused_until_rebased(new_user: ApiSession) -> None:
    agent = _agent_with_workflow(new_user)
    base = f"/agents/{agent['id']}"
    first = _propose(new_user, agent, RENAME)["proposal_id"]
    second = _propose(new_user, agent, NEW_SQL)["proposal_id"]
    new_user.ok("POST", f"{base}/proposals/{first}/approve")

    stale = new_user.request("POST", f"{base}/proposals/{second}/approve")
    listed = new_user.ok("GET", f"{base}/proposals", params={"status": "PENDING"})
    rebased = new_user.ok("POST", f"{base}/proposals/{second}/rebase")
    approved = new_user.ok("POST", f"{base}/proposals/{second}/approve")
    workflow = new_user.ok("GET", f"{base}/workflows/late_by_carrier")

    assert stale.status_code == 409
    message = stale.json()["error"]["message"]
    assert "made against version 1" in message and "at version 2 now" in message and "rebase" in message
    assert [(p["id"], p["stale"]) for p in listed] == [(second, True)]
    assert rebased["base_version"] == 2 and rebased["rebased_from"] == 1 and rebased["stale"] is False
    assert approved["applied_version"] == 3
    assert workflow["definition"]["name"] == "Late shipments per carrier", "the first change is kept"
    # a page past the last one is empty and still counts them all, for the agent and for the organisation
    for path in (f"{base}/proposals", f"/orgs/{new_user.org_id}/proposals"):
        past = new_user.request("GET", path, params={"offset": 5})
        assert past.json() == [] and past.headers["x-total-count"] == "2", path
    assert "FROM shp" in workflow["definition"]["nodes"][0]["settings"]["sql"]


def test_an_approval_of_what_was_reviewed_is_refused_once_someone_rebased_it(new_user: ApiSession) -> None:
    agent = _agent_with_workflow(new_user)
    base = f"/agents/{agent['id']}"
    first = _propose(new_user, agent, RENAME)["proposal_id"]
    second = _propose(new_user, agent, NEW_SQL)["proposal_id"]
    reviewed = new_user.ok("GET", f"{base}/proposals/{second}")  # the reviewer reads it against version 1
    new_user.ok("POST", f"{base}/proposals/{first}/approve")
    new_user.ok("POST", f"{base}/proposals/{second}/rebase")  # another admin: now the patch on version 2

    refused = new_user.request(
        "POST", f"{base}/proposals/{second}/approve", json={"base_version": reviewed["base_version"]}
    )
    still = new_user.ok("GET", f"{base}/proposals/{second}")
    approved = new_user.ok("POST", f"{base}/proposals/{second}/approve", json={"base_version": 2})

    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert "rebased since you reviewed it" in error["message"] and "version 2" in error["message"]
    assert error["details"] == {"reviewed_base_version": 1, "base_version": 2}
    assert still["status"] == "PENDING"
    assert approved["status"] == "APPROVED" and approved["applied_version"] == 3


def test_a_rebase_that_no_longer_applies_is_refused_in_words(new_user: ApiSession) -> None:
    agent = _agent_with_workflow(new_user)
    base = f"/agents/{agent['id']}"
    remove = _propose(new_user, agent, [{"op": "remove", "path": "/inputs"},
                                        {"op": "replace", "path": "/nodes/0/settings/params/start",
                                         "value": "2026-01-01"}])["proposal_id"]  # fmt: skip
    test_inputs = _propose(new_user, agent, [{"op": "test", "path": "/inputs/date/type", "value": "date"},
                                             *RENAME])["proposal_id"]  # fmt: skip
    new_user.ok("POST", f"{base}/proposals/{remove}/approve")

    refused = new_user.request("POST", f"{base}/proposals/{test_inputs}/rebase")
    rejected = new_user.ok("POST", f"{base}/proposals/{test_inputs}/reject", json={"reason": "obsolete"})

    assert refused.status_code == 409
    assert "no longer applies to version 2" in refused.json()["error"]["message"]
    assert rejected["status"] == "REJECTED" and rejected["decision_reason"] == "obsolete"


def test_a_member_proposes_but_only_owners_and_admins_decide(new_user: ApiSession, api_url: str) -> None:
    agent = _agent_with_workflow(new_user)
    member = signed_up(api_url, "member")
    invite_and_accept(new_user, str(new_user.org_id), member, "MEMBER")
    proposal = _propose(member, agent, RENAME)["proposal_id"]

    refused = member.request("POST", f"/agents/{agent['id']}/proposals/{proposal}/approve")

    assert refused.status_code == 403
    assert new_user.ok("POST", f"/agents/{agent['id']}/proposals/{proposal}/approve")["status"] == "APPROVED"


def test_another_organisation_sees_404_for_requests_and_proposals(new_user: ApiSession, api_url: str) -> None:
    agent = _agent_with_workflow(new_user)
    request = _propose(new_user, agent, RENAME)
    intruder = signed_up(api_url, "intruder")
    intruder.create_org("Intruder")
    own_agent = intruder.create_agent()

    paths = [
        f"/agents/{agent['id']}/requests/{request['id']}",
        f"/agents/{own_agent['id']}/requests/{request['id']}",
        f"/agents/{own_agent['id']}/proposals/{request['proposal_id']}",
    ]
    assert [intruder.request("GET", p).status_code for p in paths] == [404, 404, 404]
    approve = intruder.request("POST", f"/agents/{own_agent['id']}/proposals/{request['proposal_id']}/approve")
    assert approve.status_code == 404
    assert intruder.ok("GET", f"/orgs/{intruder.org_id}/proposals") == []
    assert [p["id"] for p in new_user.ok("GET", f"/orgs/{new_user.org_id}/proposals")] == [request["proposal_id"]]


def test_concurrent_approvals_of_two_proposals_on_the_same_base_exactly_one_wins(new_user: ApiSession) -> None:
    """Two transactions really overlap: the first approval holds its transaction open until the second is seen
    waiting on PostgreSQL's row lock; then the first commits and the second is refused."""
    from phi.db import agents as agents_repo
    from phi.db.connection import transaction
    from phi.errors import Conflict
    from phi.services import proposals
    from phi.services.proposals import Decision

    agent = _agent_with_workflow(new_user)
    first = UUID(_propose(new_user, agent, RENAME)["proposal_id"])
    second = UUID(_propose(new_user, agent, NEW_SQL)["proposal_id"])
    owner = UUID(new_user.ok("GET", "/me")["user"]["id"])
    org, agent_id = UUID(agent["org_id"]), UUID(agent["id"])
    second_pid: list[int] = []
    first_done = threading.Event()

    def approve_first() -> int:
        with transaction() as conn:
            loaded = agents_repo.get_agent_in_org(conn, agent_id, org)
            assert loaded is not None
            view = proposals.approve(conn, loaded, first, owner, Decision())
            first_done.set()
            wait_until(lambda: bool(second_pid) and _waiting_on_lock(second_pid[0]), timeout=30)
            return view.applied_version or 0

    def approve_second() -> str:
        first_done.wait(30)
        try:
            with transaction() as conn:
                second_pid.append(conn.info.backend_pid)
                loaded = agents_repo.get_agent_in_org(conn, agent_id, org)
                assert loaded is not None
                proposals.approve(conn, loaded, second, owner, Decision())
        except Conflict as refused:
            return refused.message
        return "approved"

    with ThreadPoolExecutor(max_workers=2) as pool:
        winner, loser = pool.submit(approve_first), pool.submit(approve_second)
        applied, refusal = winner.result(timeout=60), loser.result(timeout=60)

    assert applied == 2
    assert "made against version 1" in refusal and "at version 2 now" in refusal
    versions = new_user.ok("GET", f"/agents/{agent['id']}/workflows/late_by_carrier/versions")
    assert [v["version"] for v in versions] == [2, 1]
    statuses = {p["id"]: p["status"] for p in new_user.ok("GET", f"/agents/{agent['id']}/proposals")}
    assert statuses == {str(first): "APPROVED", str(second): "PENDING"}


def _waiting_on_lock(pid: int) -> bool:
    rows = sql("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,))
    return bool(rows) and rows[0]["wait_event_type"] == "Lock"


def test_concurrent_approvals_over_http_exactly_one_wins(new_user: ApiSession) -> None:
    agent = _agent_with_workflow(new_user)
    ids = [_propose(new_user, agent, [{"op": "replace", "path": "/name", "value": f"Name {i}"}])["proposal_id"]
           for i in range(4)]  # fmt: skip
    sessions = []
    for _ in ids:
        session = ApiSession(new_user.base_url)
        session.token = new_user.token
        sessions.append(session)

    def approve(index: int) -> int:
        return sessions[index].request("POST", f"/agents/{agent['id']}/proposals/{ids[index]}/approve").status_code

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        codes = list(pool.map(approve, range(len(ids))))

    assert sorted(codes) == [200, 409, 409, 409]
    assert new_user.ok("GET", f"/agents/{agent['id']}/workflows/late_by_carrier")["current_version"] == 2


# --- the scripted LLM (FOR TESTS ONLY) drives classification and planning ------------------------------------------


def _script(tmp_path: Path, settings_override: dict[str, str], answers: dict[str, list[str]]) -> Path:
    script = tmp_path / "llm.json"
    script.write_text(json.dumps(answers))
    settings_override.update({"PHI_LLM_PROVIDER": "scripted", "PHI_SCRIPTED_LLM_FILE": str(script)})
    apply_settings(settings_override)
    return script


def test_the_llm_classifies_and_writes_the_patch(
    new_user: ApiSession, tmp_path: Path, settings_override: dict[str, str]
) -> None:
    agent = _agent_with_workflow(new_user)
    patch_answer = {"workflow": "late_by_carrier", "patch": RENAME, "explanation": "Renames the workflow."}
    script = _script(
        tmp_path,
        settings_override,
        {
            "classification": [json.dumps({"lane": "patch", "confidence": 0.93, "reason": "a standing rename"})],
            "planning": [f"```json\n{json.dumps(patch_answer)}\n```"],
        },
    )

    request = new_user.ok("POST", f"/agents/{agent['id']}/requests", json={"prompt": "call it per carrier"})
    proposal = new_user.ok("GET", f"/agents/{agent['id']}/proposals/{request['proposal_id']}")
    view = new_user.ok("GET", f"/agents/{agent['id']}/requests/{request['id']}")

    seen = json.loads(script.read_text())["seen"]
    assert [s["purpose"] for s in seen] == ["classification", "planning"]
    assert (
        "late_by_carrier" in seen[1]["messages"][0]["content"] and '"local_tool"' in seen[1]["messages"][0]["content"]
    )
    assert view["decision"] == {"lane": "patch", "source": "llm", "confidence": 0.93, "reason": "a standing rename"}
    assert proposal["explanation"] == "Renames the workflow." and proposal["summary"] == "Changes the name."
    assert view["metadata"]["model"] == "scripted" and len(view["metadata"]["llm_calls"]) == 2


def test_an_unusable_classification_falls_back_to_the_rules_and_says_so(
    new_user: ApiSession, tmp_path: Path, settings_override: dict[str, str]
) -> None:
    agent = new_user.create_agent()
    _script(tmp_path, settings_override, {"classification": ['{"lane": "maybe"}'], "planning": ["not json"]})

    refused = new_user.request("POST", f"/agents/{agent['id']}/requests", json={"prompt": "show me the backlog"})

    assert refused.status_code == 400
    assert "could not plan a pipeline" in refused.json()["error"]["message"]
    kept = new_user.ok("GET", f"/agents/{agent['id']}/requests/{refused.json()['error']['details']['request_id']}")
    assert kept["decision"]["source"] == "rules"
    assert "the model's answer could not be used" in kept["decision"]["reason"]


def test_the_llm_plans_a_pipeline_that_runs_as_an_ad_hoc_task(
    new_user: ApiSession, tmp_path: Path, settings_override: dict[str, str]
) -> None:
    agent = new_user.create_agent()
    answer = {"id": "answer", "kind": "llm", "settings": {"prompt": "Sum up", "context": ["sops"]}}
    plan = {"definition": {"nodes": [{"id": "sops", "kind": "search_docs", "settings": {"query": "late carriers"}},
                                     answer], "edges": [["sops", "answer"]], "output": "sops"},
            "explanation": "Searches the SOPs."}  # fmt: skip
    script = _script(tmp_path, settings_override, {"planning": [json.dumps(plan)], "analysis": ["Nothing found."]})

    request = new_user.ok(
        "POST", f"/agents/{agent['id']}/requests", json={"prompt": "what do our SOPs say?", "lane": "execute"}
    )
    task = new_user.wait_for_task(str(request["task_id"]), timeout=120)
    view = new_user.ok("GET", f"/agents/{agent['id']}/requests/{request['id']}")

    assert json.loads(script.read_text())["seen"][0]["purpose"] == "planning"
    assert task["status"] == "SUCCEEDED" and task["type"] == "AD_HOC" and task["trigger"] == "request"
    assert view["pipeline"]["key"] == "ad_hoc" and view["pipeline"]["name"] == "what do our SOPs say?"
    assert view["result"]["value"]["query"] == "late carriers" and view["status"] == "SUCCEEDED"
    assert [c["purpose"] for c in view["metadata"]["llm_calls"]] == ["planning", "analysis"]
    assert view["metadata"]["model"] == "scripted"


def test_a_planned_pipeline_that_does_not_validate_is_refused_with_its_problems(
    new_user: ApiSession, tmp_path: Path, settings_override: dict[str, str]
) -> None:
    agent = new_user.create_agent()
    plan = {"definition": {"nodes": [{"id": "x", "kind": "local_tool", "settings": {"tool": "cctv.snapshot"}}]}}
    _script(tmp_path, settings_override, {"planning": [json.dumps(plan)]})

    refused = new_user.request("POST", f"/agents/{agent['id']}/requests", json={"prompt": "p", "lane": "execute"})

    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_definition"
    assert refused.json()["error"]["message"].startswith("The planned pipeline is not valid")
    assert refused.json()["error"]["details"]["errors"][0]["field"] == "nodes[0].settings.tool"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"pipeline": {"nodes": []}, "patch": RENAME}, "not both"),
        ({"lane": "patch", "pipeline": {"nodes": []}}, "belongs to the execute lane"),
        ({"pipeline": {"schedule": {"cron": "0 7 * * *"}, "nodes": []}}, "no schedule"),
    ],
)
def test_requests_that_contradict_themselves_are_refused(
    new_user: ApiSession, body: dict[str, Any], words: str
) -> None:
    agent = _agent_with_workflow(new_user)
    refused = new_user.request("POST", f"/agents/{agent['id']}/requests", json={"prompt": "p", **body})
    assert refused.status_code == 400 and words in refused.json()["error"]["message"], refused.text
    # kept, as every refused request is, and named in the answer
    kept = new_user.ok("GET", f"/agents/{agent['id']}/requests/{refused.json()['error']['details']['request_id']}")
    assert kept["outcome"] == "refused" and words in kept["refusal"]["message"]


def test_a_patch_must_name_its_workflow_when_the_agent_has_several(new_user: ApiSession) -> None:
    agent = _agent_with_workflow(new_user)  # its role's template workflow, and late_by_carrier
    keys = [w["key"] for w in new_user.ok("GET", f"/agents/{agent['id']}/workflows")]

    refused = new_user.request("POST", f"/agents/{agent['id']}/requests", json={"prompt": "p", "patch": RENAME})
    unknown = new_user.request(
        "POST", f"/agents/{agent['id']}/requests", json={"prompt": "p", "patch": RENAME, "workflow": "nope"}
    )

    assert len(keys) >= 2
    assert refused.status_code == 400 and "name one with `workflow`" in refused.json()["error"]["message"]
    assert unknown.status_code == 404 and "no workflow 'nope'" in unknown.json()["error"]["message"]


def test_a_disabled_agent_refuses_a_pipeline_and_the_refusal_is_kept(new_user: ApiSession) -> None:
    agent = new_user.create_agent()
    new_user.ok("PATCH", f"/agents/{agent['id']}", json={"status": "DISABLED"})
    pipeline = {"nodes": [{"id": "sops", "kind": "search_docs", "settings": {"query": "late"}}]}

    refused = new_user.request("POST", f"/agents/{agent['id']}/requests", json={"prompt": "p", "pipeline": pipeline})

    assert refused.status_code == 409 and "disabled" in refused.json()["error"]["message"]
    kept = new_user.ok("GET", f"/agents/{agent['id']}/requests/{refused.json()['error']['details']['request_id']}")
    assert kept["status"] == "REFUSED" and kept["task_id"] is None


def _nested_json(depth: int) -> str:
    return '{"a":' * depth + "{}" + "}" * depth  # 3.5 KB at 500 levels; JSON parsing accepts it


def test_a_patch_value_nested_too_deep_is_a_400_naming_the_place_and_kept(new_user: ApiSession) -> None:
    agent = _agent_with_workflow(new_user)
    body = (
        '{"prompt": "x", "workflow": "late_by_carrier", '
        f'"patch": [{{"op": "add", "path": "/nodes/-", "value": {_nested_json(500)}}}]}}'
    )

    refused = new_user.request(
        "POST", f"/agents/{agent['id']}/requests", content=body, headers={"content-type": "application/json"}
    )

    assert refused.status_code == 400, refused.text[:300]
    error = refused.json()["error"]
    assert error["code"] == "invalid_patch"
    assert (
        "Operation 1 (add /nodes/-): its value is nested deeper than 96 levels (at patch[0].value.a.a."
        in (error["message"])
    )
    kept = new_user.ok("GET", f"/agents/{agent['id']}/requests/{error['details']['request_id']}")
    assert kept["status"] == "REFUSED" and kept["refusal"]["code"] == "invalid_patch"


@pytest.mark.parametrize("place", ["pipeline", "input"])
def test_a_pipeline_or_input_nested_too_deep_is_a_400_naming_the_place(new_user: ApiSession, place: str) -> None:
    agent = new_user.create_agent()
    payload = f', "payload": {_nested_json(500)}' if place == "pipeline" else ""
    pipeline = (
        '{"inputs": {"top": {"type": "integer"}}, "nodes": [{"id": "mail", "kind": "notify", "settings": '
        f'{{"channel": "webhook", "url": "https://hooks.example.com/x", "body": "b"{payload}}}}}]}}'
    )
    task_input = f'{{"top": {_nested_json(500)}}}' if place == "input" else "{}"
    body = f'{{"prompt": "x", "pipeline": {pipeline}, "input": {task_input}}}'

    refused = new_user.request(
        "POST", f"/agents/{agent['id']}/requests", content=body, headers={"content-type": "application/json"}
    )

    assert refused.status_code == 400, refused.text[:300]
    error = refused.json()["error"]
    field = "nodes[0].settings.payload.a.a.a.a…" if place == "pipeline" else "top.a.a.a.a.a.a.a…"
    assert {"node": None, "field": field, "message": "nested deeper than 96 levels"} in error["details"]["errors"]


def test_a_plan_with_text_postgresql_cannot_keep_becomes_a_proposal(
    new_user: ApiSession, tmp_path: Path, settings_override: dict[str, str]
) -> None:
    """The model's JSON may hold text PostgreSQL cannot store (a lone surrogate half, NUL): it is kept as U+FFFD,
    as any text read from outside is — not a failure at the INSERT that loses the request and blames the
    person's own."""
    agent = _agent_with_workflow(new_user)
    explanation = '"Renames \\ud800 it\\u0000."'  # JSON escapes: a lone surrogate half and NUL
    answer = f'{{"workflow": "late_by_carrier", "patch": {json.dumps(RENAME)}, "explanation": {explanation}}}'
    _script(tmp_path, settings_override, {"planning": [answer]})

    request = new_user.ok("POST", f"/agents/{agent['id']}/requests", json={"prompt": "rename", "lane": "patch"})

    proposal = new_user.ok("GET", f"/agents/{agent['id']}/proposals/{request['proposal_id']}")
    assert proposal["explanation"] == "Renames \ufffd it\ufffd."

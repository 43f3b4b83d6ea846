"""The whole task loop on the embedded stack: the real ASL under moto's interpreter, the real handlers, real
PostgreSQL, and the local agent as a separate process querying a real SQLite warehouse database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import apply_settings
from tests.support.api import ApiSession
from tests.support.e2e import REPORT_DAY, StartAgent, event_types, run_report
from tests.support.waiting import wait_until
from tests.support.warehouse_reference import reference_figures

pytestmark = pytest.mark.e2e


def test_daily_report_figures_match_the_sample_database(
    new_user: ApiSession, warehouse_db: Path, start_local_agent: StartAgent
) -> None:
    # Given an agent whose local agent runs next to the warehouse database
    agent = new_user.create_agent()
    start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")

    # When the daily report runs
    task = run_report(new_user, agent)

    # Then it succeeds, with the figures computed straight from the database
    assert task["status"] == "SUCCEEDED", task
    expected = reference_figures(warehouse_db, REPORT_DAY)
    kpis = task["output"]["kpis"]
    assert kpis["throughput"]["orders_shipped"] == expected["orders_shipped"]
    assert kpis["throughput"]["lines_picked"] == expected["lines_picked"]
    assert kpis["throughput"]["units_picked"] == pytest.approx(expected["units_picked"])
    assert kpis["late"]["late_count"] == expected["late_orders"]
    assert kpis["backlog"]["orders"] == expected["backlog_orders"]
    assert {p["picker_id"]: p["lines"] for p in kpis["pickers"]} == expected["picker_lines"]
    markdown = task["output"]["markdown"]
    assert f"{expected['lines_picked']:,}" in markdown
    assert "needs an LLM" in markdown
    assert task["output"]["summary"]
    # And the timeline shows every step of the loop, in order
    types = event_types(task)
    assert types[0] == "TASK_CREATED" and types[1] == "TASK_STARTED"
    assert types.count("TOOL_REQUESTED") == types.count("TOOL_COMPLETED") >= 1
    assert types.index("TOOL_REQUESTED") < types.index("TOOL_COMPLETED") < types.index("REPORT_GENERATED")
    assert types[-1] == "TASK_COMPLETED"


def test_bad_sql_reaches_the_task_as_a_readable_tool_failure(
    new_user: ApiSession, tmp_path: Path, start_local_agent: StartAgent
) -> None:
    # Given a local agent pointed at a database without the warehouse tables
    empty_db = tmp_path / "empty.sqlite"
    sqlite3.connect(empty_db).close()
    agent = new_user.create_agent()
    start_local_agent(new_user, agent, f"sqlite:///{empty_db}")

    # When the report runs
    task = run_report(new_user, agent)

    # Then the SQL error reaches the task as TOOL_FAILED, and the task fails with it
    assert task["status"] == "FAILED"
    failed = next(e for e in task["events"] if e["type"] == "TOOL_FAILED")
    assert failed["data"]["error"] == "Tool.SqlError"
    assert "no such table" in failed["data"]["cause"]
    assert task["error"]["error"] == "Tool.SqlError"
    assert "no such table" in task["error"]["cause"]
    assert event_types(task)[-1] == "TASK_FAILED"


def test_a_local_agent_that_never_answers_fails_the_task_at_the_step_timeout(
    new_user: ApiSession, settings_override: dict[str, str]
) -> None:
    # Given a short tool-step timeout and no local agent running
    apply_settings({"PHI_TOOL_TIMEOUT_SECONDS": "3", "PHI_TOOL_HEARTBEAT_SECONDS": "3"})
    agent = new_user.create_agent()

    # When the report runs
    task = run_report(new_user, agent)

    # Then the task is FAILED (not RUNNING forever) with the timeout as the recorded reason
    assert task["status"] == "FAILED"
    failed = next(e for e in task["events"] if e["type"] == "TOOL_FAILED")
    assert failed["data"]["error"] == "Tool.Timeout"
    assert "within 3 s" in failed["data"]["cause"]  # the step's limit or its heartbeat's, whichever ran out
    assert task["error"]["error"] == "Tool.Timeout"
    assert event_types(task)[-1] == "TASK_FAILED"


def test_a_killed_local_agent_ends_its_task_failed_with_a_reason(
    new_user: ApiSession,
    warehouse_db: Path,
    settings_override: dict[str, str],
    start_local_agent: StartAgent,
) -> None:
    # Given a local agent that dies (SIGKILL: no goodbye) before the task runs
    apply_settings({"PHI_TOOL_TIMEOUT_SECONDS": "3", "PHI_TOOL_HEARTBEAT_SECONDS": "3"})
    agent = new_user.create_agent()
    local_agent = start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")
    local_agent.process.kill()
    local_agent.process.wait(timeout=60)

    # When the report runs, then it ends FAILED with the timeout recorded
    task = run_report(new_user, agent)
    assert task["status"] == "FAILED"
    assert task["error"]["error"] == "Tool.Timeout"


def test_the_report_cites_the_sop_passage_stating_the_threshold_an_anomaly_crossed(
    new_user: ApiSession, tmp_path: Path, start_local_agent: StartAgent
) -> None:
    from phi.embedded.sample_sops import shipping_sop_docx
    from phi.workflows.warehouse.sample_data import generate_sample_warehouse

    # Given the shipping SOP taught to the agent, and a day on which a carrier missed its pickups
    agent = new_user.create_agent()
    uploaded = new_user.request(
        "POST",
        f"/agents/{agent['id']}/documents",
        files={"file": ("SOP-OUT-04.docx", shipping_sop_docx())},
        data={"source_type": "SOP"},
    )
    summary = generate_sample_warehouse(tmp_path / "wh.sqlite", days=7, end_date=REPORT_DAY, seed=42)
    spike_day = next(e.day for e in summary.events if e.kind == "late_spike")
    wait_until(
        lambda: new_user.ok("GET", f"/agents/{agent['id']}/documents/{uploaded.json()['id']}")["status"] == "READY",
        timeout=300,
    )
    start_local_agent(new_user, agent, f"sqlite:///{tmp_path / 'wh.sqlite'}")

    # When the report for that day runs
    run = new_user.ok(
        "POST",
        f"/agents/{agent['id']}/run-task",
        json={"type": "DAILY_WAREHOUSE_REPORT", "input": {"date": spike_day.isoformat()}},
    )
    task = new_user.wait_for_task(run["task_id"])

    # Then the late-rate anomaly is cited with the SOP passage that sets the 5% limit
    assert task["status"] == "SUCCEEDED", task["error"]
    assert "LATE_RATE_HIGH" in {a["code"] for a in task["output"]["kpis"]["anomalies"]}
    cited = [c for c in task["output"]["citations"] if c["anomaly_code"] == "LATE_RATE_HIGH"]
    assert any("5% of the orders due" in c["text"] and c["document"] == "SOP-OUT-04.docx" for c in cited), cited
    assert "SOP-OUT-04.docx" in task["output"]["markdown"]
    assert "Late shipments must stay at or below 5%" in task["output"]["markdown"]


def test_results_too_large_to_inline_travel_through_s3_and_the_report_is_unchanged(
    new_user: ApiSession, warehouse_db: Path, start_local_agent: StartAgent, stack: object
) -> None:
    # Given a local agent that may inline at most 1 KiB, so every result goes through a pre-signed S3 upload
    agent = new_user.create_agent()
    start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}", local={"inline_result_limit_bytes": 1024})

    # When the report runs
    task = run_report(new_user, agent)

    # Then Think read every result back from S3, and the figures still match the database
    assert task["status"] == "SUCCEEDED", task["error"]
    completed = [e for e in task["events"] if e["type"] == "TOOL_COMPLETED"]
    assert len(completed) == 3 and all(e["data"]["bytes"] > 1024 for e in completed)
    expected = reference_figures(warehouse_db, REPORT_DAY)
    assert task["output"]["kpis"]["throughput"]["lines_picked"] == expected["lines_picked"]
    import boto3

    s3 = boto3.client("s3", endpoint_url=stack.info.aws_endpoint_url, region_name="us-east-1")  # type: ignore[attr-defined]
    stored = s3.list_objects_v2(Bucket="phi-dev-documents", Prefix=f"tool-results/{task['id']}/")
    assert stored["KeyCount"] == 3


def test_with_an_llm_configured_the_report_gains_its_narrative_from_the_computed_kpis(
    new_user: ApiSession,
    warehouse_db: Path,
    start_local_agent: StartAgent,
    settings_override: dict[str, str],
    tmp_path: Path,
) -> None:
    import json

    # Given an LLM (the scripted provider stands in for OpenAI, which cannot be reached from here)
    script = tmp_path / "llm.json"
    script.write_text(json.dumps({"analysis": ["Late shipments clustered after the 13:00 wave; call the carrier."]}))
    apply_settings({"PHI_LLM_PROVIDER": "scripted", "PHI_SCRIPTED_LLM_FILE": str(script)})
    agent = new_user.create_agent()
    start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")

    # When the report runs
    task = run_report(new_user, agent)

    # Then the narrative is in the report, and the model was given the code-computed figures
    assert task["status"] == "SUCCEEDED", task["error"]
    markdown = task["output"]["markdown"]
    assert "Late shipments clustered after the 13:00 wave" in markdown
    assert "needs an LLM" not in markdown
    prompt = json.loads(script.read_text())["seen"][0]["messages"][1]["content"]
    lines_picked = task["output"]["kpis"]["throughput"]["lines_picked"]
    assert f'"lines_picked":{lines_picked}' in prompt
    # and the task keeps its LLM call (model, purpose, latency), shown on the task and in its events
    assert [(c["purpose"], c["model"], c["ok"]) for c in task["llm_calls"]] == [("analysis", "scripted", True)]
    assert [e["type"] for e in task["events"]].count("LLM_CALLED") == 1


def test_a_routed_llm_falls_back_inside_the_task_and_a_spent_budget_leaves_the_report_without_narrative(
    new_user: ApiSession,
    warehouse_db: Path,
    start_local_agent: StartAgent,
    settings_override: dict[str, str],
    tmp_path: Path,
) -> None:
    import json

    # Given two routes for analysis (scripted stand-ins), the first of which answers 503
    script = tmp_path / "llm.json"
    script.write_text(json.dumps({"analysis": [{"fail": 503}, {"text": "Carrier X was late.", "prompt_tokens": 900}]}))
    routes = {"default": [{"provider": "scripted", "model": "primary"}, {"provider": "scripted", "model": "backup"}]}
    apply_settings({"PHI_LLM_ROUTES": json.dumps(routes), "PHI_SCRIPTED_LLM_FILE": str(script)})
    agent = new_user.create_agent()
    start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")

    # When the report runs, the backup route writes the narrative and both attempts are on the task
    task = run_report(new_user, agent)
    assert task["status"] == "SUCCEEDED", task["error"]
    assert "Carrier X was late." in task["output"]["markdown"]
    assert [(c["model"], c["ok"], c["error"]) for c in task["llm_calls"]] == [
        ("primary", False, "ScriptedHttpError (HTTP 503)"),
        ("backup", True, None),
    ]

    # When the organisation's budget is spent, the next report still runs, without a narrative, and says why
    new_user.ok("PUT", f"/orgs/{new_user.org_id}/llm-budget", json={"monthly_token_budget": 900})
    task = run_report(new_user, agent)
    assert task["status"] == "SUCCEEDED", task["error"]
    assert task["llm_calls"] == []
    assert "monthly LLM token budget is spent (900 of 900 tokens used)" in task["output"]["markdown"]


def test_a_threshold_the_agent_config_ties_to_an_sop_is_read_from_that_sop(
    new_user: ApiSession, tmp_path: Path, start_local_agent: StartAgent
) -> None:
    from phi.embedded.sample_sops import shipping_sop_docx
    from phi.workflows.warehouse.sample_data import generate_sample_warehouse

    # Given an SOP that sets a stricter late-shipment limit (3%), and an agent whose config names it as the source
    sop = shipping_sop_docx()  # states 5%: the agent must take its limit from the SOP the config names
    strict = tmp_path / "SOP-OUT-05.md"
    strict.write_text(
        "# SOP-OUT-05 Premium service\n\n## Service level\n\nLate shipments must stay at or below "
        "3% of the orders due on any day.\n"
    )
    agent = new_user.create_agent(threshold_sources={"max_late_rate": "SOP-OUT-05.md"})
    for name, data in (("SOP-OUT-04.docx", sop), ("SOP-OUT-05.md", strict.read_bytes())):
        uploaded = new_user.request(
            "POST", f"/agents/{agent['id']}/documents", files={"file": (name, data)}, data={"source_type": "SOP"}
        ).json()
        wait_until(
            lambda u=uploaded: new_user.ok("GET", f"/agents/{agent['id']}/documents/{u['id']}")["status"] == "READY",
            timeout=300,
        )
    generate_sample_warehouse(tmp_path / "wh.sqlite", days=7, end_date=REPORT_DAY, seed=7)
    start_local_agent(new_user, agent, f"sqlite:///{tmp_path / 'wh.sqlite'}")

    # When the report runs
    task = run_report(new_user, agent)

    # Then the late-rate limit is the SOP's 3%, and the SOP passage is cited as its source
    assert task["status"] == "SUCCEEDED", task["error"]
    assert task["output"]["kpis"]["thresholds"]["max_late_rate"] == pytest.approx(0.03)
    sources = [c for c in task["output"]["citations"] if c["anomaly_code"] == "threshold max_late_rate"]
    assert [c["document"] for c in sources] == ["SOP-OUT-05.md"]
    assert "3% of the orders due" in sources[0]["text"]


def test_an_sop_that_cannot_be_read_for_a_threshold_is_refused_when_configuring(new_user: ApiSession) -> None:
    response = new_user.request(
        "POST",
        f"/orgs/{new_user.org_id}/agents",
        json={
            "name": "x",
            "industry_key": "logistics",
            "role_key": "warehouse_analyst",
            "tools": {"db": {}},
            "threshold_sources": {"min_picker_lines_for_rating": "SOP.md"},
        },
    )
    assert response.status_code == 422
    assert "cannot read min_picker_lines_for_rating" in response.json()["error"]["message"]

"""The daily warehouse report, compiled from its template by the generic compiler, below end-to-end: fake ports,
a real SQLite sample, no PostgreSQL, moto or agent."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from phi.definitions.document import parse_stored
from phi.definitions.patching import apply_patch
from phi.definitions.templates import get_template
from phi.documents.models import SearchHit
from phi.domain.models import EventType
from phi.workflows.compiler import compile_definition
from phi.workflows.contracts import ToolOutcome, ToolRequest
from phi.workflows.live_ports import LocalAgentTools
from phi.workflows.ports import graph_config
from tests.support.fake_ports import FakeEvents, FakeLlm, FakeTools, fake_ports, snapshot, sqlite_tools
from tests.support.warehouse_reference import reference_figures

REPORT_DAY = date(2026, 11, 20)
START = {"task_id": "t", "org_id": "o", "agent_id": "a"}


def _builder():  # type: ignore[no-untyped-def]
    return compile_definition(parse_stored(get_template("daily_warehouse_report").definition))


def _graph():  # type: ignore[no-untyped-def]
    return _builder().compile()


def test_the_report_is_computed_from_the_tool_results_through_the_ports(warehouse_sqlite: Path) -> None:
    ports = fake_ports(snapshot(task_input={"date": REPORT_DAY.isoformat()}), sqlite_tools(warehouse_sqlite))

    state = _graph().invoke(START, graph_config("t1", ports))

    assert state.get("failure") is None
    expected = reference_figures(warehouse_sqlite, REPORT_DAY)
    kpis = state["output"]["kpis"]
    assert kpis["throughput"]["lines_picked"] == expected["lines_picked"]
    assert kpis["late"]["late_count"] == expected["late_orders"]
    assert kpis["backlog"]["orders"] == expected["backlog_orders"]
    assert f"{expected['lines_picked']:,}" in state["output"]["markdown"]
    # the SQL went out with bound parameters, never with the values spliced in
    assert isinstance(ports.tools, FakeTools)
    requests = ports.tools.requests
    assert [r.tool for r in requests] == ["db.query"] * 3
    assert all(r.args["params"] for r in requests)
    assert all(f":{name}" in r.args["sql"] for r in requests for name in r.args["params"])
    assert all(str(v) not in r.args["sql"] for r in requests for v in r.args["params"].values())
    # each query also carries its SQLite text, beside the args an older agent reads
    assert all(r.sql_variants and "typeof(" in r.sql_variants["sqlite"] for r in requests)
    assert all("sql_variants" not in r.args for r in requests)
    assert isinstance(ports.events, FakeEvents)
    recorded = [e for e, _, _ in ports.events.recorded]
    assert recorded[-1] == EventType.REPORT_GENERATED
    assert recorded.count(EventType.NODE_COMPLETED) == 8  # every node but the report


def test_without_a_date_the_report_is_on_the_day_before_the_clock(warehouse_sqlite: Path) -> None:
    ports = fake_ports(snapshot(), sqlite_tools(warehouse_sqlite))
    state = _graph().invoke(START, graph_config("t2", ports))
    assert state["results"]["day"]["day"] == "2026-11-20"  # FixedClock: 2026-11-21 07:00 UTC
    assert state["output"]["kpis"]["day"] == "2026-11-20"


def test_without_a_date_yesterday_is_in_the_warehouses_time_zone(warehouse_sqlite: Path) -> None:
    # FixedClock: 2026-11-21 07:00 UTC is already 16:00 on the 21st in Tokyo, still the 20th in Los Angeles
    for zone, day in (("Asia/Tokyo", "2026-11-20"), ("America/Los_Angeles", "2026-11-19")):
        ports = fake_ports(snapshot(agent_config={"warehouse_timezone": zone}), sqlite_tools(warehouse_sqlite))
        state = _graph().invoke(START, graph_config(f"t2-{zone}", ports))
        assert (state["output"]["kpis"]["day"], state["output"]["kpis"]["timezone"]) == (day, zone)


def test_a_tool_failure_ends_the_graph_with_a_readable_failure_and_no_output(warehouse_sqlite: Path) -> None:
    def broken(request: ToolRequest) -> ToolOutcome:
        return ToolOutcome(ok=False, error="Tool.SqlError", cause="no such table: orders")

    state = _graph().invoke(START, graph_config("t3", fake_ports(snapshot(), broken)))

    assert state["failure"]["error"] == "Tool.SqlError"
    assert "no such table: orders" in state["failure"]["cause"]
    assert "output" not in state


def test_a_vanished_task_fails_before_any_tool_is_asked_for() -> None:
    ports = fake_ports(None, lambda r: ToolOutcome(ok=True, result={}))
    state = _graph().invoke(START, graph_config("t4", ports))
    assert state["failure"]["error"] == "Task.NotFound"
    assert isinstance(ports.tools, FakeTools) and ports.tools.requests == []


def test_the_llm_port_writes_the_narrative_and_sops_are_cited(warehouse_sqlite: Path) -> None:
    hit = SearchHit(
        document_id=uuid4(),
        filename="SOP-OUT-04.docx",
        chunk_index=0,
        page=2,
        heading="Late",
        text="Escalate when the late rate exceeds its limit.",
        score=0.9,
    )
    ports = fake_ports(
        snapshot(task_input={"date": REPORT_DAY.isoformat()}),
        sqlite_tools(warehouse_sqlite),
        hits=[hit],
        llm_answers=["Carrier cut-offs were missed; re-plan waves."],
    )

    state = _graph().invoke(START, graph_config("t5", ports))

    assert "Carrier cut-offs were missed" in state["output"]["markdown"]
    assert isinstance(ports.llm, FakeLlm) and len(ports.llm.prompts) == 1
    if state["output"]["kpis"]["anomalies"]:
        assert any(c["document"] == "SOP-OUT-04.docx" for c in state["output"]["citations"])


def test_the_live_tool_port_suspends_the_graph_until_resumed(warehouse_sqlite: Path) -> None:
    # Given the real LocalAgentTools port (a LangGraph interrupt) and an in-memory checkpointer
    ports = fake_ports(snapshot(task_input={"date": REPORT_DAY.isoformat()}), sqlite_tools(warehouse_sqlite))
    ports.tools = LocalAgentTools()
    answer = sqlite_tools(warehouse_sqlite)
    graph = _builder().compile(checkpointer=InMemorySaver())
    config = graph_config("t6", ports)

    # When the graph runs, it stops at each tool request; resuming with the outcome goes on
    graph.invoke(START, config)
    asked = 0
    while interrupts := graph.get_state(config).interrupts:
        request = ToolRequest.model_validate(interrupts[0].value)
        asked += 1
        graph.invoke(Command(resume=answer(request).model_dump()), config)

    # Then three fetches were asked for, and the output is there
    assert asked == 3
    assert graph.get_state(config).values["output"]["title"]


def _report(warehouse_sqlite: Path, document: dict[str, Any], task_input: dict[str, Any]) -> dict[str, Any]:
    ports = fake_ports(snapshot(task_input=task_input), sqlite_tools(warehouse_sqlite))
    state = compile_definition(parse_stored(document)).compile().invoke(START, graph_config("t7", ports))
    assert state.get("failure") is None, state.get("failure")
    output: dict[str, Any] = state["output"]
    return output


def test_the_render_title_is_the_reports_heading_and_prepared_by_names_the_agent(warehouse_sqlite: Path) -> None:
    # Given the template as it comes, with and without a warehouse
    template = get_template("daily_warehouse_report").definition
    day = {"date": REPORT_DAY.isoformat()}

    # Then its heading names the warehouse (else the agent) and the day, and the agent prepared it
    output = _report(warehouse_sqlite, template, {**day, "warehouse": "Leeds DC"})
    assert output["title"] == "Daily warehouse report — Leeds DC — 2026-11-20"
    assert output["markdown"].startswith(
        "# Daily warehouse report — Leeds DC — 2026-11-20\n\nPrepared by Test analyst "
    )
    output = _report(warehouse_sqlite, template, day)
    assert output["markdown"].startswith("# Daily warehouse report — Test analyst — 2026-11-20\n")

    # When the render node's title is changed, the heading is what it says (it had gone into 'Prepared by …')
    patch = [{"op": "replace", "path": "/nodes/8/settings/title", "value": "Night check {{ day.day }}"}]
    output = _report(warehouse_sqlite, apply_patch(template, patch), day)
    assert output["title"] == "Night check 2026-11-20"
    assert output["markdown"].startswith("# Night check 2026-11-20\n\nPrepared by Test analyst for 2026-11-20 00:00 ")

    # And a definition made before (its title the agent's name, the warehouse an arg) reads as it always did
    render = {"title": "{{ agent.name }}", "args": {"warehouse": "{{ inputs.get('warehouse') or '' }}"}}
    older = apply_patch(
        template, [{"op": "add", "path": f"/nodes/8/settings/{k}", "value": v} for k, v in render.items()]
    )
    output = _report(warehouse_sqlite, older, {**day, "warehouse": "Leeds DC"})
    assert output["title"] == "Daily warehouse report — Leeds DC — Friday 20 November 2026"
    assert output["markdown"].startswith(f"# {output['title']}\n\nPrepared by Test analyst for ")
    # and its title, once changed, is its heading too
    output = _report(warehouse_sqlite, apply_patch(older, patch), day)
    assert output["markdown"].startswith("# Night check 2026-11-20\n\nPrepared by Test analyst for ")

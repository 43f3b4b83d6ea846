"""Definitions compiled to LangGraph graphs and run with fake ports: each node kind, and a multi-node graph."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from phi.definitions.document import validate_definition
from phi.definitions.expressions import ExpressionError, check, evaluate
from phi.definitions.functions import COMPUTE
from phi.definitions.table import apply_ops
from phi.definitions.templating import TemplateError, fill
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
SHIPMENTS = {
    "columns": ["order_id", "carrier", "promised_at", "shipped_at", "qty"],
    "rows": [
        ["o1", "DHL", "2026-11-20T10:00:00", "2026-11-20T12:00:00", 3],
        ["o2", "DHL", "2026-11-20T10:00:00", "2026-11-20T09:00:00", 1],
        ["o3", "UPS", "2026-11-20T11:00:00", "2026-11-20T15:00:00", 2],
        ["o4", "DPD", "2026-11-20T11:00:00", None, 5],
        ["o5", "DHL", "2026-11-20T08:00:00", "2026-11-20T07:30:00", 4],
    ],
}


def _run(document: dict[str, Any], tools: Any, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    ports = fake_ports(snapshot(task_type=document["key"], task_input=kwargs.pop("task_input", {})), tools, **kwargs)
    graph = compile_definition(validate_definition(document)).compile()
    return graph.invoke(START, graph_config("t", ports)), ports


def _answer_with(table: dict[str, Any]) -> Any:
    def answer(request: ToolRequest) -> ToolOutcome:
        return ToolOutcome(ok=True, result=table)

    return answer


# --- the pure pieces ---------------------------------------------------------------------------------------


def test_expressions_evaluate_without_eval_and_refuse_unknown_operators() -> None:
    data = {"kpis": {"late": {"rate": 0.07}}, "n": 3}
    assert evaluate({">": [{"var": "kpis.late.rate"}, 0.05]}, data) is True
    assert evaluate({"if": [{"<": [{"var": "n"}, 2]}, "few", "many"]}, data) == "many"
    assert evaluate({"/": [1, 0]}, data) is None
    assert evaluate({">": [{"var": "missing"}, 1]}, data) is False
    # a list index is ASCII digits: "²" or "٣" (digits to str.isdigit) name nothing, as a missing key does
    assert evaluate({"var": "x.1"}, {"x": [10, 20]}) == 20
    assert evaluate({"var": "x.²"}, {"x": [10, 20]}) is None
    assert evaluate({"var": "x.٣"}, {"x": [10, 20, 30, 40]}) is None
    with pytest.raises(ExpressionError):
        check({"lambda": ["x"]})
    with pytest.raises(ExpressionError):
        check({"!": [{"!": [{"!": [True]}]}]} if False else {"+": [1] * 3000})


def test_templates_are_sandboxed_and_keep_parameter_types() -> None:
    context = {"inputs": {"date": "2026-11-20", "top": 5}}
    assert fill("{{ inputs.top }}", context) == 5
    assert fill("{{ day_end(inputs.date) }}", context) == "2026-11-21T00:00:00"
    assert fill("Report for {{ inputs.date }}", context) == "Report for 2026-11-20"
    with pytest.raises(TemplateError):
        fill("{{ inputs.__class__.__mro__ }}", context)
    with pytest.raises(TemplateError):
        fill("{{ 'x' * 1000000000 }}", context)
    with pytest.raises(TemplateError):
        fill("{{ nothing_here }}", context)


def test_table_operations_filter_group_sort_top_k_join_derive() -> None:
    carriers = {"columns": ["carrier", "name"], "rows": [["DHL", "DHL Parcel"], ["UPS", "UPS Ltd"]]}
    ops = [
        {
            "op": "filter",
            "where": {
                "or": [{"==": [{"var": "shipped_at"}, None]}, {">": [{"var": "shipped_at"}, {"var": "promised_at"}]}]
            },
        },
        {"op": "derive", "column": "double_qty", "expr": {"*": [{"var": "qty"}, 2]}},
        {
            "op": "group_by",
            "keys": ["carrier"],
            "aggs": {"late": {"fn": "count"}, "units": {"fn": "sum", "column": "double_qty"}},
        },
        {"op": "join", "right": "carriers", "on": ["carrier"], "how": "left"},
        {"op": "top_k", "k": 2, "by": "units"},
    ]
    result = apply_ops(SHIPMENTS, ops, {"carriers": carriers})
    assert result["columns"] == ["carrier", "late", "units", "name"]
    assert result["rows"] == [["DPD", 1, 10.0, None], ["DHL", 1, 6.0, "DHL Parcel"]]
    sorted_rows = apply_ops(
        SHIPMENTS,
        [
            {"op": "sort", "by": ["qty"], "descending": True},
            {"op": "select", "columns": ["order_id"]},
            {"op": "limit", "n": 2},
        ],
        {},
    )
    assert sorted_rows["rows"] == [["o4"], ["o5"]]


# --- each node kind in a compiled graph ------------------------------------------------------------------------


def _late_workflow(**extra_nodes: Any) -> dict[str, Any]:
    return {
        "key": "late_by_carrier",
        "name": "Late shipments by carrier",
        "inputs": {"date": {"type": "date", "default": "yesterday"}, "top": {"type": "integer", "default": 2}},
        "nodes": [
            {
                "id": "shipments",
                "kind": "local_tool",
                "settings": {
                    "tool": "db.query",
                    "sql": "SELECT * FROM shipments WHERE promised_at >= :start AND promised_at < :end",
                    "params": {"start": "{{ day_start(inputs.date) }}", "end": "{{ day_end(inputs.date) }}"},
                },
            },
            {
                "id": "late",
                "kind": "table",
                "settings": {
                    "input": "shipments",
                    "ops": [
                        {"op": "filter", "where": {">": [{"var": "shipped_at"}, {"var": "promised_at"}]}},
                        {"op": "group_by", "keys": ["carrier"], "aggs": {"late": {"fn": "count"}}},
                        {"op": "sort", "by": ["carrier"]},
                    ],
                },
            },
            {"id": "any_late", "kind": "condition", "settings": {"expression": {">": [{"var": "late.row_count"}, 0]}}},
            {
                "id": "sops",
                "kind": "search_docs",
                "settings": {"query": "late shipments on {{ inputs.date }}", "top_k": 2},
            },
            {"id": "analysis", "kind": "llm", "settings": {"prompt": "Why were shipments late?", "context": ["late"]}},
            {
                "id": "report",
                "kind": "render",
                "settings": {
                    "template": "sections",
                    "title": "Late shipments {{ inputs.date }}",
                    "sections": ["late", "sops", "analysis"],
                },
            },
            {
                "id": "all_good",
                "kind": "render",
                "settings": {"template": "sections", "title": "No late shipments", "sections": []},
            },
        ],
        "edges": [
            ["shipments", "late"],
            ["late", "any_late"],
            {"from": "any_late", "to": "sops", "when": {"var": "any_late.value"}},
            {"from": "any_late", "to": "all_good", "when": {"!": {"var": "any_late.value"}}},
            ["sops", "analysis"],
            ["analysis", "report"],
        ],
    }


def test_a_multi_node_graph_runs_every_kind_through_the_ports() -> None:
    hit = SearchHit(
        document_id=uuid4(),
        filename="SOP-OUT-04.docx",
        chunk_index=0,
        page=3,
        heading="Late",
        text="Call the carrier when two shipments are late.",
        score=0.8,
    )
    state, ports = _run(
        _late_workflow(),
        _answer_with(SHIPMENTS),
        hits=[hit],
        llm_answers=["UPS missed the wave."],
        task_input={"date": "2026-11-20"},
    )

    assert state.get("failure") is None
    # local_tool: the SQL as written, values as bound parameters filled from the inputs
    [request] = ports.tools.requests
    assert request.args == {
        "sql": _late_workflow()["nodes"][0]["settings"]["sql"],
        "params": {"start": "2026-11-20T00:00:00", "end": "2026-11-21T00:00:00"},
    }
    # table → condition → search_docs → llm → render; the other branch skipped
    assert state["results"]["late"]["rows"] == [["DHL", 1], ["UPS", 1]]
    assert state["results"]["any_late"] == {"value": True}
    assert state["results"]["sops"]["query"] == "late shipments on 2026-11-20"
    assert '"late"' in ports.llm.prompts[0][1].content  # the table went to the model as data
    output = state["output"]
    assert output["title"] == "Late shipments 2026-11-20"
    assert "| DHL | 1 |" in output["markdown"] and "UPS missed the wave." in output["markdown"]
    assert "SOP-OUT-04.docx" in output["markdown"]
    assert output["workflow"]["skipped"] == ["all_good"]
    assert isinstance(ports.events, FakeEvents)
    assert (
        EventType.NODE_SKIPPED,
        "all_good skipped: no incoming edge holds",
        {"node": "all_good"},
    ) in ports.events.recorded


def test_the_other_branch_runs_when_the_condition_is_false_and_no_llm_leaves_a_note() -> None:
    on_time = {**SHIPMENTS, "rows": [r for r in SHIPMENTS["rows"] if r[3] and r[3] <= r[2]]}
    state, _ = _run(_late_workflow(), _answer_with(on_time), task_input={"date": "2026-11-20"})
    assert state["output"]["title"] == "No late shipments"
    assert set(state["output"]["workflow"]["skipped"]) == {"sops", "analysis", "report"}

    workflow = _late_workflow()
    workflow["nodes"] = workflow["nodes"][:6]
    workflow["edges"] = [e for e in workflow["edges"] if not (isinstance(e, dict) and e["to"] == "all_good")]
    state, ports = _run(workflow, _answer_with(SHIPMENTS), task_input={"date": "2026-11-20"})
    assert state["results"]["analysis"]["text"] is None
    assert "analysis: skipped, no LLM is configured" in state["output"]["markdown"]
    # and the timeline says so too, not "done"
    messages = [message for _, message, data in ports.events.recorded if data.get("node") == "analysis"]
    assert messages == ["analysis (llm): skipped, no LLM is configured"]


def test_a_spent_llm_budget_skips_the_llm_node_with_a_note_and_the_report_still_goes_out() -> None:
    from phi.errors import LlmBudgetExhausted

    refused = LlmBudgetExhausted("the organisation's monthly LLM token budget is spent (10 of 10 tokens used)")
    state, ports = _run(
        _late_workflow(), _answer_with(SHIPMENTS), llm_answers=[refused], task_input={"date": "2026-11-20"}
    )

    assert state.get("failure") is None
    assert state["results"]["analysis"]["text"] is None
    assert "analysis: skipped, the organisation's monthly LLM token budget is spent" in state["output"]["markdown"]
    assert len(ports.llm.prompts) == 1  # asked once: a refusal is not retried


def test_a_tool_failure_names_the_node_and_stops_the_graph() -> None:
    def broken(request: ToolRequest) -> ToolOutcome:
        return ToolOutcome(ok=False, error="Tool.SqlError", cause="no such table: shipments")

    state, _ = _run(_late_workflow(), broken)
    assert state["failure"]["error"] == "Tool.SqlError"
    assert "Node shipments" in state["failure"]["cause"] and "no such table" in state["failure"]["cause"]
    assert "output" not in state and "late" not in state["results"]


def test_a_table_op_on_a_missing_column_fails_readably() -> None:
    table = {"columns": ["id"], "rows": [[1]]}
    state, _ = _run(_late_workflow(), _answer_with(table))
    assert state["failure"]["error"] == "Workflow.TableError"
    # the first op, a filter, reads shipped_at: refused there, before the group_by on carrier
    assert state["failure"]["cause"].startswith(
        "Node late: ops[0] (filter): the expression reads the column 'shipped_at', which the table does not have "
        "(has: id)"
    )


def _describe_workflow(args: dict[str, Any], function: str = "stats.describe") -> dict[str, Any]:
    settings: dict[str, Any] = {"function": function, "args": args}
    if function == "stats.describe":
        settings["inputs"] = {"table": "data"}
    return {
        "key": "stats",
        "name": "Stats",
        "nodes": [
            {"id": "data", "kind": "local_tool", "settings": {"tool": "db.query", "sql": "SELECT v FROM t"}},
            {"id": "stats", "kind": "compute", "settings": settings},
        ],
        "edges": [["data", "stats"]],
        "output": "stats",
    }


@pytest.mark.parametrize(("values", "node"), [([1.0], "stats"), ([float("nan")], "data")])
def test_a_result_json_cannot_hold_fails_the_node_that_made_it(
    values: list[float], node: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a compute function's result holds an Infinity, or a tool's answer a NaN (as a fetched document may): the
    # task's output is a jsonb column, so the task would fail storing it, later, without naming the node
    if node == "stats":  # (stats.describe's own overflow is refused in words: test_table_values)
        infinite = dataclasses.replace(COMPUTE["stats.describe"], run=lambda datasets, args: {"mean": float("inf")})
        monkeypatch.setitem(COMPUTE, "stats.describe", infinite)
    table = {"columns": ["v"], "rows": [[v] for v in values]}
    state, _ = _run(_describe_workflow({}), _answer_with(table))
    assert state["failure"] == {
        "error": "Workflow.ResultError",
        "cause": f"Node {node}: its result holds a number that is not finite (NaN or Infinity), which JSON cannot hold",
    }


def test_a_compute_function_past_the_calendars_end_fails_the_node_readably() -> None:
    table = {"columns": ["v"], "rows": [[1]]}
    state, _ = _run(_describe_workflow({"date": "9999-12-31"}, "time.report_day"), _answer_with(table))
    assert state["failure"]["error"] == "Workflow.ComputeError"
    assert state["failure"]["cause"] == (
        "Node stats: time.report_day: 9999-12-31 is too near the ends of the calendar (years 1 and 9999) to report on"
    )


@pytest.mark.parametrize("machine_zone", ["UTC", "America/Los_Angeles"])
def test_report_days_now_is_an_instant_never_a_time_in_the_machines_zone(
    machine_zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from phi.definitions.functions import COMPUTE

    monkeypatch.setenv("TZ", machine_zone)
    time.tzset()
    try:
        run = COMPUTE["time.report_day"].run
        # 07:00 UTC on the 21st is 16:00 in Tokyo: yesterday there is the 20th, wherever the stack runs
        assert run({}, {"timezone": "Asia/Tokyo", "now": "2026-11-21T07:00:00+00:00"})["day"] == "2026-11-20"
        # without an offset Python reads it in the machine's zone (07:00 in Los Angeles is already the 22nd in
        # Tokyo, which had made the day the 21st): refused, saying why
        with pytest.raises(ValueError, match="has no UTC offset: add one"):
            run({}, {"timezone": "Asia/Tokyo", "now": "2026-11-21T07:00"})
        with pytest.raises(ValueError, match="now must be an ISO-8601 instant"):
            run({}, {"timezone": "Asia/Tokyo", "now": "tomorrow"})
    finally:
        monkeypatch.undo()  # the machine's own zone back, for the tests after this one
        time.tzset()


@pytest.mark.parametrize(
    ("function", "args", "name"),
    [
        ("time.report_day", {"timezone": "UTC", "date": "2026-11-20junk"}, "date"),
        ("time.report_day", {"timezone": "UTC", "date": "2026-11-2"}, "date"),
        ("warehouse.daily_kpis", {"day": "2026-11-20T25:00"}, "day"),
    ],
)
def test_a_day_argument_is_a_date_or_a_timestamp_never_its_first_ten_characters(
    function: str, args: dict[str, Any], name: str
) -> None:
    from phi.definitions.functions import COMPUTE

    with pytest.raises(ValueError, match=f"^{name} must be an ISO-8601 date such as '2026-11-20'"):
        COMPUTE[function].run({}, args)
    # a date, or a day's start passed on as a timestamp, still name the day
    report_day = COMPUTE["time.report_day"].run
    assert report_day({}, {"timezone": "Asia/Tokyo", "date": "2026-11-20T00:00:00+09:00"})["day"] == "2026-11-20"
    assert report_day({}, {"timezone": "Asia/Tokyo", "date": "2026-11-20"})["day"] == "2026-11-20"


def test_relative_dates_resolve_in_the_schedules_time_zone() -> None:
    workflow = {**_late_workflow(), "schedule": {"cron": "0 7 * * *", "timezone": "Pacific/Auckland"}}
    # FixedClock is 2026-11-21 07:00 UTC = 2026-11-21 20:00 in Auckland → yesterday is 2026-11-20
    state, _ = _run(workflow, _answer_with(SHIPMENTS))
    assert state["inputs"]["date"] == "2026-11-20"
    workflow["schedule"]["timezone"] = "Pacific/Pago_Pago"  # UTC-11: still 2026-11-20 there → yesterday 19th
    state, _ = _run(workflow, _answer_with(SHIPMENTS))
    assert state["inputs"]["date"] == "2026-11-19"


def test_compute_maps_the_customers_columns_to_the_contract(warehouse_sqlite: Path) -> None:
    # Given a customer whose shipments table calls its columns differently (renamed in SQL here)
    workflow = {
        "key": "kpis_only",
        "name": "KPIs",
        "inputs": {"date": {"type": "date", "required": True}},
        "nodes": [
            {
                "id": "ship",
                "kind": "local_tool",
                "settings": {
                    "tool": "db.query",
                    "sql": (
                        "SELECT order_id AS ord_no, promised_at AS due, shipped_at AS sent, carrier FROM shipments "
                        "WHERE (promised_at >= :s AND promised_at < :e) OR (shipped_at >= :s AND shipped_at < :e)"
                    ),
                    "params": {"s": "{{ day_start(inputs.date) }}", "e": "{{ day_end(inputs.date) }}"},
                },
            },
            {
                "id": "kpis",
                "kind": "compute",
                "settings": {
                    "function": "warehouse.daily_kpis",
                    "inputs": {"shipments": "ship"},
                    "column_mapping": {"shipments": {"order_id": "ord_no", "promised_at": "due", "shipped_at": "sent"}},
                    "args": {"day": "{{ inputs.date }}"},
                },
            },
        ],
        "edges": [["ship", "kpis"]],
        "output": "kpis",
    }
    state, _ = _run(workflow, sqlite_tools(warehouse_sqlite), task_input={"date": REPORT_DAY.isoformat()})
    assert state.get("failure") is None, state.get("failure")
    assert state["output"]["late"]["late_count"] == reference_figures(warehouse_sqlite, REPORT_DAY)["late_orders"]

    # Without the mapping, the contract names the missing columns
    del workflow["nodes"][1]["settings"]["column_mapping"]
    state, _ = _run(workflow, sqlite_tools(warehouse_sqlite), task_input={"date": REPORT_DAY.isoformat()})
    assert state["failure"]["error"] == "Workflow.ContractError"
    assert "order_id, promised_at, shipped_at" in state["failure"]["cause"]


def test_local_tool_nodes_interrupt_for_the_local_agent_as_today() -> None:
    ports = fake_ports(
        snapshot(task_type="late_by_carrier", task_input={"date": "2026-11-20"}),
        _answer_with(SHIPMENTS),
        llm_answers=["ok"],
    )
    ports.tools = LocalAgentTools()
    graph = compile_definition(validate_definition(_late_workflow())).compile(checkpointer=InMemorySaver())
    config = graph_config("interrupt", ports)
    graph.invoke(START, config)
    [pending] = graph.get_state(config).interrupts
    assert ToolRequest.model_validate(pending.value).tool == "db.query"
    graph.invoke(Command(resume=ToolOutcome(ok=True, result=SHIPMENTS).model_dump()), config)
    values = graph.get_state(config).values
    assert not graph.get_state(config).interrupts
    assert values["output"]["title"] == "Late shipments 2026-11-20"
    assert isinstance(ports.llm, FakeLlm) and not isinstance(ports.tools, FakeTools)


def test_the_readme_example_runs_with_fake_ports() -> None:
    import json

    from phi.definitions.document import SCHEMA_FILE

    section = (SCHEMA_FILE.parents[3] / "README.md").read_text().split("## Workflows as data", 1)[1]
    example = json.loads(section.split("```json", 1)[1].split("```", 1)[0])
    hit = SearchHit(
        document_id=uuid4(),
        filename="SOP-OUT-04.docx",
        chunk_index=0,
        page=1,
        heading=None,
        text="Escalate late carriers.",
        score=0.9,
    )
    state, _ = _run(
        example,
        _answer_with(dict(SHIPMENTS)),
        hits=[hit],
        llm_answers=["DHL and UPS were late."],
        task_input={"date": "2026-11-20"},
    )
    assert state.get("failure") is None, state.get("failure")
    # 3 of 5 shipments late or unshipped: 60 % > 5 %, so the SOP search and the analysis ran
    assert state["results"]["too_late"] == {"value": True}
    assert state["output"]["title"] == "Late shipments on 2026-11-20"
    assert "DHL and UPS were late." in state["output"]["markdown"]
    assert state["output"]["workflow"]["skipped"] == []


def test_one_compiled_graph_serves_interleaved_tasks_each_with_its_own_checkpointer() -> None:
    """Think keeps compiled graphs per process (phi.workflows.runner.CompiledGraphs) and binds each step's copy to
    that step's checkpointer: two tasks paused and resumed in turn through the one graph keep their own data."""
    from phi.workflows.runner import CompiledGraphs

    graphs = CompiledGraphs(size=2)
    builds: list[str] = []

    def build() -> Any:
        builds.append("late_by_carrier")
        return compile_definition(validate_definition(_late_workflow()))

    one_late = {**SHIPMENTS, "rows": SHIPMENTS["rows"][:1]}
    tasks = {}
    for name, table in (("first", SHIPMENTS), ("second", one_late)):
        ports = fake_ports(
            snapshot(task_type="late_by_carrier", task_input={"date": "2026-11-20"}), None, llm_answers=["ok"]
        )
        ports.tools = LocalAgentTools()
        graph = graphs.get(("version", "org", "v1"), build).copy(update={"checkpointer": InMemorySaver()})
        config = graph_config(name, ports)
        graph.invoke(START, config)
        tasks[name] = (graph, config, table)
    assert builds == ["late_by_carrier"], "the second task reuses the compiled graph"
    for graph, config, table in tasks.values():
        graph.invoke(Command(resume=ToolOutcome(ok=True, result=table).model_dump()), config)
    late_counts = {
        name: graph.get_state(config).values["results"]["late"]["rows"] for name, (graph, config, _) in tasks.items()
    }
    assert late_counts == {"first": [["DHL", 1], ["UPS", 1]], "second": [["DHL", 1]]}

    graphs.get(("version", "org", "v2"), build)
    graphs.get(("version", "org", "v3"), build)  # the least recently used (v1) makes room
    graphs.get(("version", "org", "v1"), build)
    assert len(builds) == 4


# --- definitions as hostile input (review findings) ----------------------------------------------------------


def test_a_lookup_of_every_result_written_as_text_is_bounded_not_grown_node_after_node() -> None:
    # Each node's query quoting {{ results }} (every earlier query) had grown 2.5x a node: 87 MB at 16 nodes.
    nodes = [{"id": "a0", "kind": "condition", "settings": {"expression": True}}]
    nodes += [{"id": f"a{i}", "kind": "search_docs", "settings": {"query": "{{ results }}"}} for i in range(1, 20)]
    document = {"key": "GROWTH", "name": "growth", "nodes": nodes, "edges": [[f"a{i}", f"a{i + 1}"] for i in range(19)]}
    state, _ = _run(document, FakeTools(_no_tool))
    assert state["failure"]["error"] == "Workflow.TemplateError"
    assert "written as text is longer than 100,000 characters" in state["failure"]["cause"]
    assert len(state["results"]) < 19


def test_what_a_template_or_an_input_makes_is_kept_as_the_task_can_hold_it() -> None:
    # A NUL made by a template had failed the task in PostgreSQL; an integer past 64 bits, in the checkpoint.
    document = {
        "key": "ODD_VALUES",
        "name": "odd values",
        "inputs": {"n": {"type": "number"}},
        "nodes": [
            {"id": "s", "kind": "search_docs", "settings": {"query": "a{{ '%c' % 0 }}b{{ '%c' % 55296 }}"}},
            {"id": "c", "kind": "compute", "settings": {"function": "time.report_day", "args": {"date": "2026-11-20"}}},
            {"id": "big", "kind": "condition", "settings": {"expression": {">": [{"var": "inputs.n"}, 0]}}},
        ],
        "edges": [["s", "c"], ["c", "big"]],
    }
    state, _ = _run(document, FakeTools(_no_tool), task_input={"n": 1.5})
    assert state.get("failure") is None, state.get("failure")
    assert state["results"]["s"]["query"] == "a\ufffdb\ufffd"


@pytest.mark.parametrize("value", [10**30, -(2**63) - 1])
def test_an_integer_input_past_64_bits_is_refused_naming_the_input(value: int) -> None:
    from phi.definitions.document import validate_inputs
    from phi.errors import InvalidDefinition

    definition = validate_definition(
        {"key": "BIG", "name": "big", "inputs": {"n": {"type": "integer"}}, "nodes": [_condition_node()]}
    )
    with pytest.raises(InvalidDefinition) as caught:
        validate_inputs(definition, {"n": value})
    assert "n: expected an integer from -9,223,372,036,854,775,808 to 9,223,372,036,854,775,807" in caught.value.message
    assert validate_inputs(definition, {"n": 2**63 - 1}) == {"n": 2**63 - 1}
    with pytest.raises(InvalidDefinition) as refused:
        validate_definition(
            {
                "key": "BIG",
                "name": "big",
                "inputs": {"n": {"type": "integer", "default": value}},
                "nodes": [_condition_node()],
            }
        )
    assert "inputs.n.default" in str(refused.value.details)


def _condition_node() -> dict[str, Any]:
    return {"id": "c", "kind": "condition", "settings": {"expression": True}}


def test_a_render_given_results_of_another_shape_fails_naming_the_node_and_its_template() -> None:
    document = {
        "key": "RENDER_WRONG",
        "name": "render wrong",
        "nodes": [
            _condition_node(),
            {"id": "r", "kind": "render", "settings": {"template": "warehouse.daily_report", "names": {"kpis": "c"}}},
        ],
        "edges": [["c", "r"]],
    }
    state, _ = _run(document, FakeTools(_no_tool))
    assert state["failure"]["error"] == "Workflow.RenderError"
    assert state["failure"]["cause"].startswith("Node r: the template warehouse.daily_report cannot render")


def _no_tool(request: ToolRequest) -> ToolOutcome:
    raise AssertionError(f"no tool is called here: {request}")


def test_the_templates_of_one_step_share_one_time_budget() -> None:
    # Each template has its own 10 s; hundreds of them in one definition had no bound together (a compute node's
    # four loops took 36 s). Inside the step's budget the graph runs; with the budget spent, the next one fails.
    from phi.definitions.templating import step_time_budget

    loop = "{% for i in range(50) %}{% endfor %}2026-11-20"
    document = {
        "key": "LOOPS",
        "name": "loops",
        "nodes": [{"id": "c", "kind": "compute", "settings": {"function": "time.report_day", "args": {"date": loop}}}],
    }
    with step_time_budget(3600):
        state, _ = _run(document, FakeTools(_no_tool))
    assert state.get("failure") is None, state.get("failure")
    with step_time_budget(0):
        state, _ = _run(document, FakeTools(_no_tool))
    assert state["failure"]["error"] == "Workflow.TemplateError"
    assert "the workflow's templates take longer than 0 seconds in all in one step" in state["failure"]["cause"]


def _search_only(settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": "search_only",
        "name": "Search only",
        "nodes": [{"id": "s", "kind": "search_docs", "settings": settings}],
    }


def _hit(filename: str, text: str, score: float) -> SearchHit:
    return SearchHit(
        document_id=uuid4(), filename=filename, chunk_index=0, page=None, heading=None, text=text, score=score
    )


def test_search_docs_leaves_out_passages_on_another_subject_and_copies_of_one_passage() -> None:
    # A safety summary had cited a shipping SOP's "Missed pickups" (the nearest passage there was, with no floor),
    # and a shift handover the same passage twice when two uploaded documents held it.
    hits = [
        _hit("incidents.md", "Report every fall within one hour.", 0.71),
        _hit("incidents copy.md", "Report every  fall within one hour.\n", 0.70),
        _hit("handover-rules.md", "Missed pickups: call the carrier.", 0.12),
    ]
    state, _ = _run(_search_only({"query": "falls", "top_k": 3}), _answer_with(SHIPMENTS), hits=hits)
    assert [h["filename"] for h in state["results"]["s"]["hits"]] == ["incidents.md"]
    every, _ = _run(_search_only({"query": "falls", "top_k": 3, "min_score": 0}), _answer_with(SHIPMENTS), hits=hits)
    assert [h["filename"] for h in every["results"]["s"]["hits"]] == ["incidents.md", "handover-rules.md"]


def test_a_condition_or_an_edge_on_a_text_is_refused_not_taken_as_true() -> None:
    # JSON Logic holds every text but an empty one true: a condition on a CSV's "false" had held.
    flag = {"columns": ["flag"], "rows": [["false"]]}
    nodes = [
        {"id": "data", "kind": "local_tool", "settings": {"tool": "db.query", "sql": "SELECT flag FROM f"}},
        {"id": "c", "kind": "condition", "settings": {"expression": {"var": "data.rows.0.0"}}},
    ]
    document = {"key": "flags", "name": "Flags", "nodes": nodes, "edges": [["data", "c"]]}
    state, _ = _run(document, _answer_with(flag))
    assert state["failure"]["error"] == "Workflow.TableError"
    assert "Node c: it gives 'false', a text, which is neither true nor false" in state["failure"]["cause"]

    nodes[1] = {"id": "c", "kind": "condition", "settings": {"expression": True}}
    edge = {"from": "data", "to": "c", "when": {"var": "data.rows.0.0"}}
    state, _ = _run({**document, "nodes": nodes, "edges": [edge]}, _answer_with(flag))
    assert state["failure"]["error"] == "Workflow.ExpressionError"
    assert "Edge into c: its `when` gives 'false', a text" in state["failure"]["cause"]


class _ProviderError(Exception):
    """A provider's error as the OpenAI SDK raises one: a status, and a message echoing a masked key."""

    status_code = 401


def test_a_model_that_fails_fails_its_node_by_kind_never_with_the_provider_s_message() -> None:
    echoed = _ProviderError("Error code: 401 - Incorrect API key provided: sk-abcd************************wxyz.")
    state, ports = _run(
        _late_workflow(), _answer_with(SHIPMENTS), llm_answers=[echoed], task_input={"date": "2026-11-20"}
    )

    assert state["failure"] == {
        "error": "Workflow.LlmError",
        "cause": "Node analysis: the model did not answer: _ProviderError (HTTP 401)",
    }
    assert "output" not in state and len(ports.llm.prompts) == 1  # not transient: asked once

"""Validation of workflow definitions: every problem names the node and the field."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest

from phi.definitions.document import SCHEMA_FILE, build_schema, to_document, validate_definition, validate_inputs
from phi.errors import InvalidDefinition

VALID: dict[str, Any] = {
    "key": "late_by_carrier",
    "name": "Late shipments by carrier",
    "inputs": {"date": {"type": "date", "default": "yesterday"}, "top": {"type": "integer", "default": 3}},
    "schedule": {"cron": "0 7 * * 1-5", "timezone": "Europe/London", "overlap": "SKIP"},
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
                    {"op": "top_k", "k": 3, "by": "late"},
                ],
            },
        },
        {"id": "any_late", "kind": "condition", "settings": {"expression": {">": [{"var": "late.row_count"}, 0]}}},
        {"id": "report", "kind": "render", "settings": {"template": "sections", "sections": ["late"]}},
    ],
    "edges": [
        ["shipments", "late"],
        ["late", "any_late"],
        {"from": "any_late", "to": "report", "when": {"var": "any_late.value"}},
    ],
}


def _problems(document: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(InvalidDefinition) as raised:
        validate_definition(document)
    errors: list[dict[str, Any]] = raised.value.details["errors"]
    return errors


def test_a_valid_definition_validates_and_round_trips() -> None:
    definition = validate_definition(VALID)
    assert definition.order() == ["shipments", "late", "any_late", "report"]
    assert validate_definition(to_document(definition)) == definition


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(key="daily_report\n"), "key"),
        (lambda d: d["nodes"][0].update(id="shipments\n"), "nodes[0].id"),
        (lambda d: d["nodes"][0].update(id="inputs\n"), "nodes[0].id"),
    ],
)
def test_a_name_ending_in_a_newline_is_refused_as_json_schema_reads_its_patterns(change: Any, field: str) -> None:
    # A pattern's `$` ends the text (ECMA-262); Python's also matched before a final newline, so "daily\n" could
    # sit next to "daily", looking the same in every list and log.
    document = copy.deepcopy(VALID)
    change(document)
    assert field in [p["field"] for p in _problems(document)]


def test_a_settings_error_names_the_node_and_the_field() -> None:
    document = copy.deepcopy(VALID)
    document["nodes"][1]["settings"]["ops"][2]["k"] = "three"
    [problem] = _problems(document)
    assert problem["node"] == "late"
    assert problem["field"] == "nodes[1].settings.ops[2].k"
    assert "integer" in problem["message"]


def test_db_query_needs_its_sql_and_file_read_takes_no_sql() -> None:
    document = copy.deepcopy(VALID)
    del document["nodes"][0]["settings"]["sql"]
    problems = _problems(document)
    assert problems[0]["node"] == "shipments" and "sql" in problems[0]["message"]
    document = copy.deepcopy(VALID)
    document["nodes"][0]["settings"] = {"tool": "file.read", "path": "x.csv", "sql": "SELECT 1"}
    assert _problems(document)[0]["field"].startswith("nodes[0].settings")


def test_unknown_kind_and_unknown_table_operation_are_named() -> None:
    document = copy.deepcopy(VALID)
    document["nodes"][1]["settings"]["ops"][0] = {"op": "pivot"}
    assert _problems(document)[0]["field"] == "nodes[1].settings.ops[0].op"
    document = copy.deepcopy(VALID)
    document["nodes"][2]["kind"] = "shell"
    assert _problems(document)[0]["field"] == "nodes[2].kind"


def test_edges_must_name_existing_nodes() -> None:
    document = copy.deepcopy(VALID)
    document["edges"].append(["late", "nowhere"])
    [problem] = _problems(document)
    assert problem == {"node": None, "field": "edges[3].to", "message": "no node has the id 'nowhere'"}


def test_a_second_edge_between_the_same_nodes_is_refused_naming_both() -> None:
    # Beside the guarded edge any_late → report, an unconditional copy ran the report whatever the condition.
    document = copy.deepcopy(VALID)
    document["edges"].insert(0, ["any_late", "report"])
    [problem] = _problems(document)
    assert problem["node"] == "report" and problem["field"] == "edges[3]"
    assert "edges[0] already goes from 'any_late' to 'report'" in problem["message"]


def test_cycles_are_refused() -> None:
    document = copy.deepcopy(VALID)
    document["edges"].append(["report", "shipments"])
    problems = _problems(document)
    assert {p["node"] for p in problems} == {"shipments", "late", "any_late", "report"}
    assert all("cycle" in p["message"] for p in problems)


def test_unconnected_nodes_and_reads_not_reachable_before_are_reported() -> None:
    document = copy.deepcopy(VALID)
    document["nodes"].append({"id": "orphan", "kind": "condition", "settings": {"expression": True}})
    [problem] = _problems(document)
    assert problem["node"] == "orphan" and "connected to no other node" in problem["message"]
    document = copy.deepcopy(VALID)
    document["nodes"][3]["settings"]["sections"] = ["late"]
    document["nodes"][1]["settings"]["input"] = "report"  # reads a node that runs after it
    problems = _problems(document)
    assert problems[0]["node"] == "late" and "not reachable before it" in problems[0]["message"]


def test_expressions_and_templates_are_checked_before_anything_runs() -> None:
    document = copy.deepcopy(VALID)
    document["nodes"][2]["settings"]["expression"] = {"__import__": ["os"]}
    [problem] = _problems(document)
    assert problem["field"] == "nodes[2].settings.expression" and "unknown operator" in problem["message"]
    document = copy.deepcopy(VALID)
    document["nodes"][0]["settings"]["params"]["start"] = "{{ day_start(inputs.date) "
    [problem] = _problems(document)
    assert problem["field"] == "nodes[0].settings.params.start" and "parse" in problem["message"]


@pytest.mark.parametrize(
    ("node", "field"),
    [
        ({"id": "ask", "kind": "approval", "settings": {"timeout_seconds": 60, "title": "Pay {{ inputs.amount"}},
         "nodes[0].settings.title"),
        ({"id": "ask", "kind": "approval", "settings": {"timeout_seconds": 60, "summary": "{% if %}"}},
         "nodes[0].settings.summary"),
        ({"id": "report", "kind": "render", "settings": {"template": "sections", "args": {"site": {"name": "{{ x"}}}},
         "nodes[0].settings.args.site.name"),
        ({"id": "limits", "kind": "search_docs", "settings": {"strategy": "warehouse.threshold_sources",
                                                              "args": {"sources": {"late": "{{ x"}}}},
         "nodes[0].settings.args.sources.late"),
        ({"id": "kpis", "kind": "compute", "settings": {
            "function": "warehouse.daily_kpis", "inputs": {"orders": "rows", "picks": "rows", "shipments": "rows"},
            "args": {"day": "2026-11-20", "thresholds": {"max_late_rate": "{{ x"}}}},
         "nodes[0].settings.args.thresholds.max_late_rate"),
    ],
)  # fmt: skip
def test_every_template_a_node_fills_is_checked_before_anything_runs(node: dict[str, Any], field: str) -> None:
    # These had passed validation (a proposal, a pipeline) and failed only when the node ran, after the nodes
    # before it: the approval's title once the task had done its work, nested args filled whole by the node.
    rows = {"id": "rows", "kind": "local_tool", "settings": {"tool": "db.query", "sql": "SELECT 1"}}
    problems = _problems({"key": "t", "name": "T", "nodes": [node, rows], "edges": [["rows", node["id"]]]})
    assert any(p["field"] == field and "template does not parse" in p["message"] for p in problems), problems


def test_an_operator_given_the_wrong_number_of_arguments_is_refused_naming_the_field() -> None:
    document = copy.deepcopy(VALID)
    document["nodes"][1]["settings"]["ops"][0]["where"] = {"and": [True, {"==": [{"var": "carrier"}]}]}
    [problem] = _problems(document)
    assert (problem["field"], problem["message"]) == (
        "nodes[1].settings.ops[0].where",
        "'==' takes 2 argument(s), got 1",
    )
    document = copy.deepcopy(VALID)
    document["edges"][2]["when"] = {"!": []}
    [problem] = _problems(document)
    assert (problem["field"], problem["message"]) == ("edges[2].when", "'!' takes 1 argument(s), got 0")


@pytest.mark.parametrize("number", [float("inf"), float("-inf"), float("nan")])
def test_nan_or_infinity_is_refused_naming_the_place_not_stored_as_null(number: float) -> None:
    # Python's JSON parser reads NaN, Infinity and 1e999; stored as jsonb they would become null
    document = copy.deepcopy(VALID)
    document["nodes"][2]["settings"]["expression"] = {">": [{"var": "late.row_count"}, number]}
    [problem] = _problems(document)
    assert problem["field"] == "nodes[2].settings.expression.>[1]"
    assert problem["message"] == "NaN and Infinity are not JSON numbers; give a finite number"
    with pytest.raises(InvalidDefinition, match=r"Invalid input: top: NaN and Infinity are not JSON numbers"):
        validate_inputs(validate_definition(VALID), {"top": number})


def test_compute_column_mapping_is_checked_against_the_contract() -> None:
    document = copy.deepcopy(VALID)
    document["nodes"].append(
        {
            "id": "kpis",
            "kind": "compute",
            "settings": {
                "function": "warehouse.daily_kpis",
                "inputs": {"shipments": "shipments"},
                "column_mapping": {"shipments": {"promised": "due_at"}},
                "args": {"day": "{{ inputs.date }}"},
            },
        }
    )
    document["edges"].append(["shipments", "kpis"])
    [problem] = _problems(document)
    assert problem["node"] == "kpis" and problem["field"] == "nodes[4].settings.column_mapping.shipments"


def test_schedule_cron_and_time_zone_are_validated() -> None:
    document = copy.deepcopy(VALID)
    document["schedule"] = {"cron": "every morning", "timezone": "Mars/Olympus"}
    fields = {p["field"] for p in _problems(document)}
    assert fields == {"schedule.cron", "schedule.timezone"}


def test_inputs_are_typed_and_relative_dates_resolved_at_run_time() -> None:
    definition = validate_definition(VALID)
    import datetime as dt

    assert validate_inputs(definition, {}) == {"date": "yesterday", "top": 3}
    today = dt.date(2026, 11, 21)
    assert validate_inputs(definition, {}, today=today, resolve_relative=True)["date"] == "2026-11-20"
    with pytest.raises(InvalidDefinition) as raised:
        validate_inputs(definition, {"top": "many", "colour": "red"})
    assert {p["field"] for p in raised.value.details["errors"]} == {"top", "colour"}


@pytest.mark.parametrize("value", ["2026112008", "20261120", "2026-W47-5", "2026-11-20T08:00", "2026-11-31", 20261120])
def test_a_date_input_is_a_calendar_day_written_yyyy_mm_dd(value: object) -> None:
    # Python's fromisoformat reads the first three as days (the first one dropping its hour): none is a plain day
    definition = validate_definition(VALID)
    with pytest.raises(InvalidDefinition) as raised:
        validate_inputs(definition, {"date": value})
    assert [(p["field"], p["message"]) for p in raised.value.details["errors"]] == [
        ("date", "expected a date YYYY-MM-DD, today or yesterday")
    ]
    assert validate_inputs(definition, {"date": "2026-11-20"})["date"] == "2026-11-20"


def test_the_kept_schema_file_is_the_published_schema() -> None:
    # regenerate with: python -m phi.definitions.document
    assert json.loads(SCHEMA_FILE.read_text()) == build_schema()


def test_the_readme_example_is_a_valid_definition() -> None:
    readme = (SCHEMA_FILE.parents[3] / "README.md").read_text()
    section = readme.split("## Workflows as data", 1)[1]
    example = section.split("```json", 1)[1].split("```", 1)[0]
    definition = validate_definition(json.loads(example))
    assert {n.kind for n in definition.nodes} == {
        "local_tool",
        "table",
        "compute",
        "condition",
        "search_docs",
        "llm",
        "render",
    }


def _nested(depth: int) -> Any:
    return json.loads('{"a":' * depth + "{}" + "}" * depth)  # as a request body brings it


@pytest.mark.parametrize(
    "where, field",
    [
        ("payload", "nodes[0].settings.payload.a.a.a.a…"),
        ("when", "edges[0].when.a.a.a.a.a…"),
        ("input", "schedule.input.a.a.a.a.a.a…"),
    ],
)
def test_json_nested_too_deep_anywhere_in_a_definition_is_refused_naming_the_place(where: str, field: str) -> None:
    document: dict[str, Any] = {
        "key": "deep",
        "name": "Deep",
        "nodes": [
            {"id": "mail", "kind": "notify", "settings": {"channel": "email", "to": ["ops@example.com"],
                                                          "subject": "s", "body": "b"}},
            {"id": "report", "kind": "render", "settings": {"template": "sections"}},
        ],
        "edges": [{"from": "mail", "to": "report"}],
    }  # fmt: skip
    if where == "payload":
        document["nodes"][0]["settings"]["payload"] = _nested(500)
    elif where == "when":
        document["edges"][0]["when"] = _nested(500)
    else:
        document["schedule"] = {"cron": "0 7 * * *", "input": _nested(500)}

    problems = _problems(document)

    assert problems == [{"node": None, "field": field, "message": "nested deeper than 96 levels"}]


def test_a_definition_nests_as_deep_as_expressions_allow_and_no_deeper() -> None:
    expression: Any = {"var": "late"}
    for _ in range(31):
        expression = {"!": [expression]}
    deepest = copy.deepcopy(VALID)
    deepest["nodes"][1]["settings"]["ops"][0]["where"] = expression
    deeper = copy.deepcopy(VALID)
    deeper["nodes"][1]["settings"]["ops"][0]["where"] = {"!": [_nested(100)]}

    assert validate_definition(deepest).nodes[1].settings["ops"][0]["where"] == expression
    assert _problems(deeper)[0]["message"] == "nested deeper than 96 levels"


def test_an_input_nested_too_deep_is_refused_naming_it() -> None:
    definition = validate_definition(VALID)
    with pytest.raises(InvalidDefinition) as raised:
        validate_inputs(definition, {"top": _nested(500)})
    assert raised.value.details["errors"][0]["field"] == "top.a.a.a.a.a.a.a…"
    assert "nested deeper than 96 levels" in raised.value.message


def _scheduled(cron: str) -> dict[str, Any]:
    return {**copy.deepcopy(VALID), "schedule": {"cron": cron, "timezone": "UTC"}}


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4 *", "* * 31 2,4,6,9,11 *", "0 0 30,31 2 *"])
def test_a_cron_that_never_fires_is_refused_at_schedule_cron_and_a_rare_one_is_not(cron: str) -> None:
    assert _problems(_scheduled(cron)) == [
        {"node": None, "field": "schedule.cron",
         "message": f"{cron!r} never fires: no date matches it (such as 30 February or 31 April)"}
    ]  # fmt: skip
    for rare in ("0 0 29 2 *", "0 0 31 * *", "0 0 L 2 *"):
        assert validate_definition(_scheduled(rare)).schedule is not None


@pytest.mark.parametrize(
    ("cron", "says"),
    [
        ("0 9 1 * 1", "restricts both day-of-month and day-of-week; EventBridge allows one"),
        ("0 9 * * 5-7/2", "write Sunday as 0 in a range with a step"),
    ],
)
def test_a_cron_eventbridge_cannot_take_is_refused_when_the_definition_is_checked(cron: str, says: str) -> None:
    # It had been accepted in a patch proposal that then could never be approved (the check ran at approval only).
    [problem] = _problems(_scheduled(cron))
    assert problem["field"] == "schedule.cron" and says in problem["message"], problem


@pytest.mark.parametrize("fn", ["count_distinct", "sum", "min", "max", "avg"])
def test_an_aggregate_other_than_count_needs_its_column(fn: str) -> None:
    # Without a column such an aggregate read nothing: always null (or 0 for count_distinct), never an error.
    document = copy.deepcopy(VALID)
    document["nodes"][1]["settings"]["ops"][1]["aggs"] = {"late": {"fn": fn}}
    [problem] = _problems(document)
    assert problem["field"].startswith("nodes[1].settings.ops[1]"), problem
    assert "column" in problem["message"], problem
    for aggs in ({"late": {"fn": fn, "column": "carrier"}}, {"late": {"fn": "count"}}):  # count counts rows
        document["nodes"][1]["settings"]["ops"][1]["aggs"] = aggs
        validate_definition(document)


def _mail_to(address: str) -> dict[str, Any]:
    return {"id": "mail", "kind": "notify",
            "settings": {"channel": "email", "to": [address], "subject": "s", "body": "b"}}  # fmt: skip


def _approvers(roles: list[Any]) -> dict[str, Any]:
    return {"id": "ask", "kind": "approval", "settings": {"timeout_seconds": 60, "approvers": {"roles": roles}}}


@pytest.mark.parametrize(
    ("node", "field", "words"),
    [
        # the e-mail pattern backtracks quadratically over `a.a.a.…`: 40 KB of it took 10 s to refuse
        (_mail_to("a@" + "a." * 20_000 + "@"), "nodes[0].settings.to[0]", "is too long"),
        # uniqueItems compares every pair of objects: 3,000 roles took 18 s
        (_approvers([{"role": n} for n in range(3_000)]), "nodes[0].settings.approvers.roles", "is too long"),
    ],
)
def test_a_value_far_past_its_bound_is_refused_at_once_not_checked_at_length(
    node: dict[str, Any], field: str, words: str
) -> None:
    # Any member can send a pipeline or a patch: validating one must not cost a worker minutes of CPU.
    started = time.monotonic()
    problems = _problems({"key": "big", "name": "Big", "nodes": [node]})
    assert time.monotonic() - started < 2.0
    assert any(p["field"] == field and words in p["message"] for p in problems), problems[:3]


def test_values_within_their_bounds_are_still_held_to_their_pattern_and_uniqueness() -> None:
    [mail] = _problems({"key": "m", "name": "M", "nodes": [_mail_to("ops@example")]})
    assert mail["field"] == "nodes[0].settings.to[0]" and "does not match" in mail["message"]
    [twice] = _problems({"key": "a", "name": "A", "nodes": [_approvers(["ADMIN", "ADMIN"])]})
    assert twice["field"] == "nodes[0].settings.approvers.roles" and "non-unique" in twice["message"]
    assert validate_definition({"key": "a", "name": "A", "nodes": [_approvers(["OWNER", "ADMIN", "MEMBER"])]})

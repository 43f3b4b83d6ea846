"""A compute node's args are checked against its function's args_schema: when the definition is validated (names,
and the types of values written literally) and when the node runs (every value, filled); a function's own
failures reach the task in words."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from phi.definitions.document import validate_definition
from phi.definitions.functions import COMPUTE
from phi.errors import InvalidDefinition
from phi.workflows.compiler import compile_definition
from phi.workflows.contracts import ToolOutcome, ToolRequest
from phi.workflows.ports import graph_config
from tests.support.fake_ports import fake_ports, snapshot

ROWS = {"columns": ["at"], "rows": [["2026-11-20T08:00:00"]], "row_count": 1}


def _definition(function: str, args: dict[str, Any], inputs: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "key": "compute_args",
        "name": "Compute args",
        "nodes": [
            {"id": "data", "kind": "local_tool", "settings": {"tool": "db.query", "sql": "SELECT at FROM t"}},
            {
                "id": "c",
                "kind": "compute",
                "settings": {
                    "function": function,
                    "inputs": {"table": "data"} if inputs is None else inputs,
                    "args": args,
                },
            },
        ],
        "edges": [["data", "c"]],
        "output": "c",
    }


def _problems(document: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidDefinition) as raised:
        validate_definition(document)
    return [error["message"] for error in raised.value.details["errors"]]


def _failure(
    document: dict[str, Any], task_input: dict[str, Any] | None = None, answer: dict[str, Any] = ROWS
) -> dict[str, str]:
    def tools(request: ToolRequest) -> ToolOutcome:
        return ToolOutcome(ok=True, result=answer)

    ports = fake_ports(snapshot(task_type=document["key"], task_input=task_input or {}), tools)
    graph = compile_definition(validate_definition(document)).compile()
    state: dict[str, Any] = graph.invoke({"task_id": "t", "org_id": "o", "agent_id": "a"}, graph_config("t", ports))
    failure: dict[str, str] = state["failure"]
    return failure


def test_a_misspelt_arg_is_refused_when_the_definition_is_validated_naming_the_args_it_takes() -> None:
    args = {"column": "at", "day": "2026-11-20", "timzone": "Europe/Paris"}
    assert _problems(_definition("time.open_at_day_end", args)) == [
        "time.open_at_day_end takes no arg 'timzone'; the args it takes: column, day, timezone"
    ]


def test_a_missing_or_mistyped_arg_is_refused_when_the_definition_is_validated() -> None:
    assert _problems(_definition("time.open_at_day_end", {"column": "at", "day": 20261120})) == [
        "time.open_at_day_end arg 'day': 20261120 is not of type 'string'"
    ]
    assert _problems(_definition("time.open_at_day_end", {"column": "at"})) == [
        "time.open_at_day_end needs the input 'day' in its args"
    ]


def test_an_arg_refused_quotes_at_most_a_few_hundred_characters_of_its_value() -> None:
    [problem] = _problems(_definition("time.open_at_day_end", {"column": "at", "day": ["2026-11-20"] * 10_000}))
    assert problem.startswith("time.open_at_day_end arg 'day': ['2026-11-20', ") and problem.endswith("…")
    assert len(problem) < 400


def test_a_templated_arg_is_checked_once_filled_when_the_node_runs() -> None:
    document = _definition("time.open_at_day_end", {"column": "at", "day": "{{ inputs.day }}"})
    document["inputs"] = {"day": {"type": "integer"}}
    failure = _failure(document, {"day": 20261120})
    assert failure == {
        "error": "Workflow.ComputeError",
        "cause": "Node c: time.open_at_day_end arg 'day': 20261120 is not of type 'string'",
    }


def test_a_model_a_compute_function_validates_fails_the_node_in_words_without_a_web_address() -> None:
    document = _definition("warehouse.daily_kpis", {"day": "2026-11-20", "thresholds": {"max_late_rate": "high"}})
    document["nodes"][1]["settings"]["inputs"] = {"orders": "data"}
    document["nodes"][1]["settings"]["column_mapping"] = {"orders": {"created_at": "at"}}
    orders = {"columns": ["order_id", "at", "shipped_at"], "rows": [["o1", "2026-11-20T08:00:00", None]]}
    failure = _failure(document, answer=orders)
    assert failure["error"] == "Workflow.ComputeError"
    assert failure["cause"].startswith("Node c: warehouse.daily_kpis: max_late_rate: Input should be a valid number")
    assert "pydantic" not in failure["cause"]


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (KeyError("day"), "Node c: stats.describe: needs the input 'day'"),
        (
            TypeError("unsupported operand type(s) for +: 'int' and 'str'"),
            "Node c: stats.describe: could not use the args it was given "
            "(TypeError: unsupported operand type(s) for +: 'int' and 'str')",
        ),
    ],
)
def test_a_key_or_type_error_of_a_compute_function_fails_the_node_in_words(
    error: Exception, cause: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(datasets: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        raise error

    monkeypatch.setitem(COMPUTE, "stats.describe", dataclasses.replace(COMPUTE["stats.describe"], run=failing))
    assert _failure(_definition("stats.describe", {})) == {"error": "Workflow.ComputeError", "cause": cause}

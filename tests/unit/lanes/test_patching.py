"""JSON Patch proposals against a definition: applied to a copy, all or nothing, validated like any definition
plus the agent's tools; refusals name the operation; warnings for nodes that can never run or whose result is
unused; a plain-language summary."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from phi.definitions.document import to_document, validate_definition
from phi.definitions.patching import (
    AgentScope,
    PatchRefused,
    apply_patch,
    patched_definition,
    structural_warnings,
    summarise,
)

TOOLS = AgentScope(operations=frozenset({"db.query", "file.read"}))
BASE: dict[str, Any] = to_document(
    validate_definition(
        {
            "key": "late_by_carrier",
            "name": "Late shipments by carrier",
            "nodes": [
                {"id": "shipments", "kind": "local_tool",
                 "settings": {"tool": "db.query", "sql": "SELECT carrier, late FROM shipments"}},
                {"id": "late", "kind": "table", "settings": {"input": "shipments", "ops": [
                    {"op": "filter", "where": {"==": [{"var": "late"}, 1]}}]}},
                {"id": "report", "kind": "render", "settings": {"template": "sections", "title": "Late"}},
            ],
            "edges": [["shipments", "late"], ["late", "report"]],
        }
    )
)  # fmt: skip


def test_a_valid_patch_gives_the_new_definition_a_summary_and_the_changes() -> None:
    before = copy.deepcopy(BASE)
    patch = [
        {"op": "replace", "path": "/nodes/0/settings/sql", "value": "SELECT carrier, late FROM shp"},
        {"op": "add", "path": "/nodes/-", "value": {"id": "analysis", "kind": "llm",
                                                   "settings": {"prompt": "Why?", "context": ["late"]}}},
        {"op": "add", "path": "/edges/-", "value": {"from": "late", "to": "analysis"}},
        {"op": "add", "path": "/schedule", "value": {"cron": "0 7 * * *"}},
    ]  # fmt: skip

    document, warnings, changes, summary = patched_definition(BASE, patch, TOOLS)

    assert before == BASE, "the current definition is never changed"
    assert document["nodes"][0]["settings"]["sql"] == "SELECT carrier, late FROM shp"
    assert [n["id"] for n in document["nodes"]] == ["shipments", "late", "report", "analysis"]
    assert warnings == []
    assert {"op": "replace", "path": "/nodes/shipments/settings/sql"}.items() <= changes[0].items()
    assert "Adds analysis (llm)" in summary and "Changes settings.sql of node shipments" in summary
    assert "Connects late → analysis" in summary and "Sets the schedule" in summary


def test_a_changed_edge_condition_is_in_the_summary_whatever_else_changes() -> None:
    condition = {"==": [{"var": "late.row_count"}, 0]}
    patch = [
        {"op": "replace", "path": "/edges/1", "value": {"from": "late", "to": "report", "when": condition}},
        {"op": "replace", "path": "/name", "value": "Late shipments, when there are none"},
    ]

    document, _, _, summary = patched_definition(BASE, patch, TOOLS)

    assert document["edges"][1]["when"] == condition
    assert "Changes the condition on late → report" in summary and "Changes the name" in summary


GUARDED: dict[str, Any] = to_document(
    validate_definition(
        {
            "key": "pay_when_late",
            "name": "Pay carriers' penalties when late",
            "nodes": [
                {"id": "late", "kind": "condition", "settings": {"expression": {">": [{"var": "inputs.late"}, 5]}}},
                {"id": "pay", "kind": "http", "settings": {"url": "https://pay.example.com/penalties",
                                                          "method": "POST", "body": {"late": "{{ inputs.late }}"}}},
            ],
            "inputs": {"late": {"type": "integer", "default": 0}},
            "edges": [{"from": "late", "to": "pay", "when": {"var": "late.value"}}],
        }
    )
)  # fmt: skip


def test_a_patch_adding_an_unconditional_copy_of_a_guarded_edge_is_refused() -> None:
    # It had been summarised as "Reorders the edges." while the POST then ran whatever the condition said.
    patch = [{"op": "add", "path": "/edges/0", "value": ["late", "pay"]}]
    with pytest.raises(PatchRefused) as refused:
        patched_definition(GUARDED, patch, TOOLS)
    assert "edges[0] already goes from 'late' to 'pay'" in refused.value.message


def test_the_summary_names_a_condition_dropped_from_two_edges_between_the_same_nodes() -> None:
    # A stored version from before duplicate edges were refused: removing its guarded one changes when pay runs.
    both = {**GUARDED, "edges": [{"from": "late", "to": "pay"}, *GUARDED["edges"]]}
    guarded_only = {**GUARDED, "edges": GUARDED["edges"]}
    assert "Changes the condition on late → pay" in summarise(guarded_only, both)
    assert "Changes the condition on late → pay" in summarise(both, guarded_only)


@pytest.mark.parametrize(
    ("patch", "words"),
    [
        ([{"op": "replace", "path": "/nodes/7/settings/sql", "value": "x"}], "Operation 1 (replace /nodes/7"),
        ([{"op": "remove", "path": "/nodes/0/settings/nope"}], "does not apply"),
        ([{"op": "test", "path": "/name", "value": "Other"}], "the test failed"),
        ([{"op": "frobnicate", "path": "/name"}], "op must be one of"),
        ([{"op": "replace", "path": "/name"}], "replace needs a value"),
        ([], "non-empty list"),
        ([{"op": "add", "path": "/x", "value": 1}] * 101, "at most 100"),
        ([{"op": "replace", "path": "", "value": [1]}], "not an object"),
    ],
)
def test_patches_that_do_not_apply_are_refused_in_words(patch: Any, words: str) -> None:
    with pytest.raises(PatchRefused) as refused:
        apply_patch(BASE, patch)
    assert words in refused.value.message


def test_all_or_nothing_a_later_failing_operation_leaves_no_trace() -> None:
    before = copy.deepcopy(BASE)
    patch = [
        {"op": "replace", "path": "/name", "value": "Changed"},
        {"op": "remove", "path": "/nodes/9"},
    ]
    with pytest.raises(PatchRefused, match="Operation 2"):
        patched_definition(BASE, patch, TOOLS)
    assert before == BASE


@pytest.mark.parametrize(
    ("patch", "field", "words"),
    [
        ([{"op": "remove", "path": "/nodes/0"}], "edges[0].from", "no node has the id 'shipments'"),
        ([{"op": "add", "path": "/edges/-", "value": {"from": "report", "to": "shipments"}}], "nodes[0]", "cycle"),
        ([{"op": "add", "path": "/edges/-", "value": {"from": "late", "to": "ghost"}}], "edges[2].to", "ghost"),
        ([{"op": "replace", "path": "/nodes/0/settings/tool", "value": "cctv.snapshot"}], "nodes[0].settings.tool",
         "is not one of"),
        ([{"op": "replace", "path": "/nodes/1/settings/ops/0/where", "value": {"~~": [1, 2]}}],
         "nodes[1].settings.ops[0].where", "~~"),
        ([{"op": "replace", "path": "/nodes/2/settings/title", "value": "{{ oops"}], "nodes[2].settings.title", ""),
        ([{"op": "replace", "path": "/nodes/1/id", "value": "shipments"}], "nodes[1].id", "used twice"),
    ],
)  # fmt: skip
def test_patches_whose_result_is_invalid_are_refused_naming_the_field(patch: Any, field: str, words: str) -> None:
    with pytest.raises(PatchRefused) as refused:
        patched_definition(BASE, patch, TOOLS)
    assert refused.value.message.startswith("The patched workflow would not be valid")
    errors = refused.value.details["errors"]
    assert any(e["field"] == field and words in e["message"] for e in errors), errors


def test_a_tool_the_agent_does_not_have_is_refused() -> None:
    patch = [{"op": "add", "path": "/nodes/-", "value": {"id": "export", "kind": "local_tool",
                                                        "settings": {"tool": "file.read", "path": "x.csv"}}},
             {"op": "add", "path": "/edges/-", "value": ["shipments", "export"]}]  # fmt: skip
    with pytest.raises(PatchRefused) as refused:
        patched_definition(BASE, patch, AgentScope(operations=frozenset({"db.query"})))
    assert "the agent has no tool 'file.read' (its tools: db.query)" in refused.value.message


def test_a_patch_that_changes_nothing_or_the_key_is_refused() -> None:
    with pytest.raises(PatchRefused, match="changes nothing"):
        patched_definition(BASE, [{"op": "replace", "path": "/name", "value": BASE["name"]}], TOOLS)
    with pytest.raises(PatchRefused, match="cannot change the workflow's key"):
        patched_definition(BASE, [{"op": "replace", "path": "/key", "value": "other"}], TOOLS)


def test_structural_warnings_unreachable_and_unused_nodes() -> None:
    definition = validate_definition(
        {
            **BASE,
            "nodes": [*BASE["nodes"], {"id": "extra", "kind": "table", "settings": {"input": "shipments",
                                                                                   "ops": [{"op": "limit", "n": 1}]}}],
            "edges": [*BASE["edges"], {"from": "shipments", "to": "extra", "when": False}],
        }
    )  # fmt: skip
    warnings = {(w.node, w.message) for w in structural_warnings(definition)}
    assert ("extra", "is unreachable: every edge into it is false") in warnings
    assert structural_warnings(validate_definition(BASE)) == []


def _nested(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_a_patch_value_nested_too_deep_is_refused_naming_it_before_it_is_applied() -> None:
    patch = [{"op": "add", "path": "/nodes/-", "value": _nested(500)}]

    with pytest.raises(PatchRefused) as refused:
        apply_patch(BASE, patch)

    assert refused.value.message == (
        "Operation 1 (add /nodes/-): its value is nested deeper than 96 levels (at patch[0].value.a.a.a.a.a.a.a.a…)."
    )


def test_copies_that_nest_or_double_the_definition_are_refused_at_the_operation() -> None:
    nesting = [{"op": "copy", "from": "/nodes", "path": "/nodes/0/settings/x"}] * 100
    doubling = [{"op": "copy", "from": "", "path": f"/x{i}"} for i in range(40)]

    with pytest.raises(
        PatchRefused, match=r"After operation \d+ \(copy /nodes/0/settings/x\), the definition is nested"
    ):
        apply_patch(BASE, nesting)
    with pytest.raises(
        PatchRefused, match=r"After operation \d+ \(copy /x\d+\), the definition is larger than 256 KiB"
    ):
        apply_patch(BASE, doubling)

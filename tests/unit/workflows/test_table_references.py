"""Large tables stay out of the graph state: table references, the stored-table format, and every table
operation streaming over references with the in-memory table store (fake port) — caps, readable errors and
hostile input included."""

from __future__ import annotations

import gzip
import io
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from phi.definitions import table as table_module
from phi.definitions import table_format
from phi.definitions.document import parse_stored, validate_definition
from phi.definitions.expressions import ExpressionError, compile_expression, evaluate
from phi.definitions.table import TableError, apply_ops, run_ops
from phi.definitions.table_format import (
    PREVIEW_ROWS,
    TableFormatError,
    TableLimits,
    TableWriter,
    read_rows,
    reference,
    scan,
)
from phi.definitions.templates import get_template
from phi.workflows.compiler import compile_definition
from phi.workflows.contracts import ToolOutcome, ToolRequest
from phi.workflows.ports import graph_config
from tests.support.fake_ports import MemoryTables, fake_ports, snapshot, sqlite_tools

START = {"task_id": "t", "org_id": "o", "agent_id": "a"}
COLUMNS = ["order_id", "carrier", "promised_at", "shipped_at", "qty"]
CARRIERS = ["DHL", "UPS", "DPD", "GLS", "Colissimo", None]
LIMITS = TableLimits(max_bytes=64 * 1024 * 1024, max_rows=1_000_000)


def shipments(n: int) -> list[list[Any]]:
    """Deterministic shipments: about a third late, some never shipped, carriers with ties and a None."""
    return [
        [
            f"o{i}",
            CARRIERS[(i * 7) % len(CARRIERS)],
            f"2026-11-20T{i % 24:02d}:00:00",
            None if i % 11 == 0 else f"2026-11-20T{(i + (i % 3)) % 24:02d}:00:00",
            (i * 13) % 17,
        ]
        for i in range(n)
    ]


def stored(tables: MemoryTables, columns: list[str], rows: list[list[Any]], key: str) -> dict[str, Any]:
    """A stored table as the local agent uploads one, and the reference Think makes of it (tool_results)."""
    out = io.BytesIO()
    writer = TableWriter(out, columns, LIMITS, "test")
    for row in rows:
        writer.add(row)
    size = writer.finish()
    tables.objects[key] = out.getvalue()
    columns_read, count, preview = scan(io.BytesIO(tables.objects[key]), LIMITS)
    return reference(columns_read, count, preview, key, size, truncated=False)


def decode(tables: MemoryTables, ref: dict[str, Any]) -> list[list[Any]]:
    columns, rows = read_rows(io.BytesIO(tables.objects[ref["table_ref"]["key"]]), LIMITS)
    assert columns == ref["columns"]
    return list(rows)


def workflow(ops: list[dict[str, Any]], *extra_nodes: dict[str, Any], edges: list[Any] | None = None) -> Any:
    return validate_definition(
        {
            "key": "refs",
            "name": "References",
            "nodes": [
                {"id": "shipments", "kind": "local_tool", "settings": {"tool": "db.query", "sql": "SELECT 1"}},
                {"id": "out", "kind": "table", "settings": {"input": "shipments", "ops": ops}},
                *extra_nodes,
            ],
            "edges": edges or [["shipments", "out"]],
        }
    )


def run(definition: Any, answer: dict[str, Any], tables: MemoryTables) -> tuple[dict[str, Any], InMemorySaver]:
    def tools(request: ToolRequest) -> ToolOutcome:
        return ToolOutcome(ok=True, result=answer)

    ports = fake_ports(snapshot(task_type="refs"), tools, tables=tables)
    saver = InMemorySaver()
    graph = compile_definition(definition).compile(checkpointer=saver)
    return graph.invoke(START, graph_config("t", ports)), saver


LATE = {"or": [{"==": [{"var": "shipped_at"}, None]}, {">": [{"var": "shipped_at"}, {"var": "promised_at"}]}]}
PIPELINE: list[dict[str, Any]] = [
    {"op": "filter", "where": LATE},
    {"op": "derive", "column": "double_qty", "expr": {"*": [{"var": "qty"}, 2]}},
    {
        "op": "group_by",
        "keys": ["carrier"],
        "aggs": {
            "late": {"fn": "count"},
            "units": {"fn": "sum", "column": "double_qty"},
            "orders": {"fn": "count_distinct", "column": "order_id"},
            "biggest": {"fn": "max", "column": "qty"},
            "mean": {"fn": "avg", "column": "qty"},
        },
    },
    {"op": "top_k", "k": 3, "by": "late"},
]


# --- expressions compiled once per op give exactly what evaluate gives ----------------------------------------

EXPRESSIONS: list[Any] = [
    LATE,
    {"*": [{"var": "qty"}, 2]},
    {"<": [1, {"var": "qty"}, 10]},
    {">=": [{"var": "carrier"}, "DHL"]},
    {"if": [{"<": [{"var": "qty"}, 5]}, "small", {"<": [{"var": "qty"}, 10]}, "mid", "big"]},
    {"if": []},
    {"and": [{"var": "shipped_at"}, {"!": {"var": "missing_column"}}]},
    {"or": [{"var": "missing_column"}, 0, ""]},
    {"var": ["missing_column", "fallback"]},
    {"var": "nested.a"},
    {"var": ""},
    {"var": []},
    {"missing": ["qty", "nothing"]},
    {"in": [{"var": "carrier"}, ["DHL", "UPS"]]},
    {"cat": [{"var": "order_id"}, "-", {"upper": {"var": "carrier"}}]},
    {"round": [{"/": [{"var": "qty"}, 3]}, 2]},
    {"/": [{"var": "qty"}, 0]},
    {"max": [{"var": "qty"}, 3, {"abs": -4}]},
    {"-": [{"var": "qty"}]},
    {"!=": [{"var": "carrier"}, None]},
    [1, {"var": "qty"}],
    "plain text",
    {">": [{"var": "carrier"}, 3]},  # text with a number: an ExpressionError either way
    {"+": [{"var": "carrier"}, 1]},
]


@pytest.mark.parametrize("expression", EXPRESSIONS, ids=[json.dumps(e)[:40] for e in EXPRESSIONS])
def test_a_compiled_expression_agrees_with_evaluate_on_every_row(expression: Any) -> None:
    compiled = compile_expression(expression)
    for values in [*shipments(40), ["o", "DHL", None, None, None]]:
        row: dict[str, Any] = {**dict(zip(COLUMNS, values, strict=True)), "nested": {"a": values[4]}}
        try:
            expected: Any = evaluate(expression, row)
        except ExpressionError as error:
            expected = ("error", str(error))
        try:
            got: Any = compiled(row)
        except ExpressionError as error:
            got = ("error", str(error))
        assert got == expected, row


def test_compiling_refuses_what_check_refuses() -> None:
    with pytest.raises(ExpressionError, match="unknown operator"):
        compile_expression({"__import__": ["os"]})
    with pytest.raises(ExpressionError, match="too large"):
        compile_expression({"+": [1] * 3000})


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"in": [{"var": "qty"}, "DHL"]}, "in: looks for a text within the text 'DHL', got 1 (reading \"qty\")"),
        ({"round": [{"var": "qty"}, "two"]}, "round: the number of decimal places must be a whole number, got 'two'"),
        ({"*": [{"var": "qty"}, 1e308, 10]}, "the result is not a finite number"),
        ({"+": [{"var": "qty"}, "nan"]}, "expected a finite number, got 'nan'"),
        ({"cat": [{"var": "carrier"}] * 300}, "the text would be longer than 500 characters"),
    ],
)
def test_an_expression_the_data_cannot_satisfy_fails_the_node_naming_it(
    expression: Any, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("phi.definitions.expressions.MAX_TEXT_CHARS", 500)
    answer = {"columns": ["carrier", "qty"], "rows": [["DHL", 1], ["UPS", 2]], "row_count": 2}
    state, _ = run(workflow([{"op": "derive", "column": "c", "expr": expression}]), answer, MemoryTables())
    assert state["failure"]["error"] == "Workflow.TableError"
    assert state["failure"]["cause"].startswith("Node out: ") and message in state["failure"]["cause"]
    with pytest.raises(ExpressionError, match=re.escape(message)):
        evaluate(expression, {"carrier": "DHL", "qty": 1})


def test_text_built_by_derived_columns_cannot_multiply_from_op_to_op(monkeypatch: pytest.MonkeyPatch) -> None:
    # each derive repeats the previous column 200 times: 10, 2,000, 400,000 characters, then 80 MB
    monkeypatch.setattr("phi.definitions.expressions.MAX_TEXT_CHARS", 100_000)
    ops: list[dict[str, Any]] = [{"op": "derive", "column": "c0", "expr": {"cat": ["0123456789"]}}]
    ops += [{"op": "derive", "column": f"c{n}", "expr": {"cat": [{"var": f"c{n - 1}"}] * 200}} for n in (1, 2, 3)]
    with pytest.raises(ExpressionError, match=r"the text would be longer than 100,000 characters"):
        apply_ops({"columns": ["a"], "rows": [[1]]}, ops, {})
    assert len(apply_ops({"columns": ["a"], "rows": [[1]]}, ops[:2], {})["rows"][0][2]) == 2_000


_HOLDS_TOO_MUCH = "the derived values it holds come to more than 50,000 characters"


def test_the_derived_text_a_sort_takes_in_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # a sort holds up to 100,000 rows whatever their size: 100,000-character derived values would make it 10 GB
    monkeypatch.setattr(table_module, "MAX_DERIVED_CHARS", 50_000, raising=False)
    table = {"columns": ["i", "pad"], "rows": [[i, "x" * 100] for i in range(60)]}
    ops: list[dict[str, Any]] = [
        {"op": "derive", "column": "t", "expr": {"cat": [{"var": "pad"}] * 5}},
        {"op": "derive", "column": "u", "expr": {"upper": {"var": "t"}}},
        {"op": "sort", "by": ["i"], "descending": True},
    ]
    assert apply_ops({**table, "rows": table["rows"][:40]}, ops, {})["row_count"] == 40  # 40 rows of 1,000 characters
    with pytest.raises(TableError, match=rf"^ops\[2\] \(sort\): {_HOLDS_TOO_MUCH}"):
        apply_ops(table, ops, {})
    # The derived columns are followed through a rename; a column selected away is not held any more.
    renamed = [*ops[:2], {"op": "select", "columns": ["i", "t", "u"], "rename": {"u": "v"}}, ops[2]]
    with pytest.raises(TableError, match=rf"^ops\[3\] \(sort\): {_HOLDS_TOO_MUCH}"):
        apply_ops(table, renamed, {})
    dropped = [*ops[:2], {"op": "select", "columns": ["i", "pad"]}, ops[2]]
    assert apply_ops(table, dropped, {})["row_count"] == 60


def test_derived_text_that_only_streams_through_is_not_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    # select, filter, derive and limit hold no rows: a derived column over every row of a large table streams to
    # the output (bounded there by the table store's own byte limit)
    monkeypatch.setattr(table_module, "MAX_DERIVED_CHARS", 50_000, raising=False)
    table = {"columns": ["i", "pad"], "rows": [[i, "x" * 100] for i in range(300)]}
    ops: list[dict[str, Any]] = [
        {"op": "derive", "column": "t", "expr": {"cat": [{"var": "pad"}] * 5}},
        {"op": "filter", "where": {">=": [{"var": "i"}, 0]}},
        {"op": "derive", "column": "u", "expr": {"upper": {"var": "t"}}},
    ]
    out = apply_ops(table, ops, {})  # 300 rows of 1,000 derived characters: 300,000
    assert out["row_count"] == 300 and out["rows"][-1][3] == "X" * 500


def test_top_k_spends_what_its_heap_can_hold_not_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_module, "MAX_DERIVED_CHARS", 50_000, raising=False)
    table = {"columns": ["i", "pad"], "rows": [[i, "x" * 100] for i in range(300)]}
    derive: dict[str, Any] = {"op": "derive", "column": "t", "expr": {"cat": [{"var": "pad"}] * 10}}
    top = apply_ops(table, [derive, {"op": "top_k", "by": "i", "k": 10}], {})  # 10 rows of 1,000 held
    assert [row[0] for row in top["rows"]] == list(range(299, 289, -1))
    with pytest.raises(TableError, match=rf"^ops\[1\] \(top_k\): {_HOLDS_TOO_MUCH}"):
        apply_ops(table, [derive, {"op": "top_k", "by": "i", "k": 100}], {})  # 100 rows of 1,000 may be held


def test_group_by_spends_the_derived_text_of_its_keys_and_kept_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_module, "MAX_DERIVED_CHARS", 50_000, raising=False)
    table = {"columns": ["i", "pad"], "rows": [[i, "x" * 100] for i in range(300)]}
    label = {"op": "derive", "column": "label", "expr": {"cat": [{"var": "pad"}] * 10 + [{"min": [{"var": "i"}, 2]}]}}
    count = {"op": "group_by", "keys": ["label"], "aggs": {"n": {"fn": "count"}}}
    grouped = apply_ops(table, [label, count], {})  # 300 rows, 3 groups of 1,001 characters held
    assert sorted(row[1] for row in grouped["rows"]) == [1, 1, 298]
    each = {"op": "derive", "column": "label", "expr": {"cat": [{"var": "pad"}] * 10 + [{"var": "i"}]}}
    with pytest.raises(TableError, match=rf"^ops\[1\] \(group_by\): {_HOLDS_TOO_MUCH}"):
        apply_ops(table, [each, count], {})  # 300 groups of ~1,002 characters
    distinct = {"op": "group_by", "keys": [], "aggs": {"labels": {"fn": "count_distinct", "column": "label"}}}
    with pytest.raises(TableError, match=rf"^ops\[1\] \(group_by\): {_HOLDS_TOO_MUCH}"):
        apply_ops(table, [each, distinct], {})
    assert apply_ops(table, [label, distinct], {})["rows"] == [[3]]
    longest = {"op": "group_by", "keys": [], "aggs": {"top": {"fn": "max", "column": "label"}}}
    assert apply_ops(table, [each, longest], {})["rows"][0][0].endswith("99")  # one text kept at a time


def test_derived_lists_of_lists_cannot_multiply_as_text_or_json() -> None:
    # lists share their items: 900 lists of 900 texts are small in memory, 8 MB as JSON; once more, 7 GB
    ops: list[dict[str, Any]] = [{"op": "derive", "column": "c0", "expr": {"cat": ["0123456789"]}}]
    ops += [{"op": "derive", "column": f"c{n}", "expr": [{"var": f"c{n - 1}"}] * 900} for n in (1, 2)]
    with pytest.raises(TableError, match=r"ops\[2\] \(derive\): the value of 'c2' is larger than 100,000 characters"):
        apply_ops({"columns": ["a"], "rows": [[1]]}, ops, {})
    for text_op in ("cat", "upper", "lower"):
        catted = [*ops[:2], {"op": "derive", "column": "t", "expr": {text_op: [{"var": "c1"}]}}]
        with pytest.raises(ExpressionError, match=r"takes plain values \(text, numbers\), not a list"):
            apply_ops({"columns": ["a"], "rows": [[1]]}, catted, {})
    assert len(apply_ops({"columns": ["a"], "rows": [[1]]}, ops[:2], {})["rows"][0][2]) == 900


# --- the stored-table format ----------------------------------------------------------------------------------


def test_a_stored_table_reads_back_row_for_row_with_a_bounded_preview() -> None:
    tables = MemoryTables()
    rows = [*shipments(3_000), ['é ✓ \n quoted "x"', None, "", "", 1.5]]
    ref = stored(tables, COLUMNS, rows, "k")
    assert decode(tables, ref) == rows
    assert ref["row_count"] == len(rows) and ref["columns"] == COLUMNS
    assert ref["preview"] == rows[:PREVIEW_ROWS]
    wide = stored(tables, ["text"], [["x" * 3000] for _ in range(10)], "wide")
    assert len(json.dumps(wide["preview"])) <= table_format.PREVIEW_MAX_BYTES + 100
    assert len(wide["preview"]) < 10


def _gz(text: bytes) -> bytes:
    return gzip.compress(text)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"not gzip at all", "not gzip-compressed JSON lines"),
        (_gz(b'{"columns":["a"]}\n[1]\n')[:-12], "not gzip-compressed JSON lines"),
        (_gz(b'{"rows":[]}\n'), "header line"),
        (_gz(b'{"columns":["a","b"]}\n[1]\n'), "not one list of 2 values"),
        (_gz(b'{"columns":["a"]}\n[1],[2]\n'), "not one list of 1 values"),
        (_gz(b'{"columns":["a"]}\n[1\n'), "not gzip-compressed JSON lines"),
        (_gz(b'{"columns":["a"]}\n\n\n[1]\n'), "empty line"),
        (_gz(b"\n" + b'{"columns":["a"]}\n'), "empty line instead of its header"),
        (_gz(b""), "empty"),
        (_gz(b"[" * 100_000 + b"\n"), "RecursionError"),
        (_gz(b'{"columns":["a"]}\n[1]\n[' + b"9" * 300_000), "longer than the 100,000-byte limit"),
        (_gz(json.dumps({"columns": [f"c{i}" for i in range(1_001)]}).encode() + b"\n"), "1,001 columns"),
        (_gz(b'{"columns":["a"]}\n' + b"[0]\n" * 2_000), "more than 1,000 rows"),
        (_gz(b'{"columns":["a"]}\n' + (b'["' + b"x" * 1_000 + b'"]\n') * 600), "500,000-byte limit"),
    ],
    ids=[
        "not-gzip",
        "cut-short",
        "no-columns",
        "ragged-row",
        "two-rows-a-line",
        "bad-json",
        "blank-lines",
        "blank-header",
        "empty",
        "deep-nesting",
        "endless-line",
        "too-many-columns",
        "too-many-rows",
        "too-many-bytes",
    ],
)
def test_a_malformed_or_oversized_stored_table_fails_with_a_readable_reason(
    body: bytes, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table_format, "MAX_LINE_BYTES", 100_000)
    limits = TableLimits(max_bytes=500_000, max_rows=1_000)
    with pytest.raises(TableFormatError) as raised:
        scan(io.BytesIO(body), limits)
    assert expected in str(raised.value), raised.value


def test_the_writer_refuses_rows_it_could_not_read_back() -> None:
    writer = TableWriter(io.BytesIO(), ["a", "b"], TableLimits(max_bytes=1_000, max_rows=3), "The result of x")
    with pytest.raises(TableFormatError, match="not one list of 2 values"):
        writer.add([1])
    for i in range(3):
        writer.add([i, i])
    with pytest.raises(TableFormatError, match="more than 3 rows"):
        writer.add([4, 4])
    big = TableWriter(io.BytesIO(), ["a"], TableLimits(max_bytes=1_000, max_rows=100), "The result of x")
    with pytest.raises(TableFormatError, match="1,000-byte limit"):
        for _ in range(10):
            big.add(["y" * 200])


# --- table nodes on references -----------------------------------------------------------------------------------


def test_a_pipeline_over_a_reference_gives_what_it_gives_inline_and_the_state_stays_small() -> None:
    rows = shipments(20_000)
    tables = MemoryTables()
    ref = stored(tables, COLUMNS, rows, "tool-results/t/call.jsonl.gz")

    state, saver = run(workflow(PIPELINE), ref, tables)

    assert state.get("failure") is None, state.get("failure")
    expected = apply_ops({"columns": COLUMNS, "rows": rows}, PIPELINE, {})
    assert state["results"]["out"] == expected
    assert state["results"]["shipments"] == ref  # the tool result stays a reference
    checkpoint = saver.get_tuple(graph_config("t", fake_ports(None, lambda r: ToolOutcome(ok=False))))
    assert checkpoint is not None
    state_bytes = len(saver.serde.dumps_typed(checkpoint.checkpoint["channel_values"])[1])
    assert state_bytes < 16 * 1024 < len(json.dumps(rows)) // 50, state_bytes


def test_a_large_output_is_written_as_a_new_stored_table_and_referenced() -> None:
    rows = shipments(5_000)
    tables = MemoryTables()
    ops = [{"op": "filter", "where": LATE}, {"op": "select", "columns": ["order_id", "qty"], "rename": {"qty": "n"}}]

    state, _ = run(workflow(ops), {"columns": COLUMNS, "rows": rows, "row_count": len(rows)}, tables)

    out = state["results"]["out"]
    expected = apply_ops({"columns": COLUMNS, "rows": rows}, ops, {})
    assert "rows" not in out and out["row_count"] == expected["row_count"] > table_format.INLINE_MAX_ROWS
    assert out["columns"] == ["order_id", "n"] and out["preview"] == expected["rows"][:PREVIEW_ROWS]
    assert out["table_ref"]["key"] == "tool-results/t/tables/out.jsonl.gz" and out["table_ref"]["format"] == "jsonl.gz"
    assert decode(tables, out) == expected["rows"]
    # the local agent's large inline answer was stored as well
    assert state["results"]["shipments"]["table_ref"]["key"] == "tool-results/t/tables/shipments.jsonl.gz"
    assert decode(tables, state["results"]["shipments"]) == rows


def test_a_join_streams_the_input_and_reads_a_referenced_right_side() -> None:
    rows = shipments(6_000)
    tables = MemoryTables()
    carriers = [[c, f"{c} Ltd", i] for i, c in enumerate(CARRIERS) if c]
    carriers_ref = stored(tables, ["carrier", "name", "rank"], carriers * 300, "tool-results/t/carriers.jsonl.gz")
    ops: list[dict[str, Any]] = [
        {"op": "filter", "where": {"==": [{"var": "qty"}, 3]}},
        {"op": "join", "right": "carriers", "on": ["carrier"], "how": "left"},
        {"op": "group_by", "keys": ["name"], "aggs": {"n": {"fn": "count"}}},
        {"op": "sort", "by": ["n", "name"], "descending": True},
    ]
    definition = workflow(
        ops,
        {"id": "carriers", "kind": "local_tool", "settings": {"tool": "db.query", "sql": "SELECT 2"}},
        edges=[["shipments", "carriers"], ["carriers", "out"]],
    )

    def tools(request: ToolRequest) -> ToolOutcome:
        refs = {
            "SELECT 1": stored(tables, COLUMNS, rows, "tool-results/t/shipments.jsonl.gz"),
            "SELECT 2": carriers_ref,
        }
        return ToolOutcome(ok=True, result=refs[request.args["sql"]])

    state = (
        compile_definition(definition)
        .compile()
        .invoke(START, graph_config("t", fake_ports(snapshot(task_type="refs"), tools, tables=tables)))
    )
    assert state.get("failure") is None, state.get("failure")
    expected = apply_ops(
        {"columns": COLUMNS, "rows": rows},
        ops,
        {"carriers": {"columns": ["carrier", "name", "rank"], "rows": carriers * 300}},
    )
    assert state["results"]["out"] == expected and expected["row_count"] == 6  # five carriers and the unmatched None


def test_the_join_refuses_a_right_side_over_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_module, "MAX_JOIN_RIGHT_ROWS", 100)
    right = {"columns": ["carrier", "x"], "rows": [[c, i] for i, c in enumerate(CARRIERS * 20)]}
    with pytest.raises(TableError, match="the right side has more than 100 rows; join the larger table as the input"):
        apply_ops(
            {"columns": COLUMNS, "rows": shipments(10)}, [{"op": "join", "right": "r", "on": ["carrier"]}], {"r": right}
        )


@pytest.mark.parametrize("how", ["inner", "left"])
def test_the_join_refuses_an_output_multiplied_by_repeated_keys(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # 30 rows by 30 on one key give 900 rows, over a cap of 500; a second join would give 27,000
    monkeypatch.setattr(table_module, "MAX_JOIN_OUTPUT_ROWS", 500)
    same_key = {"columns": ["k", "i"], "rows": [[1, i] for i in range(30)]}
    ops = [{"op": "join", "right": "r", "on": ["k"], "how": how, "right_prefix": "r_"}]
    with pytest.raises(TableError, match=r"ops\[0\] \(join\): the join gives more than 500 rows \(keys repeat"):
        apply_ops(same_key, ops, {"r": same_key})
    one_each = {"columns": ["k", "i"], "rows": [[i, i] for i in range(400)]}
    assert apply_ops(one_each, ops, {"r": one_each})["row_count"] == 400


@pytest.mark.parametrize(
    ("ops", "twice"),
    [
        ([{"op": "select", "columns": ["order_id", "carrier"], "rename": {"order_id": "carrier"}}], "'carrier'"),
        ([{"op": "select", "columns": ["qty", "qty"]}], "'qty'"),
        ([{"op": "group_by", "keys": ["carrier"], "aggs": {"carrier": {"fn": "count"}}}], "'carrier'"),
        ([{"op": "join", "right": "r", "on": ["order_id"], "right_prefix": "q"}], "'qty'"),
        (
            [{"op": "derive", "column": "r_carrier", "expr": 1}, {"op": "join", "right": "r", "on": ["order_id"]}],
            "'r_carrier'",
        ),
    ],
)
def test_two_columns_of_one_name_are_refused_not_silently_merged(ops: list[Any], twice: str) -> None:
    right = {"columns": ["order_id", "carrier", "ty"], "rows": [["o1", "R", 1]]}
    with pytest.raises(TableError, match=rf"\) has the column\(s\) {twice} twice; rename one"):
        apply_ops({"columns": COLUMNS, "rows": shipments(5)}, ops, {"r": right})
    with pytest.raises(TableError, match=r"^the input has the column\(s\) 'id' twice"):  # SELECT * over a join
        apply_ops({"columns": ["id", "id"], "rows": [[1, 2]]}, [{"op": "limit", "n": 1}], {})


def test_group_by_refuses_too_many_groups_distinct_values_or_list_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {"columns": COLUMNS, "rows": shipments(500)}
    monkeypatch.setattr(table_module, "MAX_GROUPS", 100)
    with pytest.raises(TableError, match=r"ops\[0\] \(group_by\): more than 100 groups"):
        apply_ops(table, [{"op": "group_by", "keys": ["order_id"], "aggs": {"n": {"fn": "count"}}}], {})
    monkeypatch.setattr(table_module, "MAX_DISTINCT_VALUES", 50)
    with pytest.raises(TableError, match="count_distinct holds more than 50 distinct values"):
        apply_ops(
            table,
            [{"op": "group_by", "keys": ["carrier"], "aggs": {"n": {"fn": "count_distinct", "column": "order_id"}}}],
            {},
        )
    listed = {"columns": ["k", "v"], "rows": [[["a", "list"], 1]]}
    with pytest.raises(TableError, match="column 'k' holds a list; use plain values as keys"):
        apply_ops(listed, [{"op": "group_by", "keys": ["k"], "aggs": {"n": {"fn": "count"}}}], {})
    with pytest.raises(TableError, match="holds a list or object"):
        apply_ops(
            listed, [{"op": "group_by", "keys": ["v"], "aggs": {"n": {"fn": "count_distinct", "column": "k"}}}], {}
        )
    with pytest.raises(TableError, match="holds a list"):
        apply_ops(listed, [{"op": "join", "right": "r", "on": ["k"]}], {"r": listed})


def test_true_and_1_are_two_keys_and_two_distinct_values_while_1_and_1_point_0_are_one() -> None:
    table = {"columns": ["k", "v"], "rows": [[True, "a"], [1, "b"], [1.0, "c"], [False, "d"], [0, "e"], [None, "f"]]}
    grouped = apply_ops(table, [{"op": "group_by", "keys": ["k"], "aggs": {"n": {"fn": "count"}}}], {})
    assert grouped["rows"] == [[True, 1], [1, 2], [False, 1], [0, 1], [None, 1]]

    flipped = {"columns": ["v", "k"], "rows": [[row[1], row[0]] for row in table["rows"]]}
    distinct = apply_ops(
        flipped, [{"op": "group_by", "keys": [], "aggs": {"n": {"fn": "count_distinct", "column": "k"}}}], {}
    )
    assert distinct["rows"] == [[4]]  # true, 1 (= 1.0), false, 0; null is not a value

    right = {"columns": ["k", "label"], "rows": [[True, "yes"], [1, "one"]]}
    joined = apply_ops(table, [{"op": "join", "right": "r", "on": ["k"]}], {"r": right})
    assert [(row[0], row[2]) for row in joined["rows"]] == [(True, "yes"), (1, "one"), (1.0, "one")]


def test_min_and_max_read_numbers_and_without_any_the_columns_text() -> None:
    table = {
        "columns": ["site", "v"],
        "rows": [
            ["a", "2026-11-03T08:00:00Z"],
            ["a", "2026-11-21T17:30:00Z"],
            ["a", None],
            ["a", "2026-10-30T23:59:00Z"],
            ["b", 5],
            ["b", ""],  # an empty cell is no value
            ["b", 2.5],
            ["c", True],
            ["c", None],
        ],
    }
    ops = [{"op": "group_by", "keys": ["site"], "aggs": {fn: {"fn": fn, "column": "v"} for fn in ("min", "max")}}]
    assert apply_ops(table, ops, {})["rows"] == [
        ["a", "2026-10-30T23:59:00Z", "2026-11-21T17:30:00Z"],
        ["b", 2.5, 5],
        ["c", None, None],
    ]
    # a stray text among numbers is refused, as sum refuses it: left out, it would pass without a word
    table["rows"].append(["b", "n/a"])
    with pytest.raises(TableError, match=r"min: min over column 'v': holds 'n/a', which is not a plain number"):
        apply_ops(table, ops, {})


@pytest.mark.parametrize(
    ("values", "fn", "message"),
    [
        ([1e308, 1e308], "sum", "n: the sum overflows"),
        ([1e308, 1e308], "avg", "n: the avg overflows"),
        ([10**400], "avg", "n: the avg overflows"),  # the integer total is exact; its average is no float
        ([10**400, 1.5], "sum", "n: the sum overflows"),
    ],
)
def test_an_aggregate_that_overflows_fails_readably(values: list[Any], fn: str, message: str) -> None:
    table = {"columns": ["v"], "rows": [[v] for v in values]}
    with pytest.raises(TableError, match=rf"^ops\[0\] \(group_by\): {message}"):
        apply_ops(table, [{"op": "group_by", "keys": [], "aggs": {"n": {"fn": fn, "column": "v"}}}], {})


@pytest.mark.parametrize("descending", [False, True])
def test_a_sort_over_spilled_runs_equals_one_in_memory_sort(descending: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_module, "SORT_RUN_ROWS", 7)
    spilled = _count_spilled_runs(monkeypatch)
    rows = [[*r, "mixed" if i % 9 == 0 else i % 4] for i, r in enumerate(shipments(100))]
    table = {"columns": [*COLUMNS, "m"], "rows": rows}

    result = apply_ops(table, [{"op": "sort", "by": ["carrier", "m"], "descending": descending}], {})

    def key(r: list[Any]) -> tuple[Any, ...]:
        return tuple(table_module.order_key(descending)(v) for v in (r[1], r[5]))

    assert result["rows"] == sorted(rows, key=key, reverse=descending)  # stable: ties keep their order
    assert sum(spilled) == 100 and len(spilled) == 15


def test_a_sort_over_its_cap_fails_readably(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_module, "MAX_SORT_ROWS", 50)
    with pytest.raises(TableError, match=r"ops\[0\] \(sort\): more than 50 rows to sort; filter or aggregate first"):
        apply_ops({"columns": COLUMNS, "rows": shipments(60)}, [{"op": "sort", "by": ["qty"]}], {})


def test_operations_stream_nothing_is_read_before_the_output_is_consumed() -> None:
    consumed: list[int] = []

    def rows() -> Any:
        for i, values in enumerate(shipments(1_000)):
            consumed.append(i)
            yield dict(zip(COLUMNS, values, strict=True))

    ops: list[dict[str, Any]] = [{"op": "filter", "where": LATE}, {"op": "limit", "n": 5}]
    _, out = run_ops(COLUMNS, rows(), ops, lambda node: ([], []))
    assert consumed == []
    assert len(list(out)) == 5 and len(consumed) < 30  # limit stops reading the input


# --- compute and render read references; failures are readable -------------------------------------------------


def _compute_workflow(source_ops: list[dict[str, Any]] | None) -> Any:
    """shipments → (out →) stats: stats.describe over the table node's output, or straight over the tool result."""
    source = "out" if source_ops is not None else "shipments"
    nodes: list[dict[str, Any]] = [
        {"id": "shipments", "kind": "local_tool", "settings": {"tool": "db.query", "sql": "SELECT 1"}},
        {"id": "stats", "kind": "compute", "settings": {"function": "stats.describe", "inputs": {"table": source}}},
    ]
    edges: list[Any] = [["shipments", "stats"]]
    if source_ops is not None:
        nodes.append({"id": "out", "kind": "table", "settings": {"input": "shipments", "ops": source_ops}})
        edges = [["shipments", "out"], ["out", "stats"]]
    return validate_definition({"key": "k", "name": "n", "nodes": nodes, "edges": edges})


def test_compute_reads_a_reference_and_refuses_one_over_its_cap() -> None:
    tables = MemoryTables()
    rows = shipments(4_000)
    ref = stored(tables, COLUMNS, rows, "tool-results/t/a.jsonl.gz")
    state, _ = run(_compute_workflow([{"op": "select", "columns": ["qty"]}]), ref, tables)
    assert state.get("failure") is None, state.get("failure")
    assert "table_ref" in state["results"]["out"]  # 4,000 rows: stored, and read back by the compute node
    assert state["results"]["stats"]["rows"] == 4_000
    assert state["results"]["stats"]["columns"]["qty"]["sum"] == sum(r[4] for r in rows)

    huge = {**ref, "row_count": 300_000}  # refused before anything is read
    state, _ = run(_compute_workflow(None), huge, tables)
    assert state["failure"]["error"] == "Workflow.TableError"
    assert "Node stats" in state["failure"]["cause"]
    assert "300,000 rows; at most 200,000 are read into memory here" in state["failure"]["cause"]


def test_render_shows_the_first_rows_of_a_reference_and_counts_the_rest() -> None:
    tables = MemoryTables()
    rows = shipments(3_000)
    report = {"id": "report", "kind": "render", "settings": {"template": "sections", "sections": ["out"]}}
    definition = workflow(
        [{"op": "select", "columns": ["order_id"]}], report, edges=[["shipments", "out"], ["out", "report"]]
    )
    state, _ = run(definition, stored(tables, COLUMNS, rows, "tool-results/t/a.jsonl.gz"), tables)
    markdown = state["output"]["markdown"]
    assert "| o49 |" in markdown and "| o50 |" not in markdown
    assert "_2,950 more rows not shown._" in markdown


def test_a_reference_to_a_missing_or_corrupt_object_fails_the_node_readably() -> None:
    tables = MemoryTables()
    ref = stored(tables, COLUMNS, shipments(10), "tool-results/t/a.jsonl.gz")
    tables.objects["tool-results/t/a.jsonl.gz"] = gzip.compress(b'{"columns":["order_id"]}\n["o1", 2]\n')
    state, _ = run(workflow([{"op": "limit", "n": 3}]), ref, tables)
    assert state["failure"]["error"] == "Workflow.TableError"
    assert (
        "Node out: A line after row 0 of the table of shipments is not one list of 1 values"
        in state["failure"]["cause"]
    )

    del tables.objects["tool-results/t/a.jsonl.gz"]
    state, _ = run(workflow([{"op": "limit", "n": 3}]), ref, tables)
    assert state["failure"]["error"] == "Workflow.TableError" and "is gone" in state["failure"]["cause"]


def test_without_a_store_tables_stay_inline_up_to_the_inline_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = shipments(3_000)

    def tools(request: ToolRequest) -> ToolOutcome:
        return ToolOutcome(ok=True, result={"columns": COLUMNS, "rows": rows, "row_count": len(rows)})

    ports = fake_ports(snapshot(task_type="refs"), tools)
    ports.tables = None
    graph = compile_definition(workflow([{"op": "filter", "where": LATE}])).compile()
    state = graph.invoke(START, graph_config("t", ports))
    assert state["results"]["out"] == apply_ops(
        {"columns": COLUMNS, "rows": rows}, [{"op": "filter", "where": LATE}], {}
    )

    monkeypatch.setattr("phi.workflows.tables.MAX_ROWS", 100)
    state = graph.invoke(START, graph_config("t2", ports))
    assert state["failure"]["error"] == "Workflow.TableError" and "larger than 100 rows" in state["failure"]["cause"]

    # And by size: derived text is not counted while it streams, so the inline table counts its bytes.
    monkeypatch.setattr("phi.workflows.tables.MAX_ROWS", 200_000)
    monkeypatch.setattr(table_format, "INLINE_WITHOUT_STORE_MAX_BYTES", 100_000)
    state = graph.invoke(START, graph_config("t3", ports))
    assert state["failure"]["error"] == "Workflow.TableError"
    assert "larger than 100,000 bytes as JSON, and no table store (bucket)" in state["failure"]["cause"]


def test_the_daily_warehouse_report_has_the_same_figures_from_referenced_results(warehouse_sqlite: Path) -> None:
    tables = MemoryTables()
    inline = sqlite_tools(warehouse_sqlite)

    def as_references(request: ToolRequest) -> ToolOutcome:
        outcome = inline(request)
        assert outcome.result is not None
        key = f"tool-results/t/{len(tables.objects)}.jsonl.gz"
        return ToolOutcome(ok=True, result=stored(tables, outcome.result["columns"], outcome.result["rows"], key))

    graph = compile_definition(parse_stored(get_template("daily_warehouse_report").definition)).compile()
    task = snapshot(task_input={"date": date(2026, 11, 20).isoformat()})
    by_reference = graph.invoke(START, graph_config("r", fake_ports(task, as_references, tables=tables)))
    by_value_ports = fake_ports(task, inline)
    by_value_ports.tables = None  # everything inline, as before table references
    by_value = graph.invoke(START, graph_config("v", by_value_ports))
    assert by_reference.get("failure") is None and len(tables.objects) == 3
    assert all("table_ref" in by_reference["results"][name] for name in ("orders", "picks", "shipments"))
    assert by_reference["output"]["kpis"] == by_value["output"]["kpis"]
    assert by_reference["output"]["markdown"] == by_value["output"]["markdown"]


def test_a_sort_spills_a_run_by_the_text_it_holds_not_only_by_its_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    # A column an earlier node derived arrives as plain input: 100,000 rows of 9,000 characters sorted in one run
    # had held 1.1 GB. Runs now end at SORT_RUN_CHARS of text too.
    monkeypatch.setattr(table_module, "SORT_RUN_CHARS", 5_000)
    spilled = _count_spilled_runs(monkeypatch)
    rows = [[i % 13, f"{i:04d}" + "x" * 996] for i in range(60)]  # 1,000 characters a row: 5 rows a run

    result = apply_ops({"columns": ["k", "text"], "rows": rows}, [{"op": "sort", "by": ["k"]}], {})

    assert result["rows"] == sorted(rows, key=lambda r: r[0])
    assert spilled == [5] * 12


def test_the_join_refuses_a_right_side_holding_more_text_than_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_module, "MAX_JOIN_RIGHT_CHARS", 10_000)
    right = {"columns": ["carrier", "note"], "rows": [[c, "n" * 1_000] for c in CARRIERS * 3]}
    with pytest.raises(TableError, match="the right side holds more than 10,000 characters of text"):
        apply_ops(
            {"columns": COLUMNS, "rows": shipments(10)}, [{"op": "join", "right": "r", "on": ["carrier"]}], {"r": right}
        )


def _count_spilled_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rows of each run the sort spills, in order, as it spills them."""
    spilled: list[int] = []
    spill = table_module._spill

    def counted_spill(rows: list[dict[str, Any]], columns: list[str]) -> Any:
        spilled.append(len(rows))
        return spill(rows, columns)

    monkeypatch.setattr(table_module, "_spill", counted_spill)
    return spilled

"""The values the table ops, expressions and report templates read and write: figures printed in full, exact
sums, SQL's nulls, rounding as written, numbers and timestamps written as text."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from phi.definitions.document import validate_definition
from phi.definitions.expressions import ExpressionError, compile_expression, evaluate
from phi.definitions.functions import COMPUTE, RENDER, markdown_table
from phi.definitions.table import TableError, apply_ops
from phi.definitions.templates import get_template
from phi.workflows.compiler import compile_definition
from phi.workflows.contracts import ToolOutcome, ToolRequest
from phi.workflows.ports import graph_config
from tests.support.fake_ports import MemoryTables, fake_ports, snapshot


def _table(columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"columns": columns, "rows": rows}


# --- 1. figures in a report ------------------------------------------------------------------------------


def test_a_report_prints_whole_numbers_in_full_and_amounts_to_the_cent() -> None:
    shipments = _table(["carrier", "qty", "price"], [["DHL", 12000, 1.0], ["DHL", 345, 1.0], ["UPS", 7, 1234567.891]])
    by_carrier = apply_ops(
        shipments,
        [
            {
                "op": "group_by",
                "keys": ["carrier"],
                "aggs": {"units": {"fn": "sum", "column": "qty"}, "avg_price": {"fn": "avg", "column": "price"}},
            }
        ],
        {},
    )
    shown = markdown_table(by_carrier)
    assert "| DHL | 12345 | 1 |" in shown  # an exact integer sum, as its digits
    assert "| UPS | 7 | 1,234,567.89 |" in shown
    assert "e+" not in shown


def test_an_integer_is_printed_as_its_digits_as_it_may_be_an_identifier_and_amounts_round_half_up() -> None:
    shown = markdown_table(_table(["order_id", "year", "zip", "amount"], [[100234, 2026, 10115, 2.675]]))
    assert "| 100234 | 2026 | 10115 | 2.68 |" in shown
    assert markdown_table(_table(["huge"], [[2.0**60]])).endswith("| 1.15292150460685e+18 |")


def test_a_report_prints_fractions_to_four_significant_digits_and_drops_trailing_zeros() -> None:
    rates = _table(["name", "rate"], [["late", 0.0456789], ["big", 1234.5], ["whole", 12345.0]])
    markdown = RENDER["sections"].run("Rates", {"rates": rates, "figures": {"total": 98765.0}}, [], "Wanda")["markdown"]
    assert "| late | 0.04568 |" in markdown
    assert "| big | 1,234.5 |" in markdown
    assert "| whole | 12,345 |" in markdown
    assert "- **total**: 98,765" in markdown


# --- 2. exact sums and integer arithmetic ----------------------------------------------------------------


def _aggregate(values: list[Any], fn: str = "sum") -> Any:
    table = _table(["v"], [[v] for v in values])
    ops = [{"op": "group_by", "keys": [], "aggs": {"n": {"fn": fn, "column": "v"}}}]
    return apply_ops(table, ops, {})["rows"][0][0]


def test_a_sum_of_integers_is_an_exact_integer() -> None:
    total = _aggregate([2**53, 1])
    assert total == 2**53 + 1 and isinstance(total, int)
    assert _aggregate([3, 4], "avg") == 3.5


def test_a_sum_with_floats_is_correctly_rounded() -> None:
    assert _aggregate([0.1] * 10) == 1.0
    assert _aggregate([1e16, 1.0, -1e16]) == 1.0
    assert _aggregate([1, 0.1, 0.2]) == 1.3


def test_integer_arithmetic_in_expressions_stays_exact() -> None:
    assert evaluate({"-": [2**63 + 1, 2**63]}, {}) == 1
    product = evaluate({"*": [{"var": "a"}, 3]}, {"a": 2**60})
    assert product == 3 * 2**60 and isinstance(product, int)
    assert isinstance(evaluate({"+": [1, 2]}, {}), int)
    assert evaluate({"+": [0.1, 0.2, 0.3]}, {}) == 0.6
    with pytest.raises(ExpressionError, match="overflows"):
        evaluate({"*": [2**1000, 2**1000]}, {})


def test_an_exact_sum_past_64_bits_is_kept_as_its_digits_in_the_task_state() -> None:
    answer = {"columns": ["v"], "rows": [[2**62], [2**62], [2**62]], "row_count": 3}
    ops = [{"op": "group_by", "keys": [], "aggs": {"n": {"fn": "sum", "column": "v"}}}]
    state = _run_table_node(ops, answer)
    assert state["results"]["out"]["rows"] == [[str(3 * 2**62)]]


def _run_table_node(ops: list[dict[str, Any]], answer: dict[str, Any]) -> dict[str, Any]:
    """A definition of a tool node answering `answer` and a table node `out` running `ops`, run to its end."""
    definition = validate_definition(
        {
            "key": "values",
            "name": "Values",
            "nodes": [
                {"id": "rows", "kind": "local_tool", "settings": {"tool": "db.query", "sql": "SELECT 1"}},
                {"id": "out", "kind": "table", "settings": {"input": "rows", "ops": ops}},
            ],
            "edges": [["rows", "out"]],
        }
    )

    def tools(request: ToolRequest) -> ToolOutcome:
        return ToolOutcome(ok=True, result=answer)

    ports = fake_ports(snapshot(task_type="values"), tools, tables=MemoryTables())
    graph = compile_definition(definition).compile(checkpointer=InMemorySaver())
    state: dict[str, Any] = graph.invoke({"task_id": "t", "org_id": "o", "agent_id": "a"}, graph_config("t", ports))
    return state


# --- 3. a null key joins nothing ---------------------------------------------------------------------------

LEFT = _table(["k", "lv"], [[1, "l1"], [None, "lnull"]])
RIGHT = _table(["k", "rv"], [[1, "r1"], [None, "rnull"]])


def test_a_null_key_never_matches_in_a_join() -> None:
    joined = apply_ops(LEFT, [{"op": "join", "right": "R", "on": ["k"]}], {"R": RIGHT})
    assert joined["rows"] == [[1, "l1", "r1"]]


def test_an_empty_text_key_never_matches_either_as_it_is_null_elsewhere_in_the_ops() -> None:
    csv_left = _table(["k", "lv"], [["", "blank"], [" ", "space"], ["A", "a"]])
    csv_right = _table(["k", "rv"], [["", "r-blank"], ["A", "r-a"]])
    joined = apply_ops(csv_left, [{"op": "join", "right": "R", "on": ["k"]}], {"R": csv_right})
    assert joined["rows"] == [["A", "a", "r-a"]]


def test_a_left_join_keeps_a_row_with_a_null_key_with_nulls_for_the_right_columns() -> None:
    joined = apply_ops(LEFT, [{"op": "join", "right": "R", "on": ["k"], "how": "left"}], {"R": RIGHT})
    assert joined["rows"] == [[1, "l1", "r1"], [None, "lnull", None]]


# --- 4. aggregates of no rows ------------------------------------------------------------------------------


def test_group_by_without_keys_over_no_rows_gives_one_row_as_sql_does() -> None:
    fns = ("count", "count_distinct", "sum", "avg", "min", "max")
    aggs = {fn: {"fn": fn} if fn == "count" else {"fn": fn, "column": "v"} for fn in fns}
    grouped = apply_ops(_table(["k", "v"], []), [{"op": "group_by", "keys": [], "aggs": aggs}], {})
    assert grouped["columns"] == list(fns)
    assert grouped["rows"] == [[0, 0, None, None, None, None]]
    by_key = apply_ops(_table(["k", "v"], []), [{"op": "group_by", "keys": ["k"], "aggs": aggs}], {})
    assert by_key["rows"] == []  # with keys, no group: no row


# --- 5. rounding as written ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "digits", "rounded"),
    [(2.5, 0, 3), (-2.5, 0, -3), (0.5, None, 1), (2.675, 2, 2.68), (1.005, 2, 1.01), (1250, -2, 1300), (7, 2, 7)],
)
def test_round_rounds_half_away_from_zero_on_the_value_as_written(value: Any, digits: Any, rounded: Any) -> None:
    args = [value] if digits is None else [value, digits]
    assert evaluate({"round": args}, {}) == rounded
    derived = apply_ops(_table(["v"], [[value]]), [{"op": "derive", "column": "r", "expr": {"round": args}}], {})
    assert derived["rows"] == [[value, rounded]]


# --- 6. nulls last -------------------------------------------------------------------------------------------

GAPS = _table(["id", "v"], [["a", 3], ["b", None], ["c", 1], ["d", None], ["e", 2]])


@pytest.mark.parametrize("descending", [False, True])
def test_sort_puts_nulls_last_in_both_directions(descending: bool) -> None:
    ordered = apply_ops(GAPS, [{"op": "sort", "by": ["v"], "descending": descending}], {})
    expected = ["a", "e", "c"] if descending else ["c", "e", "a"]
    assert [row[0] for row in ordered["rows"]] == [*expected, "b", "d"]


def test_top_k_takes_values_before_nulls_in_both_directions() -> None:
    bottom = apply_ops(GAPS, [{"op": "top_k", "k": 2, "by": "v", "descending": False}], {})
    top = apply_ops(GAPS, [{"op": "top_k", "k": 2, "by": "v"}], {})
    assert [row[1] for row in bottom["rows"]] == [1, 2]
    assert [row[1] for row in top["rows"]] == [3, 2]
    only_nulls_left = apply_ops(GAPS, [{"op": "top_k", "k": 4, "by": "v", "descending": False}], {})
    assert [row[1] for row in only_nulls_left["rows"]] == [1, 2, 3, None]


# --- 7. the columns an expression reads ------------------------------------------------------------------------

DOTTED = _table(["unit.price", "unit", "carrier"], [[5, {"price": 9, "weight": 2}, "DHL"], [7, None, "UPS"]])


def test_a_var_reads_a_column_whose_name_holds_a_dot_before_a_path_into_another() -> None:
    derived = apply_ops(DOTTED, [{"op": "derive", "column": "p", "expr": {"var": "unit.price"}}], {})
    assert [row[-1] for row in derived["rows"]] == [5, 7]
    weights = apply_ops(DOTTED, [{"op": "derive", "column": "w", "expr": {"var": "unit.weight"}}], {})
    assert [row[-1] for row in weights["rows"]] == [2, None]  # a path into a column holding JSON


@pytest.mark.parametrize("op", ["filter", "derive"])
def test_an_expression_reading_no_column_is_refused_naming_it_and_the_columns(op: str) -> None:
    misspelt = {"==": [{"var": "carier"}, "DHL"]}
    settings = {"op": "filter", "where": misspelt} if op == "filter" else {"op": op, "column": "c", "expr": misspelt}
    with pytest.raises(TableError) as refused:
        apply_ops(DOTTED, [settings], {})
    assert str(refused.value) == (
        f"ops[0] ({op}): the expression reads the column 'carier', which the table does not have "
        "(has: unit.price, unit, carrier); if only some rows may lack it (JSON that leaves out its null keys), "
        'read it with a default: {"var": ["carier", null]}'
    )


def test_a_var_with_a_default_may_name_an_absent_column() -> None:
    kept = apply_ops(DOTTED, [{"op": "filter", "where": {"==": [{"var": ["region", "EU"]}, "EU"]}}], {})
    assert len(kept["rows"]) == 2


def test_a_column_the_expression_asks_missing_about_or_a_table_without_columns_is_not_refused() -> None:
    guarded = {"if": [{"missing": ["closed_at"]}, True, {"<": [{"var": "closed_at"}, "2026-11-01"]}]}
    assert len(apply_ops(DOTTED, [{"op": "filter", "where": guarded}], {})["rows"]) == 2
    # an http node's answer `[]` is a table without columns: a filter on it gives an empty table, as before
    nothing = apply_ops({"columns": [], "rows": []}, [{"op": "filter", "where": {"==": [{"var": "x"}, 1]}}], {})
    assert nothing["rows"] == []


# --- 8. expression errors say where -------------------------------------------------------------------------

CARRIERS = _table(["carrier", "m"], [["DHL", 1], [None, None]])


def test_an_arithmetic_error_names_the_op_the_operator_and_the_column() -> None:
    with pytest.raises(ExpressionError) as failed:
        apply_ops(CARRIERS, [{"op": "derive", "column": "d", "expr": {"-": [{"var": "m"}, 1]}}], {})
    assert str(failed.value) == 'ops[0] (derive): d: -: expected a number, got null (reading "m")'


def test_a_comparison_error_names_the_op_the_operator_and_the_values() -> None:
    with pytest.raises(ExpressionError) as failed:
        apply_ops(CARRIERS, [{"op": "filter", "where": {">": [{"var": "carrier"}, 3]}}], {})
    assert str(failed.value) == (
        "ops[0] (filter): >: cannot compare 'DHL' with 3: a number with a text that is no number (reading \"carrier\")"
    )


def test_rounds_places_are_ascii_digits_or_refused_in_words() -> None:
    assert evaluate({"round": [2.675, " 2 "]}, {}) == 2.68
    for places in ("²", "-+5", "1e2", "9" * 12):
        with pytest.raises(ExpressionError, match="the number of decimal places must be a whole number"):
            evaluate({"round": [2.675, places]}, {})


def test_a_null_is_in_no_text_and_another_value_is_refused_in_words() -> None:
    kept = apply_ops(CARRIERS, [{"op": "filter", "where": {"in": [{"var": "carrier"}, "UPS DHL"]}}], {})
    assert kept["rows"] == [["DHL", 1]]
    with pytest.raises(ExpressionError) as failed:
        apply_ops(CARRIERS, [{"op": "filter", "where": {"in": [{"var": "m"}, "1 2"]}}], {})
    assert str(failed.value) == "ops[0] (filter): in: looks for a text within the text '1 2', got 1 (reading \"m\")"


# --- 9. numbers written as text ---------------------------------------------------------------------------------

CSV_QTY = _table(["carrier", "qty"], [["DHL", "10"], ["DHL", "9"], ["UPS", " 100 "], ["UPS", ""], ["DHL", "1,234.5"]])


def test_aggregates_read_a_text_that_is_a_plain_number_as_that_number() -> None:
    fns = ("sum", "avg", "min", "max", "count")
    aggs = {fn: {"fn": fn, "column": "qty"} for fn in fns}
    totals = apply_ops(CSV_QTY, [{"op": "group_by", "keys": [], "aggs": aggs}], {})
    assert dict(zip(fns, totals["rows"][0], strict=True)) == {
        "sum": 1353.5,
        "avg": 338.375,  # the empty cell is no value
        "min": "9",  # compared as numbers, given as written (see the codes below)
        "max": "1,234.5",
        "count": 4,  # the rows with a value: the empty cell, as avg says, is none
    }


def test_a_sum_over_a_text_that_is_no_number_is_refused_naming_the_column_and_the_value() -> None:
    table = _table(["qty"], [["10"], ["n/a"]])
    with pytest.raises(TableError) as refused:
        apply_ops(table, [{"op": "group_by", "keys": [], "aggs": {"units": {"fn": "sum", "column": "qty"}}}], {})
    assert str(refused.value).startswith(
        "ops[0] (group_by): units: column 'qty' holds \"n/a\", which is not a number; sum reads numbers only"
    )
    # not a plain number: thousands separators only in groups of three, and never where a decimal comma could be
    # meant ("1,500" is 1.5 in a decimal-comma locale's export: read as 1500 the sum would be 1,000 times too large)
    for misgrouped in ("1,23", "1.234,5", "1,500", "0,250", "-2,125"):
        with pytest.raises(TableError, match="which is not a number"):
            apply_ops(
                _table(["qty"], [[misgrouped]]),
                [{"op": "group_by", "keys": [], "aggs": {"units": {"fn": "avg", "column": "qty"}}}],
                {},
            )


@pytest.mark.parametrize("op", ["sort", "top_k"])
def test_sort_and_top_k_order_numeric_text_as_numbers_with_blanks_last(op: str) -> None:
    table = _table(["v"], [["10"], [None], ["9"], [""], [100], ["abc"], ["-2.5"]])
    settings = {"op": "sort", "by": ["v"]} if op == "sort" else {"op": "top_k", "by": "v", "k": 7, "descending": False}
    ordered = apply_ops(table, [settings], {})
    assert [row[0] for row in ordered["rows"]] == ["-2.5", "9", "10", 100, "abc", None, ""]


def test_equality_is_loose_between_a_number_and_its_text_and_orders_read_numeric_text() -> None:
    assert evaluate({"==": [42, "42"]}, {}) is True
    assert evaluate({"!=": [{"var": "q"}, 1234.5]}, {"q": "1,234.5"}) is False
    assert evaluate({"==": ["42", "42.0"]}, {}) is False  # two texts compare as texts
    assert evaluate({">": [{"var": "q"}, 9]}, {"q": "10"}) is True
    assert evaluate({">": ["10", "9"]}, {}) is True
    kept = apply_ops(CSV_QTY, [{"op": "filter", "where": {">=": [{"var": "qty"}, 100]}}], {})
    assert [row[1] for row in kept["rows"]] == [" 100 ", "1,234.5"]
    assert evaluate({"+": ["1,234.5", 1]}, {}) == 1235.5


# --- 10. timestamps written as text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("2026-11-20T09:00:00", "2026-11-20 10:00:00"),  # as text, ' ' < 'T' puts 10:00 first
        ("2026-11-20T10:00:00+01:00", "2026-11-20T09:30:00Z"),  # 09:00 UTC before 09:30 UTC; as text "1" > "0"
        ("2026-11-20", "2026-11-20 00:00:01"),  # a date alone is its midnight
    ],
)
def test_timestamp_texts_compare_in_time_order(earlier: str, later: str) -> None:
    row = {"a": earlier, "b": later}
    assert evaluate({"<": [{"var": "a"}, {"var": "b"}]}, row) is True
    assert evaluate({">=": [{"var": "a"}, {"var": "b"}]}, row) is False
    assert evaluate({"!=": [{"var": "a"}, {"var": "b"}]}, row) is True


def test_count_of_a_column_and_count_distinct_skip_empty_texts_as_they_skip_nulls() -> None:
    cells = _table(["carrier"], [["DHL"], [""], ["  "], [None], ["DHL"], ["UPS"]])
    aggs = {"rows": {"fn": "count"}, "with": {"fn": "count", "column": "carrier"}}
    aggs["kinds"] = {"fn": "count_distinct", "column": "carrier"}
    counted = apply_ops(cells, [{"op": "group_by", "keys": [], "aggs": aggs}], {})
    assert counted["rows"] == [[6, 3, 2]]


def test_a_comma_is_a_thousands_separator_only_where_it_cannot_be_a_decimal_comma() -> None:
    table = _table(["qty"], [["1,234,567"], ["1,234.5"], ["-2,000,000.25"]])
    totals = apply_ops(table, [{"op": "group_by", "keys": [], "aggs": {"units": {"fn": "sum", "column": "qty"}}}], {})
    assert totals["rows"] == [[1_234_567 + 1_234.5 - 2_000_000.25]]


def test_a_long_text_is_never_read_as_a_timestamp_nor_kept_by_the_cache() -> None:
    from phi.definitions import values

    before = values._reading.cache_info().currsize
    descriptions = _table(["d"], [[f"2026-11-20 {n} " + "x" * 10_000] for n in range(50)])
    kept = apply_ops(descriptions, [{"op": "filter", "where": {"<": [{"var": "d"}, "2026-11-21"]}}], {})
    assert len(kept["rows"]) == 50  # compared as text
    assert values._reading.cache_info().currsize == before


def test_a_date_alone_compares_with_a_time_with_a_zone_by_that_times_date_as_written() -> None:
    # a timestamptz column arrives with its offset; "on or after 1 November" is asked with a date alone
    assert evaluate({">=": ["2026-11-01T00:30:00+01:00", "2026-11-01"]}, {}) is True
    assert evaluate({"<": ["2026-10-31T23:30:00-05:00", "2026-11-01"]}, {}) is True
    assert evaluate({"==": ["2026-11-01T00:00:00Z", "2026-11-01"]}, {}) is True
    # and a time with a zone is never equal to one without (no refusal for an equality)
    assert evaluate({"==": ["2026-11-01T09:00:00Z", "2026-11-01 09:00:00"]}, {}) is False
    assert evaluate({"!=": ["2026-11-01T09:00:00Z", "2026-11-01 09:00:00"]}, {}) is True
    dated = _table(["at"], [["2026-11-02T08:00:00+00:00"], ["2026-11-01"], ["2026-11-01T09:00:00+00:00"]])
    assert apply_ops(dated, [{"op": "sort", "by": ["at"]}], {})["rows"] == [
        ["2026-11-01"],
        ["2026-11-01T09:00:00+00:00"],
        ["2026-11-02T08:00:00+00:00"],
    ]


def test_the_same_instant_written_two_ways_is_equal() -> None:
    assert evaluate({"==": ["2026-11-20T10:00:00+01:00", "2026-11-20T09:00:00Z"]}, {}) is True
    assert evaluate({"==": ["2026-11-20 09:00:00", "2026-11-20T09:00:00"]}, {}) is True
    assert evaluate({"==": ["2026-11-20", "2026-11-20T00:00:00"]}, {}) is True


def test_a_timestamp_with_a_zone_and_one_without_are_refused_naming_both() -> None:
    table = _table(["a", "b"], [["2026-11-20T09:00:00Z", "2026-11-20 10:00:00"]])
    with pytest.raises(ExpressionError) as refused:
        apply_ops(table, [{"op": "filter", "where": {"<": [{"var": "a"}, {"var": "b"}]}}], {})
    message = str(refused.value)
    assert message.startswith("ops[0] (filter): <: cannot compare '2026-11-20T09:00:00Z', which carries a time zone,")
    assert "with '2026-11-20 10:00:00', which does not" in message
    mixed = _table(["at"], [["2026-11-20T09:00:00Z"], ["2026-11-20 10:00:00"]])
    for op in (
        {"op": "sort", "by": ["at"]},
        {"op": "top_k", "by": "at", "k": 1},
        {"op": "group_by", "keys": [], "aggs": {"first": {"fn": "min", "column": "at"}}},
    ):
        with pytest.raises(TableError, match=r"cannot compare '2026-11-20T09:00:00Z', which carries a time zone"):
            apply_ops(mixed, [op], {})


MOMENTS = ["2026-11-20T12:00:00", "2026-11-20 10:00:00", None, "2026-11-20T06:00:00", "2026-11-19"]


def test_sort_top_k_min_and_max_order_timestamp_texts_in_time_order() -> None:
    table = _table(["at"], [[moment] for moment in MOMENTS])
    in_order = ["2026-11-19", "2026-11-20T06:00:00", "2026-11-20 10:00:00", "2026-11-20T12:00:00", None]
    assert [r[0] for r in apply_ops(table, [{"op": "sort", "by": ["at"]}], {})["rows"]] == in_order
    latest = apply_ops(table, [{"op": "top_k", "by": "at", "k": 2}], {})
    assert [r[0] for r in latest["rows"]] == ["2026-11-20T12:00:00", "2026-11-20 10:00:00"]
    aggs = {"first": {"fn": "min", "column": "at"}, "last": {"fn": "max", "column": "at"}}
    assert apply_ops(table, [{"op": "group_by", "keys": [], "aggs": aggs}], {})["rows"] == [
        ["2026-11-19", "2026-11-20T12:00:00"]
    ]


def test_the_shift_handover_lists_the_oldest_open_orders_first_whatever_their_separator() -> None:
    definition = get_template("shift_handover").definition
    [oldest_open] = [node for node in definition["nodes"] if node["id"] == "oldest_open"]
    columns = ["order_id", "created_at", "priority", "customer", "carrier", "promised_ship_at"]
    open_orders = _table(
        columns,
        [
            ["o2", "2026-11-20 09:00:00", "standard", "ACME", "DHL", "2026-11-21 09:00:00"],
            ["o1", "2026-11-20T06:00:00", "express", "Globex", "UPS", "2026-11-20T18:00:00"],
        ],
    )
    oldest = apply_ops(open_orders, oldest_open["settings"]["ops"], {})
    assert [row[0] for row in oldest["rows"]] == ["o1", "o2"]


# --- 11. a CSV's text beside a database's numbers: keys, extremes, booleans, describe ------------------------------

# Key values as a database (numbers, booleans) and a CSV (text) write them, timestamps in several spellings.
KEYS = [
    *(42, 42.0, "42", " 42 ", "042", "42.0", 7, "7", "007", 2.5, "2.5", "2.50", 1234567, "1,234,567", "1,234", 1234),
    *(True, 1, "1", False, 0, "true", "abc", "ABC", None, "", " "),
    *("2026-11-20", "2026-11-20 00:00:00", "2026-11-20T00:00:00", "2026-11-20T00:00:00+05:00"),
    *("2026-11-19T19:00:00Z", "2026-11-20T00:00:00-03:00", "2026-11-20T09:00:00Z", "2026-11-20T10:00:00+01:00"),
    "2026-11-20 09:00:00",
]


def _joined_pairs(left: list[list[Any]], right: list[list[Any]], on: list[str]) -> list[tuple[Any, Any]]:
    """The (left id, right id) pairs an inner join on `on` gives, in order, duplicates kept."""
    left_table = _table(["id", *on], [[n, *values] for n, values in enumerate(left)])
    right_table = _table(["rid", *on], [[n, *values] for n, values in enumerate(right)])
    joined = apply_ops(left_table, [{"op": "join", "right": "R", "on": on}], {"R": right_table})
    return [(row[0], row[-1]) for row in joined["rows"]]


def _keys_equal(a: Any, b: Any) -> bool:
    """What a join's keys should do: `==`, but nothing matches a null or an empty text, and a boolean only a
    boolean (JSON tells `true` from 1, where `==`, as Python, does not)."""
    if any(v is None or (isinstance(v, str) and not v.strip()) for v in (a, b)):
        return False
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return evaluate({"==": [a, b]}, {}) is True


def test_a_join_matches_the_keys_that_equals_holds_equal_a_number_and_its_text_among_them() -> None:
    pairs = _joined_pairs([[k] for k in KEYS], [[k] for k in KEYS], ["k"])
    expected = [(i, j) for i, a in enumerate(KEYS) for j, b in enumerate(KEYS) if _keys_equal(a, b)]
    assert sorted(pairs) == expected  # each match once (a left row's matches come by their spelling)
    as_values = {(type(KEYS[i]), KEYS[i], type(KEYS[j]), KEYS[j]) for i, j in pairs}  # (True, 1) is not (1, 1)

    def matched(a: Any, b: Any) -> bool:
        return (type(a), a, type(b), b) in as_values

    assert all(matched(a, b) for a, b in [(42, "42"), ("42", 42), (42, " 42 "), (42.0, "042"), (42, 42.0)])
    assert matched(1234567, "1,234,567") and matched(1, 1) and matched(True, True)
    assert not any(matched(a, b) for a, b in [("007", "7"), ("42", "42.0"), (1234, "1,234"), ("abc", "ABC")])
    assert not any(matched(a, b) for a, b in [(True, 1), (True, "1"), (1, True), (False, 0), ("true", True)])
    # the same moment written two ways, and a date alone beside a time with a zone written at its midnight
    assert matched("2026-11-20T09:00:00Z", "2026-11-20T10:00:00+01:00")
    assert matched("2026-11-20", "2026-11-20T00:00:00+05:00") and matched("2026-11-20", "2026-11-20 00:00:00")
    assert not matched("2026-11-20T00:00:00+05:00", "2026-11-20T00:00:00-03:00")
    assert not matched("2026-11-20T09:00:00Z", "2026-11-20 09:00:00")  # a zone and none: never equal


def test_a_join_on_two_columns_matches_each_as_equals_does_and_finds_each_right_row_once() -> None:
    values = [42, "42", "042", "2026-11-20", "2026-11-20 00:00:00", "2026-11-20T00:00:00+05:00", "x"]
    keys = [[a, b] for a in values for b in values]
    pairs = _joined_pairs(keys, keys, ["k1", "k2"])
    expected = [
        (i, j)
        for i, (a1, a2) in enumerate(keys)
        for j, (b1, b2) in enumerate(keys)
        if _keys_equal(a1, b1) and _keys_equal(a2, b2)
    ]
    assert sorted(pairs) == expected


def test_a_left_join_of_a_csv_to_a_database_table_keeps_its_codes_and_fills_the_unmatched_with_nulls() -> None:
    customers = _table(["customer_id", "name"], [[42, "ACME"], [7, "Globex"], [True, "flag"]])
    csv_orders = _table(["customer_id", "order"], [["42", "o1"], ["007", "o2"], [" 7", "o3"], ["1", "o4"], ["", "o5"]])
    joined = apply_ops(
        csv_orders, [{"op": "join", "right": "C", "on": ["customer_id"], "how": "left"}], {"C": customers}
    )
    assert joined["rows"] == [
        ["42", "o1", "ACME"],
        ["007", "o2", "Globex"],  # 7 == "007", as `==` says
        [" 7", "o3", "Globex"],
        ["1", "o4", None],  # a boolean is no number: true is not 1
        ["", "o5", None],  # an empty cell is no key
    ]


def test_group_by_and_count_distinct_hold_a_number_and_its_plain_text_as_one_key() -> None:
    table = _table(["k"], [[42], ["42"], [42.0], ["042"], [" 42 "], [True], [1], ["1"], [2.5], ["2.5"], ["2.50"]])
    grouped = apply_ops(table, [{"op": "group_by", "keys": ["k"], "aggs": {"n": {"fn": "count"}}}], {})
    # each group shows its key as its first row wrote it; "042" and " 42 " stay apart, as "042" != "42"
    assert grouped["rows"] == [[42, 3], ["042", 1], [" 42 ", 1], [True, 1], [1, 2], [2.5, 2], ["2.50", 1]]
    ops = [{"op": "group_by", "keys": [], "aggs": {"n": {"fn": "count_distinct", "column": "k"}}}]
    assert apply_ops(table, ops, {})["rows"] == [[7]]
    for group in ([42, "42", 42.0], [1, "1"], [2.5, "2.5"]):  # each group's values are equal as `==` says
        assert all(_keys_equal(a, b) for a in group for b in group)


def test_min_and_max_order_numeric_text_as_numbers_and_give_it_as_written() -> None:
    codes = _aggregate(["010", "007", "", None, "7", "9"], "min"), _aggregate(["010", "007", "9"], "max")
    assert codes == ("007", "010")  # "007" and "7" are both 7: the first is kept
    assert _aggregate([3, 1.5, "2"], "min") == 1.5 and _aggregate([3, 1.5, "2"], "max") == 3  # numbers stay numbers
    assert _aggregate(["1,234,567", 99], "max") == "1,234,567"


@pytest.mark.parametrize("fn", ["sum", "avg"])
def test_a_sum_or_avg_over_a_boolean_is_refused_naming_the_column_the_value_and_how_to_count(fn: str) -> None:
    table = _table(["paid"], [[10], [True]])
    with pytest.raises(TableError) as refused:
        apply_ops(table, [{"op": "group_by", "keys": [], "aggs": {"total": {"fn": fn, "column": "paid"}}}], {})
    assert str(refused.value) == (
        f"ops[0] (group_by): total: column 'paid' holds true, a boolean, which {fn} does not take as a number; to "
        'count the rows where it is true, filter them ({"op": "filter", "where": {"==": [{"var": "paid"}, true]}}) '
        "and count them"
    )


def test_describe_reads_numeric_text_as_sum_does_and_counts_the_values_that_are_not_numbers() -> None:
    table = _table(
        ["carrier", "qty", "weight"],
        [
            ["DHL", "12", 2],
            ["UPS", "7.5", 3],
            ["DHL", "1,234,567", None],
            ["DHL", "", 4],
            ["UPS", "n/a", 5],
            ["UPS", True, 6],
            ["DHL", "1,234", 7],  # 1,234 or 1.234: no number, as for sum
        ],
    )
    described = COMPUTE["stats.describe"].run({"table": table}, {})
    assert described["rows"] == 7
    assert described["columns"] == {
        "qty": {
            "count": 3,
            "sum": 1_234_586.5,
            "min": 7.5,
            "max": 1_234_567,
            "mean": 1_234_586.5 / 3,
            "not_numbers": 3,
        },
        "weight": {"count": 6, "sum": 27, "min": 2, "max": 7, "mean": 4.5},
    }
    assert described["note"] == (
        "column 'qty': 3 value(s) that are not numbers (the first: \"n/a\") are left out of its figures"
    )
    sums = apply_ops(table, [{"op": "group_by", "keys": [], "aggs": {"w": {"fn": "sum", "column": "weight"}}}], {})
    assert sums["rows"] == [[described["columns"]["weight"]["sum"]]]


def test_describe_refuses_a_sum_past_the_floats_range_in_words() -> None:
    with pytest.raises(ValueError, match=r"column 'v': the sum overflows \(it is not a finite number\)"):
        COMPUTE["stats.describe"].run({"table": _table(["v"], [[1e308], ["1e308"]])}, {})


# --- 12. texts written as numbers, dates beside zoned times, and texts as truths --------------------------------


def _ordered(values: list[Any], op: dict[str, Any]) -> list[Any]:
    return [row[0] for row in apply_ops(_table(["v"], [[v] for v in values]), [op], {})["rows"]]


@pytest.mark.parametrize("fn", ["min", "max"])
@pytest.mark.parametrize("stray", ["1,500", "(2,000)", "€12.50", "12%", "1.234,56", "1 234,5", "n/a", True])
def test_min_and_max_refuse_a_value_that_is_no_plain_number_beside_numbers(fn: str, stray: Any) -> None:
    # left out, "1,500" (1500, or 1.5 from a decimal-comma export) would leave a maximum of 950 without a word
    with pytest.raises(TableError) as refused:
        _aggregate(["950", stray, "3", ""], fn)
    message = str(refused.value)
    assert message.startswith(f"ops[0] (group_by): n: {fn} over column 'v': ")
    assert repr(stray) in message or str(stray).lower() in message


def test_min_and_max_of_amounts_of_one_unit_compare_their_numbers_and_give_them_as_written() -> None:
    assert _aggregate(["5%", "12%", "", "100%"], "max") == "100%"
    assert _aggregate(["5%", "12%", "100%"], "min") == "5%"
    assert _aggregate(["€5.00", "€12.50"], "max") == "€12.50"
    assert _aggregate(["$1,234.50", "($2,000.00)", "-$5", "$(3)"], "min") == "($2,000.00)"
    assert _aggregate(["12.50 EUR", "EUR 9", "€10"], "max") == "12.50 EUR"  # one currency, three spellings
    # a column without numbers keeps its text order, a text written like a number among the rest
    assert _aggregate(["A-12", "1,500", "B-3"], "max") == "B-3"


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (["12%", "5"], "cannot order '12%', an amount in %, with '5', a plain number: is 12% the number 12 or 0.12?"),
        (["€5", "$7"], "cannot order '€5', an amount in EUR, with '$7', an amount in $: numbers in different units"),
        (["950", "1,500"], "cannot order '1,500' with '950': '1,500' is written like a number but with a comma that"),
        (["12,50", "5,00"], "'5,00' is written like a number but with a decimal comma"),  # as text 12,50 < 5,00
    ],
)
def test_sort_top_k_min_and_max_refuse_numbers_they_cannot_place_naming_the_column_and_values(
    values: list[Any], named: str
) -> None:
    for op, where in [
        ({"op": "sort", "by": ["v"]}, "ops[0] (sort): column 'v': "),
        ({"op": "top_k", "by": "v", "k": 1}, "ops[0] (top_k): column 'v': "),
        ({"op": "group_by", "keys": [], "aggs": {"n": {"fn": "max", "column": "v"}}}, "ops[0] (group_by): n: max"),
    ]:
        with pytest.raises(TableError) as refused:
            apply_ops(_table(["v"], [[v] for v in values]), [op], {})
        assert str(refused.value).startswith(where) and named in str(refused.value)


def test_sort_and_top_k_order_amounts_of_one_unit_by_their_number() -> None:
    rates = ["5%", "100%", None, "12%", "-3.5 %"]
    assert _ordered(rates, {"op": "sort", "by": ["v"]}) == ["-3.5 %", "5%", "12%", "100%", None]
    assert _ordered(rates, {"op": "top_k", "by": "v", "k": 2}) == ["100%", "12%"]
    prices = ["€12.50", "€5.00", "n/a", "(€20.00)"]  # a word among amounts comes after them, as among numbers
    assert _ordered(prices, {"op": "sort", "by": ["v"]}) == ["(€20.00)", "€5.00", "€12.50", "n/a"]


@pytest.mark.parametrize(
    "texts",
    [
        ["A-12", "A-9", "B-1", "a-1"],  # codes
        ["1.2.3", "1.10.0", "0.9.1"],  # versions
        ["10.0.0.1", "192.168.100.200", "9.9.9.9"],  # IP addresses
        ["+1 555 0100", "+44 20 7946 0958", "030 123 456"],  # phone numbers
        ["612 345 679", "612 345 678", "732 829 320"],  # mobiles and registration numbers written in groups of three
        ["1.234.567", "TOP 10", "12 kg", "PHP 8"],  # no amounts: dots without a decimal comma, no currency
    ],
)
def test_ordinary_text_columns_still_sort_as_text(texts: list[str]) -> None:
    assert _ordered(texts, {"op": "sort", "by": ["v"]}) == sorted(texts)
    assert _aggregate(texts, "max") == max(texts) and _aggregate(texts, "min") == min(texts)
    assert evaluate({"<": [texts[0], texts[1]]}, {}) is (texts[0] < texts[1])


def test_comparisons_order_amounts_of_one_unit_and_refuse_what_they_cannot_tell() -> None:
    rates = _table(["v"], [["5%"], ["12%"], ["100%"], [""]])
    kept = apply_ops(rates, [{"op": "filter", "where": {">": [{"var": "v"}, "10%"]}}], {})
    assert [row[0] for row in kept["rows"]] == ["12%", "100%"]  # as text, "5%" > "10%" and "100%" < "10%"
    assert evaluate({"<": ["€5.00", "€12.50"]}, {}) is True
    assert evaluate({">": ["($1,234.50)", "$5"]}, {}) is False
    # a text written like a number but not plainly is refused beside a number, however the number is written
    for limit in ("1000", 1000, "1,000", "10%"):
        with pytest.raises(ExpressionError, match=r"^>: cannot order '1,500' with .*\(reading \"v\"\)$"):
            evaluate({">": [{"var": "v"}, limit]}, {"v": "1,500"})
    # so is an amount beside a plain number or another unit, and a word beside a number written as text
    refused = [("12%", 10), ("12%", "10"), ("€5", "$7"), ("€5", "n/a"), ("abc", "1000"), ("2026-11-20", "2026")]
    for a, b in refused:
        with pytest.raises(ExpressionError, match=r"^>: cannot (order|compare)"):
            evaluate({">": [{"var": "a"}, b]}, {"a": a})
    assert evaluate({">": [{"var": "a"}, "10%"]}, {"a": ""}) is False  # an empty cell is a missing value


ZONED_AND_DATE = ["2026-12-01T02:00:00+05:00", "2026-12-01", "2026-11-30T23:00:00-05:00"]


def test_a_date_alone_among_times_at_different_offsets_is_refused_by_every_order() -> None:
    # filter >= "2026-12-01" keeps …02:00+05:00 (on 1 December as written), though its instant is before
    # …23:00-05:00 on 30 November: no order of the three agrees with both comparisons
    assert evaluate({">=": [ZONED_AND_DATE[0], ZONED_AND_DATE[1]]}, {}) is True
    assert evaluate({"<": [ZONED_AND_DATE[2], ZONED_AND_DATE[1]]}, {}) is True
    assert evaluate({"<": [ZONED_AND_DATE[0], ZONED_AND_DATE[2]]}, {}) is True
    for op in (
        {"op": "sort", "by": ["v"]},
        {"op": "top_k", "by": "v", "k": 1},
        {"op": "group_by", "keys": [], "aggs": {"n": {"fn": "min", "column": "v"}}},
    ):
        with pytest.raises(TableError, match=r"cannot order the date '2026-12-01' among times written at different"):
            _ordered(ZONED_AND_DATE, op)
    # without a date alone, times at different offsets are ordered by their instants
    assert _ordered([ZONED_AND_DATE[2], ZONED_AND_DATE[0]], {"op": "sort", "by": ["v"]}) == [
        ZONED_AND_DATE[0],
        ZONED_AND_DATE[2],
    ]


def test_a_date_alone_among_times_at_one_offset_is_ordered_as_the_comparisons_say() -> None:
    column = ["2026-12-01T02:00:00+05:00", "2026-12-01", "2026-11-30T23:00:00+05:00", "2026-12-01T00:00:00+05:00"]
    ordered = _ordered(column, {"op": "sort", "by": ["v"]})
    assert ordered == ["2026-11-30T23:00:00+05:00", "2026-12-01", "2026-12-01T00:00:00+05:00", column[0]]
    assert all(evaluate({"<=": [a, b]}, {}) for a, b in itertools.pairwise(ordered))
    assert _aggregate(column, "min") == "2026-11-30T23:00:00+05:00" and _aggregate(column, "max") == column[0]
    kept = _ordered(column, {"op": "filter", "where": {">=": [{"var": "v"}, "2026-12-01"]}})
    assert kept == [column[0], "2026-12-01", "2026-12-01T00:00:00+05:00"]


FLAGS = _table(["f", "n"], [["false", 1], ["no", 2], ["0", 3], ["true", 4]])


def test_a_filter_on_a_text_is_refused_naming_the_column_and_the_comparison_to_write() -> None:
    with pytest.raises(ExpressionError) as refused:
        apply_ops(FLAGS, [{"op": "filter", "where": {"var": "f"}}], {})  # JSON Logic would keep all four rows
    assert str(refused.value) == (
        "ops[0] (filter): the condition gives 'false', a text, which is neither true nor false (JSON Logic counts "
        'every text but an empty one as true, "false", "no" and "0" too); compare it with the text that means '
        'true, {"==": [{"var": "f"}, "true"]}, or, to test that it is filled in, {"!": {"missing": ["f"]}} '
        '(reading "f")'
    )
    kept = apply_ops(FLAGS, [{"op": "filter", "where": {"==": [{"var": "f"}, "true"]}}], {})
    assert kept["rows"] == [["true", 4]]


def test_booleans_numbers_nulls_and_empty_texts_keep_their_truth() -> None:
    table = _table(["f"], [[True], [False], [1], [0], [None], [""], [" "], [[1]], [[]]])
    assert _ordered([row[0] for row in table["rows"]], {"op": "filter", "where": {"var": "v"}}) == [True, 1, [1]]
    filled = {"!": {"missing": ["v"]}}  # `missing` names null and an empty text, as JSON Logic does
    assert _ordered(["x", "", " ", None, "2026-11-20"], {"op": "filter", "where": filled}) == ["x", "2026-11-20"]


@pytest.mark.parametrize(
    ("expr", "tester"),
    [
        ({"if": [{"var": "f"}, 1, 0]}, "if: a condition is 'No'"),
        ({"!": {"var": "f"}}, "!: its argument is 'No'"),
        ({"!!": {"var": "f"}}, "!!: its argument is 'No'"),
        ({"and": [{"var": "f"}, 1]}, "and: an operand before its last is 'No'"),
    ],
)
def test_every_test_of_truth_refuses_a_text_in_derive_and_in_a_condition(expr: dict[str, Any], tester: str) -> None:
    way_out = '{"==": [{"var": "f"}, "Yes"]}'  # the text that means true, as the column writes it
    with pytest.raises(ExpressionError) as refused:
        apply_ops(_table(["f"], [["No"]]), [{"op": "derive", "column": "d", "expr": expr}], {})
    assert str(refused.value).startswith(f"ops[0] (derive): d: {tester}, a text") and way_out in str(refused.value)
    with pytest.raises(ExpressionError, match=re.escape(tester)):
        evaluate(expr, {"f": "No"})  # a condition node's or an edge's expression
    assert bool(evaluate(expr, {"f": ""})) is bool(evaluate(expr, {"f": False}))  # an empty text is false


def test_or_still_gives_its_first_filled_operand_as_a_value() -> None:
    expr = {"or": [{"var": "region"}, "unknown"]}
    filled = apply_ops(_table(["region"], [["EU"], [""], [None]]), [{"op": "derive", "column": "r", "expr": expr}], {})
    assert [row[1] for row in filled["rows"]] == ["EU", "unknown", "unknown"]
    with pytest.raises(ExpressionError, match=r"the condition gives 'false', a text"):  # tested where it is used
        apply_ops(FLAGS, [{"op": "filter", "where": {"or": [{"var": "f"}, {">": [{"var": "n"}, 3]}]}}], {})


def test_or_fills_a_blank_cell_as_it_fills_an_empty_one() -> None:
    # A padded export's "  " is empty to `!`, `missing` and the filters; `or` had kept it as the value.
    fill = {"or": [{"var": "region"}, "unknown"]}
    for blank in ("", "  ", None):
        assert evaluate(fill, {"region": blank}) == "unknown"
        assert compile_expression(fill)({"region": blank}) == "unknown"
    assert evaluate(fill, {"region": "North"}) == "North"

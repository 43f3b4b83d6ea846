"""The values the table ops, expressions and report templates read and write: figures printed in full, exact
sums, SQL's nulls, rounding as written, numbers and timestamps written as text."""

from __future__ import annotations

from typing import Any

from phi.definitions.functions import RENDER, markdown_table
from phi.definitions.table import apply_ops


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
    assert "| DHL | 12,345 | 1 |" in shown
    assert "| UPS | 7 | 1,234,567.89 |" in shown
    assert "e+" not in shown


def test_a_report_prints_fractions_to_four_significant_digits_and_drops_trailing_zeros() -> None:
    rates = _table(["name", "rate"], [["late", 0.0456789], ["big", 1234.5], ["whole", 12345.0]])
    markdown = RENDER["sections"].run("Rates", {"rates": rates, "figures": {"total": 98765.0}}, [])["markdown"]
    assert "| late | 0.04568 |" in markdown
    assert "| big | 1,234.5 |" in markdown
    assert "| whole | 12,345 |" in markdown
    assert "- **total**: 98,765" in markdown

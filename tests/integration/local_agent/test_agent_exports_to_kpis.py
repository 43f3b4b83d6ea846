"""Customer exports read by the local agent's real `file.read` and computed by the cloud's daily KPIs, as the
report's nodes pass them (JSON-safe values, the node's column_mapping): an Excel promise written as a date cell
is a whole day, blank optional fields are empty rather than unreadable, and two columns under one contract name
are refused rather than one of them read by accident. Each expected figure is worked out in the comments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from phi.definitions.functions import COMPUTE, check_contract, map_columns
from phi_agent.config import FileReadSettings
from phi_agent.tools.base import json_safe
from phi_agent.tools.file_read import FileReadTool

DAY = date(2026, 11, 20)
KPIS = COMPUTE["warehouse.daily_kpis"]


def _read(folder: Path, path: str) -> dict[str, Any]:
    with FileReadTool(FileReadSettings(base_dir=folder)).open({"path": path}, None) as result:
        rows = [[json_safe(value) for value in row] for row in result.rows]
    return {"columns": list(result.columns), "rows": rows, "row_count": len(rows)}


def _kpis(datasets: dict[str, dict[str, Any]], mapping: dict[str, dict[str, str]]) -> dict[str, Any]:
    mapped = {name: map_columns(table, mapping.get(name) or {}) for name, table in datasets.items()}
    assert check_contract(KPIS, mapped) == []
    return KPIS.run(mapped, {"day": DAY.isoformat(), "timezone": "Europe/Berlin", "windowed": False})


def _no_picks() -> dict[str, Any]:
    return {"columns": ["picker_id", "qty", "picked_at"], "rows": [], "row_count": 0}


def test_an_excel_date_cell_promise_is_the_whole_day(tmp_path: Path) -> None:
    # Given shipments promised for the 20th as date cells (formatted yyyy-mm-dd), shipped that afternoon, and one
    # promised at a time of day (a datetime cell) and shipped after it
    book = Workbook()
    sheet = book.active
    sheet.append(["Order", "Due", "Shipped"])
    for n in range(10):
        sheet.append([f"O-{n}", DAY, datetime(2026, 11, 20, 15, n)])
        sheet.cell(row=n + 2, column=2).number_format = "yyyy-mm-dd"
    sheet.append(["O-timed", datetime(2026, 11, 20, 0, 0), datetime(2026, 11, 20, 0, 30)])
    sheet.cell(row=12, column=2).number_format = "yyyy-mm-dd hh:mm"  # midnight as a time: a deadline at 00:00
    book.save(tmp_path / "shipments.xlsx")
    shipments = _read(tmp_path, "shipments.xlsx")
    assert shipments["rows"][0][1] == "2026-11-20" and shipments["rows"][-1][1] == "2026-11-20T00:00:00"

    # When the day's KPIs are computed
    figures = _kpis(
        {"shipments": shipments, "orders": _orders([]), "picks": _no_picks()},
        {"shipments": {"order_id": "Order", "promised_at": "Due", "shipped_at": "Shipped"}},
    )

    # Then the ten shipped on their promised day are on time; only the one promised for 00:00 is late
    assert figures["late"]["orders_due"] == 11 and figures["late"]["late_order_ids"] == ["O-timed"]


def test_excel_date_cells_as_pick_times_count_on_their_day_but_in_no_hour(tmp_path: Path) -> None:
    # Given 40 picks whose time is a date cell (formatted yyyy-mm-dd: file.read sends '2026-11-20'), and 2 at 09:10
    book = Workbook()
    sheet = book.active
    sheet.append(["Picker", "Qty", "Picked"])
    for n in range(40):
        sheet.append([f"P{n % 4}", 1, DAY])
        sheet.cell(row=n + 2, column=3).number_format = "yyyy-mm-dd"
    sheet.append(["P9", 3, datetime(2026, 11, 20, 9, 10)])
    sheet.append(["P9", 3, datetime(2026, 11, 20, 9, 40)])
    book.save(tmp_path / "picks.xlsx")
    picks = _read(tmp_path, "picks.xlsx")
    assert picks["rows"][0][2] == "2026-11-20"

    # When the day's KPIs are computed
    figures = _kpis(
        {"picks": picks, "orders": _orders([])},
        {"picks": {"picker_id": "Picker", "qty": "Qty", "picked_at": "Picked"}},
    )

    # Then all 42 are the day's lines (46 units), but only the two timed ones fall in an hour (09:00, not 00:00)
    assert (figures["throughput"]["lines_picked"], figures["throughput"]["units_picked"]) == (42, 46)
    assert {h["hour"]: h["lines"] for h in figures["hourly"] if h["lines"]} == {9: 2}
    assert [p["lines_per_hour"] for p in figures["pickers"]] == [None, None, None, None, 2.0]
    assert any(w.startswith("40 of 42 rows of 'picks' give picked_at as a date with no time of day") for w in
               figures["data_warnings"])  # fmt: skip


def _orders(rows: list[list[Any]]) -> dict[str, Any]:
    columns = ["order_id", "created_at", "shipped_at", "line_count"]
    return {"columns": columns, "rows": rows, "row_count": len(rows)}


def test_blank_optional_fields_and_padded_timestamps_are_empty_not_unreadable(tmp_path: Path) -> None:
    # Given a padded CSV export: an order without a line count and one whose shipped_at is blanks
    (tmp_path / "orders.csv").write_text(
        "order_id,created_at,shipped_at,line_count\nA,2026-11-20 09:00,   ,3\nB,2026-11-20 11:00,,\n",
        encoding="utf-8",
    )
    figures = _kpis({"orders": _read(tmp_path, "orders.csv"), "picks": _no_picks()}, {})

    # Then both orders were received and both are open (not one dropped as unreadable)
    assert figures["throughput"]["orders_received"] == 2 and figures["backlog"]["orders"] == 2
    assert all(quality["unreadable"] == 0 for quality in figures["data_quality"]), figures["data_quality"]


@pytest.mark.parametrize(
    ("header", "mapping"),
    [
        # the export has its own created_at (an import time) besides the column mapped onto that name
        ("order_id,Order Date,created_at,shipped_at", {"created_at": "Order Date"}),
        # a header written twice, mapped by name
        ("order_id,Date,Date,shipped_at", {"created_at": "Date"}),
    ],
)
def test_two_columns_under_one_contract_name_are_refused(tmp_path: Path, header: str, mapping: dict[str, str]) -> None:
    (tmp_path / "orders.csv").write_text(f"{header}\nA,2026-11-20 09:00,2026-11-21 02:00,\n", encoding="utf-8")
    orders = map_columns(_read(tmp_path, "orders.csv"), mapping)
    problems = check_contract(KPIS, {"orders": orders, "picks": _no_picks()})
    assert problems == [
        "dataset 'orders' has column(s) created_at more than once (after column_mapping); rename or leave out all "
        "but one"
    ]
    with pytest.raises(ValueError, match="created_at more than once"):  # and the function itself never guesses
        KPIS.run({"orders": orders, "picks": _no_picks()}, {"day": DAY.isoformat(), "windowed": False})


@pytest.mark.parametrize("nan", [float("nan"), Decimal("NaN"), float("inf")])
def test_a_nan_quantity_as_the_agent_sends_it_is_refused_by_its_value(nan: Any) -> None:
    # The local agent's JSON form of a NaN or infinite float or NUMERIC, through the day's KPIs: named as what it is
    sent = json_safe(nan)
    picks = {"columns": ["picker_id", "qty", "picked_at"], "rows": [["P1", sent, "2026-11-20T08:00:00"]]}
    figures = _kpis({"picks": picks, "orders": _orders([])}, {})
    quality = next(q for q in figures["data_quality"] if q["dataset"] == "picks")
    assert quality["examples"] == [f"row 0, qty: expected a finite number, got {sent!r}"]

"""The two customisations of the daily warehouse template the tests prove (README "Customising a template"):
a warehouse whose tables and columns have other names, and one that sends CSV/Excel exports instead of database
access. Each is an edit of the definition only; the data comes from a sample warehouse SQLite file, so the
figures can be checked against tests/support/warehouse_reference.py on that file."""

from __future__ import annotations

import copy
import csv
import sqlite3
from pathlib import Path
from typing import Any

# Another warehouse's names for the sample's tables and columns (created from a sample file by RENAMED_SCHEMA).
RENAMED_TABLES = {
    "ord_hdr": "SELECT order_id AS ord_no, created_at AS created_ts, promised_ship_at AS due_ts FROM orders",
    "ord_ln": "SELECT order_id AS ord_no, line_no AS ln FROM order_lines",
    "shp": "SELECT shipment_id AS shp_no, order_id AS ord_no, carrier AS carrier_code, promised_at AS due_ts, "
    "shipped_at AS shipped_ts FROM shipments",
    "pick_txn": "SELECT pick_id AS txn_id, picker_id AS emp_no, qty AS quantity, picked_at AS ts FROM picks",
    "emp": "SELECT picker_id AS emp_no, name AS full_name, shift AS shift_code FROM pickers",
}
TIMESTAMP_COLUMNS = {"created_ts", "due_ts", "shipped_ts", "ts"}


def renamed_sql(schema: str = "") -> dict[str, str]:
    """The three queries rewritten for the other names (`schema` e.g. 'wms.' for PostgreSQL)."""
    s = schema
    return {
        "orders": f"""SELECT h.ord_no, h.created_ts, h.due_ts, s.carrier_code, s.shipped_ts,
       (SELECT COUNT(*) FROM {s}ord_ln l WHERE l.ord_no = h.ord_no) AS n_lines
FROM {s}ord_hdr h LEFT JOIN {s}shp s ON s.ord_no = h.ord_no
WHERE h.created_ts < :window_end AND (s.shipped_ts IS NULL OR s.shipped_ts >= :window_start)""",
        "picks": f"""SELECT t.txn_id, t.emp_no, e.full_name, e.shift_code, t.quantity, t.ts
FROM {s}pick_txn t LEFT JOIN {s}emp e ON e.emp_no = t.emp_no
WHERE t.ts >= :window_start AND t.ts < :window_end""",
        "shipments": f"""SELECT s.shp_no, s.ord_no, s.carrier_code, s.due_ts, s.shipped_ts FROM {s}shp s
WHERE (s.due_ts >= :window_start AND s.due_ts < :window_end)
   OR (s.shipped_ts >= :window_start AND s.shipped_ts < :window_end)""",
    }


RENAMED_MAPPING = {
    "orders": {
        "order_id": "ord_no",
        "created_at": "created_ts",
        "promised_ship_at": "due_ts",
        "shipped_at": "shipped_ts",
        "line_count": "n_lines",
    },
    "picks": {
        "picker_id": "emp_no",
        "picker_name": "full_name",
        "picker_shift": "shift_code",
        "qty": "quantity",
        "picked_at": "ts",
    },
    "shipments": {"order_id": "ord_no", "promised_at": "due_ts", "shipped_at": "shipped_ts"},
}
EXPORT_MAPPING = {
    "orders": {
        "order_id": "Order No",
        "created_at": "Created",
        "promised_ship_at": "Ship By",
        "shipped_at": "Shipped",
        "line_count": "Lines",
    },
    "picks": {"picker_id": "Operator", "qty": "Units", "picked_at": "Scanned"},
    "shipments": {"order_id": "Order No", "promised_at": "Due", "shipped_at": "Dispatched"},
}


def _nodes(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in definition["nodes"]}


def renamed_definition(template: dict[str, Any], schema: str = "") -> dict[str, Any]:
    """The template edited for the other names: new SQL in the three query nodes, the columns mapped."""
    edited = copy.deepcopy(template)
    nodes = _nodes(edited)
    for name, sql in renamed_sql(schema).items():
        nodes[name]["settings"]["sql"] = sql
        # the template's SQLite text names the template's tables; an agent on SQLite would run it instead of `sql`
        nodes[name]["settings"].pop("sql_variants", None)
    nodes["kpis"]["settings"]["column_mapping"] = RENAMED_MAPPING
    return edited


def export_definition(template: dict[str, Any]) -> dict[str, Any]:
    """The template edited for exports: file.read instead of db.query, the headers mapped, whole days."""
    edited = copy.deepcopy(template)
    nodes = _nodes(edited)
    nodes["orders"]["settings"] = {"tool": "file.read", "path": "orders.csv"}
    nodes["shipments"]["settings"] = {"tool": "file.read", "path": "shipments.csv"}
    nodes["picks"]["settings"] = {"tool": "file.read", "path": "picks.xlsx", "sheet": "Picks"}
    nodes["kpis"]["settings"]["column_mapping"] = EXPORT_MAPPING
    nodes["kpis"]["settings"]["args"]["windowed"] = False
    return edited


def rename_sqlite(source: Path, target: Path) -> Path:
    with sqlite3.connect(source) as db, sqlite3.connect(target) as renamed:
        for table, select in RENAMED_TABLES.items():
            rows = db.execute(select)
            columns = [d[0] for d in rows.description]
            renamed.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
            renamed.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in columns)})", rows.fetchall())
    return target


def renamed_rows(source: Path) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Each renamed table's columns and rows, for loading into another database."""
    with sqlite3.connect(source) as db:
        found = {}
        for table, select in RENAMED_TABLES.items():
            rows = db.execute(select)
            found[table] = ([d[0] for d in rows.description], rows.fetchall())
        return found


def write_exports(db: Path, folder: Path) -> Path:
    """What a customer without database access sends: whole-table exports with their own column headers
    (orders and shipments as CSV, picks as an Excel workbook)."""
    from openpyxl import Workbook

    folder.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db) as connection:
        orders = connection.execute(
            """SELECT o.order_id, o.created_at, o.promised_ship_at, s.shipped_at,
                      (SELECT COUNT(*) FROM order_lines l WHERE l.order_id = o.order_id)
               FROM orders o LEFT JOIN shipments s ON s.order_id = o.order_id"""
        ).fetchall()
        picks = connection.execute("SELECT picker_id, qty, picked_at FROM picks").fetchall()
        shipments = connection.execute("SELECT order_id, carrier, promised_at, shipped_at FROM shipments").fetchall()
    for name, header, rows in (
        ("orders.csv", ["Order No", "Created", "Ship By", "Shipped", "Lines"], orders),
        ("shipments.csv", ["Order No", "Carrier", "Due", "Dispatched"], shipments),
    ):
        with (folder / name).open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows([["" if value is None else value for value in row] for row in rows])
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Picks"
    sheet.append(["Operator", "Units", "Scanned"])
    for row in picks:
        sheet.append(list(row))
    workbook.save(folder / "picks.xlsx")
    return folder

"""A small hand-made warehouse day with known answers, stored in every common timestamp form.

The rows are written as wall-clock times in the warehouse's time zone (so the expected figures are the same
whatever that zone is) and stored as: ISO text with `T` or a space, zone-less or with an offset or `Z`
(SQLite files), PostgreSQL TIMESTAMP (zone-less) and TIMESTAMPTZ in a database whose time zone is
America/New_York. The expected figures (`EXPECTED`) were worked out by hand from the rows below; the
comments say why each row counts or not.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

DAY = date(2026, 11, 20)  # the report day, in the warehouse's time zone


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# (pick_id, order_id, picker_id, qty, local wall-clock time)
PICKS = [
    (1, "A", "P1", 1, "2026-11-20 00:00:00"),  # first instant of the day: in
    (2, "A", "P1", 2, "2026-11-20 00:30:00"),  # in (the hours a UTC-bound query in New York lost)
    (3, "B", "P2", 1, "2026-11-20 02:10:00"),  # in
    (4, "B", "P1", 1, "2026-11-20 08:00:00"),
    (5, "C", "P1", 1, "2026-11-20 08:30:00"),
    (6, "C", "P1", 3, "2026-11-20 09:15:00"),
    (7, "D", "P1", 1, "2026-11-20 10:45:00"),
    (8, "E", "P2", 2, "2026-11-20 14:00:00"),
    (9, "E", "P2", 2, "2026-11-20 14:20:00"),
    (10, "F", "P2", 1, "2026-11-20 23:30:00"),
    (11, "G", "P2", 1, "2026-11-20 23:59:59"),  # last second of the day: in
    (12, "A", "P1", 5, "2026-11-19 23:59:59"),  # the second before the day: out
    (13, "H", "P2", 5, "2026-11-21 00:00:00"),  # the day's end is exclusive: out
    (14, "H", "P1", 5, "2026-11-19 12:00:00"),  # yesterday: out
    (15, "J", "P1", 5, "2026-11-21 09:00:00"),  # tomorrow: out
]
# (order_id, created, promised ship time, shipped or None, order lines)
ORDERS = [
    ("A", "2026-11-19 20:00:00", "2026-11-20 10:00:00", "2026-11-20 09:00:00", 2),  # due, on time
    ("B", "2026-11-20 00:05:00", "2026-11-20 12:00:00", "2026-11-20 13:00:00", 1),  # due, shipped late
    ("C", "2026-11-20 23:55:00", "2026-11-20 23:58:00", None, 3),  # due, unshipped at the end: late; open
    ("D", "2026-11-18 10:00:00", "2026-11-19 21:00:00", "2026-11-20 00:15:00", 1),  # overdue, shipped late today
    ("E", "2026-11-20 01:00:00", "2026-11-21 00:30:00", "2026-11-20 23:45:00", 2),  # due tomorrow, shipped today
    ("F", "2026-11-19 22:00:00", "2026-11-20 00:10:00", "2026-11-19 23:50:00", 1),  # due today, shipped yesterday
    ("G", "2026-11-19 23:00:00", "2026-11-19 23:50:00", "2026-11-21 00:05:00", 4),  # open at the end (ships after)
    ("H", "2026-11-21 00:10:00", "2026-11-22 12:00:00", None, 1),  # created tomorrow: not in the backlog
    ("J", "2026-11-15 08:00:00", "2026-11-16 12:00:00", None, 5),  # never shipped, no shipment row: open, oldest
]
EXPECTED: dict[str, Any] = {
    "lines_picked": 11,  # picks 1-11
    "units_picked": 16,
    "hourly": {0: 2, 2: 1, 8: 2, 9: 1, 10: 1, 14: 2, 23: 2},  # local hour → lines
    "picker_lines": {"P1": 6, "P2": 5},
    "picker_first_last": {"P1": ("00:00", "10:45"), "P2": ("02:10", "23:59")},
    "orders_received": 3,  # B, C, E
    "orders_shipped": 4,  # A, B, D, E
    "orders_due": 4,  # A, B, C, F
    "promised_earlier_shipped_late": 1,  # D
    "rate_base": 5,
    "late_count": 3,  # B, C, D
    "late_order_ids": ["D", "B", "C"],  # by promise time
    "backlog_orders": 3,  # C, G, J
    "backlog_lines": 12,  # 3 + 4 + 5
    "backlog_overdue": 3,  # C, G, J promised before the end of the day
    "backlog_oldest_age_hours": 136.0,  # J: 2026-11-15 08:00 to 2026-11-21 00:00
}

SCHEMA = [
    "CREATE TABLE pickers (picker_id TEXT PRIMARY KEY, name TEXT, shift TEXT)",
    "CREATE TABLE skus (sku_id TEXT PRIMARY KEY, zone_id TEXT)",
    "CREATE TABLE orders (order_id TEXT PRIMARY KEY, created_at {ts}, promised_ship_at {ts}, priority TEXT, "
    "customer TEXT)",
    "CREATE TABLE order_lines (order_id TEXT, line_no INTEGER, sku_id TEXT, qty INTEGER)",
    "CREATE TABLE shipments (shipment_id TEXT PRIMARY KEY, order_id TEXT, carrier TEXT, promised_at {ts}, "
    "shipped_at {ts})",
    "CREATE TABLE picks (pick_id INTEGER PRIMARY KEY, order_id TEXT, line_no INTEGER, sku_id TEXT, "
    "picker_id TEXT, qty INTEGER, picked_at {ts})",
]

Render = Callable[[datetime], Any]  # an aware instant → the value stored


def _text(fmt: Callable[[datetime], str]) -> Callable[[ZoneInfo], Render]:
    return lambda zone: fmt


SQLITE_FORMS: dict[str, Callable[[ZoneInfo], Render]] = {
    # zone-less wall-clock times of the warehouse (the documented rule: read in its time zone)
    "iso_t_naive": lambda zone: lambda m: m.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S"),
    "sqlite_space_naive": lambda zone: lambda m: m.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
    # exact instants with an offset that is not the warehouse's
    "iso_t_plus_0200": _text(lambda m: m.astimezone(timezone(timedelta(hours=2))).isoformat()),
    "iso_t_utc_z": _text(lambda m: m.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
    "space_utc_offset": _text(lambda m: str(m.astimezone(UTC))),  # Python's str(): '2026-11-20 08:00:00+00:00'
    "space_minus_0800_millis": _text(
        lambda m: m.astimezone(timezone(timedelta(hours=-8))).isoformat(sep=" ", timespec="milliseconds")
    ),
    # the warehouse's own offset
    "iso_t_local_offset": lambda zone: lambda m: m.astimezone(zone).isoformat(),
}


def instant(local: str, zone: ZoneInfo) -> datetime:
    return _at(local).replace(tzinfo=zone)


def rows(zone: ZoneInfo, render: Render) -> dict[str, list[tuple[Any, ...]]]:
    """The dataset's rows with every timestamp rendered by `render`."""

    def ts(local: str | None) -> Any:
        return None if local is None else render(instant(local, zone))

    return {
        "pickers": [("P1", "Ada", "early"), ("P2", "Bo", "late")],
        "skus": [("S1", "Z1")],
        "orders": [(o, ts(created), ts(promised), "normal", "Acme") for o, created, promised, _, _ in ORDERS],
        "order_lines": [(o, n, "S1", 1) for o, *_, lines in ORDERS for n in range(1, lines + 1)],
        "shipments": [
            (f"S-{o}", o, "DHL", ts(promised), ts(shipped)) for o, _, promised, shipped, _ in ORDERS if o != "J"
        ],
        "picks": [(pid, o, 1, "S1", picker, qty, ts(at)) for pid, o, picker, qty, at in PICKS],
    }


def write_sqlite(path: Path, zone: ZoneInfo, render: Render, *, extra_picks: list[Any] | None = None) -> Path:
    connection = sqlite3.connect(path)
    try:
        for statement in SCHEMA:
            connection.execute(statement.format(ts="TEXT"))
        for table, values in rows(zone, render).items():
            if table == "picks" and extra_picks:
                values = values + extra_picks
            if values:
                marks = ", ".join("?" for _ in values[0])
                connection.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        connection.commit()
    finally:
        connection.close()
    return path


def write_postgres(connection: Any, zone: ZoneInfo, column_type: str) -> None:
    """Into a PostgreSQL connection (psycopg): TIMESTAMPTZ gets aware instants, TIMESTAMP the wall-clock times."""

    def render(moment: datetime) -> datetime:
        return moment if column_type == "TIMESTAMPTZ" else moment.astimezone(zone).replace(tzinfo=None)

    for table in ("picks", "shipments", "order_lines", "orders", "skus", "pickers"):
        connection.execute(f"DROP TABLE IF EXISTS {table}")
    for statement in SCHEMA:
        connection.execute(statement.format(ts=column_type))
    for table, values in rows(zone, render).items():
        marks = ", ".join("%s" for _ in values[0])
        connection.cursor().executemany(f"INSERT INTO {table} VALUES ({marks})", values)


def run_report_queries(url: str, day: Any) -> dict[str, Any]:
    """The report's default queries for `day` (a ReportDay) run by the local agent's real `db.query` tool,
    with values made JSON-safe exactly as the agent sends them: what Think receives."""
    from phi.workflows.warehouse.kpis import TabularData
    from phi.workflows.warehouse.queries import default_queries
    from phi_agent.config import DbQuerySettings
    from phi_agent.tools.base import json_safe
    from phi_agent.tools.db_query import DbQueryTool

    tool = DbQueryTool(DbQuerySettings(url_env="UNUSED"), url, pool_size=1)
    try:
        results = {}
        for name, spec in default_queries(day).items():
            with tool.open(spec.args(), None) as result:
                rows = [[json_safe(value) for value in row] for row in result.rows]
                results[name] = TabularData(
                    columns=result.columns, rows=rows, row_count=len(rows), truncated=result.rows.truncated
                )
        return results
    finally:
        tool.dispose()

"""Headline figures of one day computed straight from a sample warehouse SQLite file.

Written independently of `phi.workflows.warehouse` (its own SQL, calendar-date matching with SQLite's
`date()` instead of interval bounds) so the tests can check the report's figures against it.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

ORDERS_SHIPPED = "SELECT COUNT(DISTINCT order_id) FROM shipments WHERE date(shipped_at) = :day"
LINES_AND_UNITS = "SELECT COUNT(*), COALESCE(SUM(qty), 0) FROM picks WHERE date(picked_at) = :day"
LATE_ORDERS = """
SELECT COUNT(DISTINCT order_id) FROM shipments
WHERE (date(shipped_at) = :day AND julianday(shipped_at) > julianday(promised_at))
   OR (date(promised_at) = :day AND (shipped_at IS NULL OR date(shipped_at) > :day))
"""
BACKLOG_ORDERS = """
SELECT COUNT(*) FROM orders o
WHERE date(o.created_at) <= :day
  AND NOT EXISTS (SELECT 1 FROM shipments s
                  WHERE s.order_id = o.order_id AND s.shipped_at IS NOT NULL AND date(s.shipped_at) <= :day)
"""
PICKER_LINES = "SELECT picker_id, COUNT(*) FROM picks WHERE date(picked_at) = :day GROUP BY picker_id"


def reference_figures(db_path: Path | str, day: date) -> dict[str, Any]:
    """orders_shipped, lines_picked, units_picked, late_orders, backlog_orders, picker_lines."""
    params = {"day": day.isoformat()}
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        lines, units = connection.execute(LINES_AND_UNITS, params).fetchone()
        return {
            "orders_shipped": connection.execute(ORDERS_SHIPPED, params).fetchone()[0],
            "lines_picked": lines,
            "units_picked": units,
            "late_orders": connection.execute(LATE_ORDERS, params).fetchone()[0],
            "backlog_orders": connection.execute(BACKLOG_ORDERS, params).fetchone()[0],
            "picker_lines": dict(connection.execute(PICKER_LINES, params).fetchall()),
        }
    finally:
        connection.close()

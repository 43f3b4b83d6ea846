"""The default SQL the DAILY_WAREHOUSE_REPORT workflow sends through the local agent's `db.query` tool.

Portable SQL (SQLite, PostgreSQL, MySQL, SQL Server) with named parameters. Each query fetches a window of
instants wider than the report day, [:window_start, :window_end), bound as typed time-zone-aware parameters
(`{"$datetime": "<ISO-8601 with offset>"}`: a native timestamp for PostgreSQL/MySQL/SQL Server, ISO text for
SQLite). The window is wide enough to hold every row of the day whatever form the database stores its
timestamps in (see `phi.workflows.timeframes`); the cloud then parses each timestamp and keeps the day exactly.
Each query returns a few days' working set, never the history.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from phi.workflows.timeframes import ReportDay, iso_instant

DATASETS = ("orders", "picks", "shipments")

# Orders still open at some point of the window: created by its end and not shipped before its start.
# One shipment per order in the sample schema; the LEFT JOIN keeps orders that have none yet.
ORDERS_SQL = """
SELECT o.order_id, o.created_at, o.promised_ship_at, o.priority, o.customer,
       s.carrier, s.shipped_at,
       (SELECT COUNT(*) FROM order_lines l WHERE l.order_id = o.order_id) AS line_count
FROM orders o
LEFT JOIN shipments s ON s.order_id = o.order_id
WHERE o.created_at < :window_end
  AND (s.shipped_at IS NULL OR s.shipped_at >= :window_start)
ORDER BY o.created_at, o.order_id
""".strip()

PICKS_SQL = """
SELECT p.pick_id, p.order_id, p.line_no, p.sku_id, k.zone_id, p.picker_id,
       r.name AS picker_name, r.shift AS picker_shift, p.qty, p.picked_at
FROM picks p
LEFT JOIN pickers r ON r.picker_id = p.picker_id
LEFT JOIN skus k ON k.sku_id = p.sku_id
WHERE p.picked_at >= :window_start AND p.picked_at < :window_end
ORDER BY p.picked_at, p.pick_id
""".strip()

SHIPMENTS_SQL = """
SELECT s.shipment_id, s.order_id, s.carrier, s.promised_at, s.shipped_at
FROM shipments s
WHERE (s.promised_at >= :window_start AND s.promised_at < :window_end)
   OR (s.shipped_at >= :window_start AND s.shipped_at < :window_end)
ORDER BY s.promised_at, s.shipment_id
""".strip()


class QuerySpec(BaseModel):
    sql: str
    params: dict[str, Any]


def datetime_param(moment: Any) -> dict[str, str]:
    """A typed parameter the local agent binds as a time-zone-aware timestamp (ISO text for SQLite)."""
    return {"$datetime": iso_instant(moment)}


def window_params(day: ReportDay) -> dict[str, Any]:
    return {"window_start": datetime_param(day.query_start), "window_end": datetime_param(day.query_end)}


def default_queries(day: ReportDay) -> dict[str, QuerySpec]:
    params = window_params(day)
    return {
        "orders": QuerySpec(sql=ORDERS_SQL, params=dict(params)),
        "picks": QuerySpec(sql=PICKS_SQL, params=dict(params)),
        "shipments": QuerySpec(sql=SHIPMENTS_SQL, params=dict(params)),
    }
